/**
 * Check `user-upload` (doctor --as JID): the whole path a user's client takes, through the real
 * XMPP server — c2s login, disco#items of the user's server, disco#info of each item until the
 * first upload service (the one clients pick), a slot request, the PUT with the slot's headers,
 * the GET, and the same SHA-256 back. The one check that says "uploads work for users".
 */
import { resolveSrv } from 'node:dns/promises';
import { xml } from '@xmpp/component';
import type { Settings } from '../config/settings.ts';
import type { Element } from '../xmpp/xml.ts';
import { loginC2s, LoginError, type C2sSession } from './c2s.ts';
import { stepFailure } from './announced-url.ts';
import {
  getProbe,
  leftNote,
  probeBody,
  PROBE_CONTENT_TYPE,
  PROBE_FILENAME,
  putProbe,
  removeProbe,
  sha256,
} from './probe-upload.ts';
import { describeError, fail, pass, warn, type CheckResult } from './result.ts';
import { EXTRA_CA_FIX, explainTlsFailure, untrustedCa } from './tls.ts';

/** This check's id in the report. */
export const CHECK = 'user-upload';

const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_UPLOAD = 'urn:xmpp:http:upload:0';
/** Servers list few items; a long list is walked only this far. */
const MAX_ITEMS = 30;

/** A bare JID split into its parts. */
export interface BareJid {
  local: string;
  domain: string;
}

/**
 * Parses the --as JID: local@domain, no resource. Returns undefined when it is not one.
 *
 * @example
 * parseBareJid('alice@example.org'); // { local: 'alice', domain: 'example.org' }
 */
export function parseBareJid(text: string): BareJid | undefined {
  const m = /^([^@/\s]+)@([^@/\s]+)$/.exec(text.trim());
  if (!m) return undefined;
  return { local: m[1]!, domain: m[2]!.toLowerCase() };
}

export interface UserPathOptions {
  jid: BareJid;
  password: string;
  /** c2s host and port; default: the SRV record of the JID's domain, else the domain on 5222. */
  host?: string;
  port?: number;
  timeoutMs: number;
  /** Verify the XMPP server's TLS certificate (default true). */
  verifyTls?: boolean;
  /** The `fileupload` command for fixes (with --config when not the default). */
  configCli?: string;
}

/**
 * Where a client of `domain` connects: the flags, else _xmpp-client._tcp SRV, else domain:5222.
 *
 * @example
 * await c2sEndpoint('example.org', undefined, undefined, 2000); // { host: 'xmpp.example.org', port: 5222 }
 */
