import { Hono, type Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../storage/store.ts';
import type { SlotClaims } from '../lock/slot-claims.ts';
import { RequestGate } from './gate.ts';
import type { HttpHooks } from './hooks.ts';
import type { HttpDeps, RequestOutcome } from './deps.ts';
import { callHook } from './deps.ts';
import { corsHeaders, CORS_ALLOW_METHODS } from './cors.ts';
import { textReply } from './reply.ts';
import { createUploadHandler } from './put.ts';
import { createDownloadHandler } from './get.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleOptions } from './options.ts';

export type { HttpHooks } from './hooks.ts';
export { startHttpServer, type HttpServer } from './server.ts';

/** Hono environment: the handlers use the Node request/response for the data path. */
export type HttpEnv = { Bindings: HttpBindings };

/** What createHttpApp needs; `now` and `hooks` are optional. */
export interface HttpAppOptions {
  settings: Settings;
  store: Store;
  logger: Logger;
  /** Clock for slot expiry and ephemeral uploads (tests). Default Date.now. */
  now?: () => number;
  hooks?: HttpHooks;
  /**
   * Slot claims in the place every node shares (cluster mode; src/lock/slot-claims.ts). Without
   * them, "one upload per slot" holds within this process only, at no I/O cost.
   */
  claims?: SlotClaims;
}

/** The Hono app plus what the server needs to drain it. */
export type HttpApp = Hono<HttpEnv> & {
  readonly gate: RequestGate;
  readonly logger: Logger;
  /**
   * The download path (GET/HEAD under the context root) on the Node request/response:
   * startHttpServer offers every request here before Hono; false means "not mine, ask Hono".
   * See get.ts.
   */
  readonly download: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** The upload path (PUT under the context root), offered before Hono likewise (see put.ts). */
  readonly upload: (req: IncomingMessage, res: ServerResponse) => boolean;
};

/**
 * The HTTP endpoint: PUT, GET/HEAD and OPTIONS under `{announcedWebContextRoot}/{id}/{filename}`,
 * 405 with Allow for other methods there, 404 elsewhere. Every answer carries the safe headers
 * and CORS. Needs @hono/node-server (the handlers stream through the Node request/response);
 * start it with startHttpServer().
 *
 * @example
 * const app = createHttpApp({ settings, store, logger: createLogger({ component: 'http' }) });
 * const server = await startHttpServer(app, settings);
 * process.on('SIGHUP', () => server.reloadTls());
 * process.on('SIGTERM', async () => { await server.drain(settings.shutdownTimeout); process.exit(0); });
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { settings, store, logger } = options;
  if (settings.slotSecret === undefined || settings.slotSecret === '') {
    throw new Error('the HTTP endpoint needs plugin.httpfileupload.slotSecret to verify slots');
  }
  const hooks = options.hooks ?? {};
  const gate = new RequestGate();
  const root = settings.announcedWebContextRoot.replace(/\/+$/, '');

  const record = (o: RequestOutcome): void => {
    const durationMs = performance.now() - o.started;
    const fields = {
      method: o.method,
      status: o.status,
      bytes: o.bytes,
      ms: Math.round(durationMs * 10) / 10,
      ...(o.id !== undefined ? { id: o.id } : {}),
      ...(o.reason !== undefined ? { reason: o.reason } : {}),
      ...(o.remote !== undefined ? { remote: o.remote } : {}),
    };
    // Uploads and every failure at info (5xx at error); successful reads at debug, so a busy
    // download endpoint does not drown the log (a log line costs as much as a small GET).
    if (o.status >= 500 && o.status !== 503 && o.status !== 507) logger.error('request', fields);
    else if (o.method === 'PUT' || o.status >= 400) logger.info('request', fields);
    else logger.debug('request', fields);
    callHook(logger, 'onRequest', hooks.onRequest, { method: o.method, status: o.status, bytes: o.bytes, durationMs });
  };

  const deps: HttpDeps = {
    settings,
    store,
    logger,
    now: options.now ?? Date.now,
    hooks,
    gate,
    claims: options.claims,
    secret: settings.slotSecret,
    root,
    record,
  };

  const app = new Hono<HttpEnv>();
  const route = `${root}/:id/:filename`;
  // Every handled request is counted until its response is fully sent (or its connection gone),
  // so drain() closes connections only after the last answer went out.
  const tracked =
    (handler: (c: Context<HttpEnv>) => Response | Promise<Response>) =>
    (c: Context<HttpEnv>): Response | Promise<Response> => {
      gate.beginRequest();
      c.env.outgoing.once('close', () => gate.endRequest());
      return handler(c);
    };

  const upload = createUploadHandler(deps);
  // The server offers PUTs to `upload` before Hono (see put.ts); this route serves app.fetch
  // callers.
  app.put(route, (c) => {
    if (upload(c.env.incoming, c.env.outgoing)) return RESPONSE_ALREADY_SENT;
    return c.notFound();
  });
  const download = createDownloadHandler(deps);
  // The server offers GET/HEAD to `download` before Hono; this route serves app.fetch callers
  // and targets download() leaves to Hono.
  app.get(route, (c) => {
    if (download(c.env.incoming, c.env.outgoing)) return RESPONSE_ALREADY_SENT;
    return c.notFound();
  });
  app.options(
    route,
    tracked((c) => handleOptions(c, deps)),
  );
  app.all(route, (c) => {
    const started = performance.now();
    record({ method: c.req.method, status: 405, bytes: 0, started });
    return textReply(405, 'method not allowed', {
      Allow: CORS_ALLOW_METHODS,
      ...corsHeaders(c.req.header('origin'), settings.corsOrigins, false),
    });
  });
  app.notFound((c) => {
    record({ method: c.req.method, status: 404, bytes: 0, started: performance.now() });
    return textReply(404, 'not found', corsHeaders(c.req.header('origin'), settings.corsOrigins, false));
  });
  app.onError((err, c) => {
    logger.error('request failed', { method: c.req.method, err });
    if (c.env.outgoing.headersSent) {
      // Too late for an error answer: cut the response off rather than send a second head.
      c.env.outgoing.destroy();
      return RESPONSE_ALREADY_SENT;
    }
    record({ method: c.req.method, status: 500, bytes: 0, started: performance.now() });
    return textReply(500, 'internal error', corsHeaders(c.req.header('origin'), settings.corsOrigins, false));
  });

  return Object.assign(app, { gate, logger, download, upload });
}
