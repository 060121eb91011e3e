/**
 * The usual end-to-end arrangement in one call: a throw-away XMPP server, `serve` connected to it
 * as the upload component, and logged-in users — plus the upload step every test repeats.
 */
import { startProsody } from '../../scripts/testservers/prosody.ts';
import { startEjabberd } from '../../scripts/testservers/ejabberd.ts';
import type { TestUser, XmppTestServer } from '../../scripts/testservers/server.ts';
import { http, type HttpOptions, type HttpResponse } from './http.ts';
import { serveConfigFor, startServe, type ServeConfig, type ServeProcess } from './serve.ts';
import { connectUser, type SlotOutcome, type SlotRequestSpec, type UserSession } from './xmpp-client.ts';

/** alice may upload by default (parent domain); mallory is a stranger from another domain. */
export const STACK_USERS: TestUser[] = [
  { user: 'alice', password: 'alice-pw' },
  { user: 'mallory', password: 'mallory-pw', host: 'elsewhere.localhost' },
];

export interface Stack {
  xmpp: XmppTestServer;
  serve: ServeProcess;
  config: ServeConfig;
  /** alice@localhost */
  alice: UserSession;
  /** mallory@elsewhere.localhost */
  mallory: UserSession;
  /** The component's JID. */
  service: string;
  stop(): Promise<void>;
}

/**
 * Starts the XMPP server (or uses `xmpp`), serve with `config` overrides, waits for "xmpp online"
 * and logs alice and mallory in.
 *
 * @example
 * let stack: Stack;
 * before(async () => { stack = await startStack('prosody', { maxFileSize: 5 << 20 }); });
 * after(() => stack?.stop());
 */
export async function startStack(
  xmpp: 'prosody' | 'ejabberd' | XmppTestServer,
  config: ServeConfig = {},
): Promise<Stack> {
  const ownServer = typeof xmpp === 'string';
  const server =
    typeof xmpp === 'string' ? await (xmpp === 'prosody' ? startProsody : startEjabberd)({ users: STACK_USERS }) : xmpp;
  let serve: ServeProcess | undefined;
  const sessions: UserSession[] = [];
  const stop = async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await serve?.stop();
    if (ownServer) await server.stop();
  };
  try {
    const serveConfig = await serveConfigFor(server, config);
    serve = await startServe({ config: serveConfig, waitFor: 'xmpp online' });
    const login = (i: number) => {
      const u = server.users[i]!;
      return connectUser({ port: server.c2sPort, domain: u.host, username: u.user, password: u.password });
    };
    const alice = await login(0);
    sessions.push(alice);
    const mallory = await login(1);
    sessions.push(mallory);
    return { xmpp: server, serve, config: serveConfig, alice, mallory, service: server.componentDomain, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export type SlotOk = Extract<SlotOutcome, { ok: true }>;

/**
 * Requests a slot and fails the test with the stanza error when it is refused.
 *
 * @example
 * const slot = await mustGetSlot(stack.alice, stack.service, { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a.bin', size: 10 });
 */
export async function mustGetSlot(user: UserSession, service: string, spec: SlotRequestSpec): Promise<SlotOk> {
  const outcome = await user.requestSlot(service, spec);
  if (!outcome.ok) {
    throw new Error(
      `slot refused: ${outcome.error.type}/${outcome.error.condition} ${outcome.error.text ?? ''} for ${JSON.stringify(spec)}`,
    );
  }
  return outcome;
}

/**
 * PUTs `body` to a slot the way a client does: the slot's <header>s, plus a Content-Type when
 * given. `url` overrides the PUT URL (another node, an altered URL).
 *
 * @example
 * const r = await putToSlot(slot, file, { contentType: 'image/png' });
 * assert.equal(r.status, 201);
 */
export function putToSlot(
  slot: SlotOk,
  body: HttpOptions['body'],
  options: {
    contentType?: string;
    url?: string;
    headers?: Record<string, string | number>;
    abortAfterBytes?: number;
  } = {},
): Promise<HttpResponse> {
  const headers: Record<string, string | number> = { ...slot.headers, ...options.headers };
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const request: HttpOptions = { method: 'PUT', headers, body };
  if (options.abortAfterBytes !== undefined) request.abortAfterBytes = options.abortAfterBytes;
  return http(options.url ?? slot.put, request);
}

/**
 * The same URL on another origin (for the second node of a cluster).
 *
 * @example
 * const onB = onOrigin(slot.put, nodeB.origin);
 */
export function onOrigin(url: string, origin: string): string {
  const u = new URL(url);
  return origin + url.slice(u.origin.length);
}