export async function c2sEndpoint(
  domain: string,
  host: string | undefined,
  port: number | undefined,
  timeoutMs: number,
): Promise<{ host: string; port: number }> {
  if (host !== undefined) return { host, port: port ?? 5222 };
  try {
    const records = await Promise.race([
      resolveSrv(`_xmpp-client._tcp.${domain}`),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    const best = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
    if (best && best.name !== '.') return { host: best.name, port: port ?? best.port };
  } catch {
    // No SRV record: the domain itself, as clients do.
  }
  return { host: domain, port: port ?? 5222 };
}

/** What disco found: the first upload service and its announced limit. */
interface Found {
  service: string;
  maxFileSize: number | undefined;
}

async function discoInfo(session: C2sSession, to: string): Promise<Element | undefined> {
  const a = await session.iq('get', to, xml('query', { xmlns: NS_DISCO_INFO }));
  return a.type === 'result' ? a.stanza.getChild('query', NS_DISCO_INFO) : undefined;
}

function uploadService(query: Element): { maxFileSize: number | undefined } | undefined {
  const isStore = query.getChildren('identity').some((i) => i.attrs.category === 'store' && i.attrs.type === 'file');
  const hasFeature = query.getChildren('feature').some((f) => f.attrs.var === NS_UPLOAD);
  if (!isStore || !hasFeature) return undefined;
  let maxFileSize: number | undefined;
  for (const x of query.getChildren('x', 'jabber:x:data')) {
    const fields = x.getChildren('field');
    if (fields.find((f) => f.attrs.var === 'FORM_TYPE')?.getChildText('value') !== NS_UPLOAD) continue;
    const v = fields.find((f) => f.attrs.var === 'max-file-size')?.getChildText('value');
    if (v !== undefined && v !== null) maxFileSize = Number(v);
  }
  return { maxFileSize };
}

/**
 * Runs the user path and returns its verdict. Never throws.
 *
 * @example
 * const result = await checkUserPath(settings, { jid: parseBareJid('alice@example.org')!, password, timeoutMs: 4000 });
 */
export async function checkUserPath(settings: Settings, o: UserPathOptions): Promise<CheckResult> {
  const who = `${o.jid.local}@${o.jid.domain}`;
  const { host, port } = await c2sEndpoint(o.jid.domain, o.host, o.port, Math.min(o.timeoutMs, 2000));
  let session: C2sSession;
  try {
    session = await loginC2s({
      ...o.jid,
      password: o.password,
      host,
      port,
      timeoutMs: o.timeoutMs,
      verifyTls: o.verifyTls ?? true,
    });
  } catch (err) {
    return loginFailure(err, who, host, port);
  }
  try {
    const steps = [`${who} logged in at ${host}:${port} (${session.how})`];
    // 1. disco#items of the user's server, then disco#info of each item: what clients do.
    const items = await session.iq('get', o.jid.domain, xml('query', { xmlns: NS_DISCO_ITEMS }));
    if (items.type === 'error') {
      return fail(
        CHECK,
        `${steps[0]}, but disco#items of ${o.jid.domain} failed: ${items.condition}`,
        'the XMPP server must answer disco#items (Prosody: mod_disco; ejabberd: mod_disco)',
      );
    }
    const jids = (items.stanza.getChild('query', NS_DISCO_ITEMS)?.getChildren('item') ?? [])
      .map((i) => i.attrs.jid ?? '')
      .filter((j) => j !== '');
    let found: Found | undefined;
    for (const j of jids.slice(0, MAX_ITEMS)) {
      const info = await discoInfo(session, j);
      const svc = info ? uploadService(info) : undefined;
      if (svc) {
        found = { service: j, ...svc };
        break;
      }
    }
    if (found === undefined) {
      const direct = await discoInfo(session, settings.domain).catch(() => undefined);
      const answersDirectly = direct !== undefined && uploadService(direct) !== undefined;
      return fail(
        CHECK,
        `${steps[0]}, but no upload service is listed in disco#items of ${o.jid.domain}${jids.length ? ` (items: ${jids.slice(0, 5).join(', ')}${jids.length > 5 ? ', …' : ''})` : ' (no items)'}${answersDirectly ? `; ${settings.domain} itself answers as an upload service` : ''}`,
        answersDirectly
          ? `make the XMPP server list ${settings.domain} (Prosody: disco_items = { { "${settings.domain}" } } when it is not a subdomain of ${o.jid.domain})`
          : `check that serve is connected (the xmpp check) and that ${settings.domain} is a component of the server ${o.jid.domain}`,
      );
    }
    if (found.service !== settings.domain) {
      return warn(
        CHECK,
        `${steps[0]}; clients pick the first upload service in disco, and that is ${found.service}, not this serve (${settings.domain})`,
        `remove the other upload service from the XMPP server (e.g. Prosody's mod_http_file_share), or list ${settings.domain} first`,
      );
    }
    steps.push(
      `found ${found.service} in disco${found.maxFileSize !== undefined ? ` (max-file-size ${found.maxFileSize})` : ''}`,
    );

    // 2. The slot.
    const body = probeBody();
    const slotAnswer = await session.iq(
      'get',
      found.service,
      xml('request', {
        xmlns: NS_UPLOAD,
        filename: PROBE_FILENAME,
        size: String(body.length),
        'content-type': PROBE_CONTENT_TYPE,
      }),
    );
    if (slotAnswer.type === 'error') {
      const forbidden = slotAnswer.condition === 'forbidden' || slotAnswer.condition === 'not-allowed';
      return fail(
        CHECK,
        `${steps.join(', ')}, but the slot request was refused: ${slotAnswer.errorType}/${slotAnswer.condition}${slotAnswer.text ? ` (${slotAnswer.text})` : ''}`,
        forbidden
          ? `allow ${o.jid.domain}: ${o.configCli ?? 'fileupload'} config set allowedDomains ${o.jid.domain} (comma list; * for anyone)`
          : "look at serve's log (journalctl -u fileupload)",
      );
    }
    const slot = slotAnswer.stanza.getChild('slot', NS_UPLOAD);
    const put = slot?.getChild('put');
    const putUrl = put?.attrs.url;
    const getUrl = slot?.getChild('get')?.attrs.url;
    if (putUrl === undefined || getUrl === undefined) {
      return fail(
        CHECK,
        `${steps.join(', ')}, but the slot answer has no put/get URL: ${slotAnswer.stanza.toString().slice(0, 200)}`,
        "look at serve's log",
      );
    }
    const headers: Record<string, string> = {};
    for (const h of put?.getChildren('header') ?? []) if (h.attrs.name) headers[h.attrs.name] = h.getText();
    steps.push('got a slot');

    // 3. PUT and GET as the client would, then compare.
    const base = new URL(getUrl).origin;
    const putResult = await putProbe(putUrl, body, headers, o.timeoutMs);
    if (!putResult.ok) {
      const f = stepFailure('PUT', base, putResult);
      return fail(CHECK, `${steps.join(', ')}, but ${f.message}`, f.fix);
    }
    steps.push(`PUT ${putResult.status}`);
    const getResult = await getProbe(getUrl, o.timeoutMs);
    const id = idFromUrl(getUrl);
    const removal = id ? await removeProbe(settings, id) : 'unknown id';
    if (!getResult.ok) {
      const f = stepFailure('GET', base, getResult);
      return fail(CHECK, `${steps.join(', ')}, but ${f.message}`, f.fix);
    }
    if (sha256(getResult.body) !== sha256(body)) {
      return fail(
        CHECK,
        `${steps.join(', ')}, but GET returned other bytes (sha256 differs)`,
        'a cache or another server answers for the announced URL: check the reverse proxy',
      );
    }
    steps.push('GET returned the same sha256');
    return pass(CHECK, `${steps.join(', ')}${leftNote(removal, 'message', id)}`);
  } catch (err) {
    return fail(
      CHECK,
      `${who}: ${describeError(err)}`,
      'check the XMPP server and serve (run doctor without --as first)',
    );
  } finally {
    session.close();
  }
}

/**
 * The upload id in a GET URL (…/{id}/{filename}).
 *
 * @example
 * idFromUrl('https://h:443/httpfileupload/q3W0n7V4uXy1Z2a_bC-dEfGh/a.txt'); // 'q3W0n7V4uXy1Z2a_bC-dEfGh'
 */
export function idFromUrl(url: string): string | undefined {
  const parts = new URL(url).pathname.split('/');
  return parts.length >= 3 ? parts[parts.length - 2] : undefined;
}

function loginFailure(err: unknown, who: string, host: string, port: number): CheckResult {
  const flags = 'or point doctor at the c2s port: --xmpp-c2s-host HOST --xmpp-c2s-port PORT';
  if (!(err instanceof LoginError)) return fail(CHECK, `${who}: login failed: ${describeError(err)}`, flags);
  switch (err.step) {
    case 'connect':
      return fail(
        CHECK,
        `cannot connect to ${host}:${port} for ${who}: ${err.message}`,
        `start the XMPP server, ${flags}`,
      );
    case 'stream':
      return fail(
        CHECK,
        `${host}:${port} did not open an XMPP stream for ${who}: ${err.message}`,
        `check that it is the c2s port of the server for ${who.split('@')[1]}, ${flags}`,
      );
    case 'starttls': {
      const tls = explainTlsFailure({ code: err.code, error: err.message }, `${host}:${port}`);
      const trust = untrustedCa(err.code) ? EXTRA_CA_FIX : 'the XMPP server needs a valid certificate for its domain';
      return fail(
        CHECK,
        `STARTTLS with ${host}:${port} failed: ${tls?.message ?? err.message}`,
        `${trust} (or run doctor with --insecure-xmpp-tls to test the rest)`,
      );
    }
    case 'auth':
      if (err.condition === 'not-authorized')
        return fail(
          CHECK,
          `${host}:${port} refused the password of ${who} (not-authorized)`,
          'check the JID and the password',
        );
      return fail(
        CHECK,
        `${who}: ${err.message}`,
        'check the JID and the password, and the SASL mechanisms the server allows',
      );
    case 'bind':
      return fail(CHECK, `${who} logged in but ${err.message}`, "look at the XMPP server's log");
  }
}
