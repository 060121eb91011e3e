/**
 * The HTTP endpoint's Hono app: its one route table, the answers to what no route takes and to a
 * request that failed, and how a request from the Node server reaches a route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono, type Handler } from 'hono';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import type { HttpBindings } from '@hono/node-server';
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../storage/store.ts';
import type { SlotClaims } from '../lock/slot-claims.ts';
import { RequestGate } from './gate.ts';
import type { HttpHooks } from './hooks.ts';
import { callHook, type HttpDeps, type NodeHandler, type RequestOutcome } from './deps.ts';
import { corsHeaders, CORS_ALLOW_METHODS } from './cors.ts';
import { textReply, writeText } from './reply.ts';
import { createUploadHandler } from './put.ts';
import { createDownloadHandler } from './get.ts';
import { handleOptions } from './options.ts';
import { lazyRequestListener, nodeAdapter } from './node-adapter.ts';

/** Hono environment: every handler answers on the Node request/response. */
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

/** The Hono app plus what the server needs to feed and drain it. */
export type HttpApp = Hono<HttpEnv> & {
  readonly gate: RequestGate;
  readonly logger: Logger;
  /** Serves one request of the Node server (startHttpServer's request listener). */
  readonly serve: (req: IncomingMessage, res: ServerResponse) => void;
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
  const cors = (req: IncomingMessage): Record<string, string> =>
    corsHeaders(req.headers.origin, settings.corsOrigins, false);

  const methodNotAllowed: NodeHandler = (req, res, started) => {
    record({ method: req.method ?? '', status: 405, bytes: 0, started });
    writeText(res, 405, 'method not allowed', { Allow: CORS_ALLOW_METHODS, ...cors(req) });
  };
  const notFound: NodeHandler = (req, res, started) => {
    record({ method: req.method ?? '', status: 404, bytes: 0, started });
    writeText(res, 404, 'not found', cors(req));
  };
  /** The answer to a request whose handler failed: 500, or a cut connection once the head is out. */
  const failed = (err: unknown, req: IncomingMessage, res: ServerResponse, started: number): void => {
    const method = req.method ?? '';
    logger.error('request failed', { method, err });
    if (res.headersSent) {
      // Too late for an error answer: cut the response off rather than send a second head.
      res.destroy();
      return;
    }
    record({ method, status: 500, bytes: 0, started });
    writeText(res, 500, 'internal error', cors(req));
  };

  const upload = createUploadHandler(deps);
  const download = createDownloadHandler(deps);
  // Method and path → handler, in the order Hono's router matches them; Hono answers HEAD with
  // the GET route. Every target under {root} is the upload's or the download's (they answer 404
  // for one that is no upload URL).
  const routes: Record<string, NodeHandler> = {
    [`PUT ${root}/*`]: upload,
    [`GET ${root}/*`]: download,
    [`OPTIONS ${root}/:id/:filename`]: (req, res, started) => handleOptions(req, res, deps, started),
    [`ALL ${root}/:id/:filename`]: methodNotAllowed,
  };
  /** The routes serve() runs straight off the router's match (see routeOf). */
  const hot = new Set<NodeHandler>([upload, download]);

  const endRequest = (): void => gate.endRequest();
  // Every request is counted until its response is fully sent (or its connection gone), so
  // drain() closes connections only after the last answer went out.
  const run = (handle: NodeHandler, req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    gate.beginRequest();
    res.on('close', endRequest); // emitted once; 'on' spares once()'s wrapper
    try {
      handle(req, res, started)?.catch((err: unknown) => failed(err, req, res, started));
    } catch (err) {
      failed(err, req, res, started);
    }
  };
  const onNode = (handle: NodeHandler): Handler<HttpEnv> => {
    const handler: Handler<HttpEnv> = (c) => {
      run(handle, c.env.incoming, c.env.outgoing);
      return nodeAdapter().RESPONSE_ALREADY_SENT;
    };
    if (hot.has(handle)) direct.set(handler, handle);
    return handler;
  };
  const direct = new WeakMap<Handler<HttpEnv>, NodeHandler>();

  // RegExpRouter matches every route of a method with one regular expression; a route it cannot
  // take throws here at startup, where Hono's default would quietly use a slower router.
  const app = new Hono<HttpEnv>({ router: new RegExpRouter() });
  for (const [route, handle] of Object.entries(routes)) {
    const space = route.indexOf(' ');
    app.on(route.slice(0, space), route.slice(space + 1), onNode(handle));
  }
  app.notFound((c) => {
    run(notFound, c.env.incoming, c.env.outgoing);
    return nodeAdapter().RESPONSE_ALREADY_SENT;
  });
  app.onError((err, c) => {
    failed(err, c.env.incoming, c.env.outgoing, performance.now());
    return nodeAdapter().RESPONSE_ALREADY_SENT;
  });

  const viaHono = lazyRequestListener(({ getRequestListener, RequestError }) =>
    getRequestListener(app.fetch, {
      // HTTP/1.0 clients may omit Host; the handlers only use the path.
      hostname: 'localhost',
      // Hono answers HEAD with a copy of the GET route's Response; @hono/node-server's own Response
      // class would drop what RESPONSE_ALREADY_SENT says in that copy and write a second head.
      overrideGlobalObjects: false,
      // A target the Web Request cannot hold is a bad request; any other error goes on to failed().
      errorHandler: (err: unknown) =>
        err instanceof RequestError ? textReply(400, 'bad request') : Promise.reject(err),
    }),
  );
  /**
   * The hot route of a request, matched by Hono's router on the method and the raw target's path
   * before any Web Request or Hono Context exists. Uploads and downloads are most of the traffic,
   * and building those layers for each costs more main-thread time than its own work (a small
   * upload's checks and the store's bookkeeping, a small cached download altogether); their
   * handlers need only the Node request/response anyway. Every other request goes through
   * app.fetch, with @hono/node-server's checks of the Host header and the target.
   */
  const routeOf = (req: IncomingMessage): NodeHandler | undefined => {
    const url = req.url ?? '';
    // Not a plain path (absolute form, a backslash): app.fetch takes it as its Web URL says, or
    // @hono/node-server refuses it with 400.
    if (url.charCodeAt(0) !== 47 /* / */ || url.includes('\\')) return undefined;
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    const first = app.router.match(method, path)[0][0];
    return first === undefined ? undefined : direct.get(first[0][0]);
  };
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const handle = routeOf(req);
    if (handle) return run(handle, req, res);
    // Hono sees the request as its Web URL says.
    viaHono(req, res).catch((err: unknown) => failed(err, req, res, performance.now()));
  };

  return Object.assign(app, { gate, logger, serve });
}
