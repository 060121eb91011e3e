import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpDeps } from './deps.ts';
import { corsHeaders } from './cors.ts';
import { writeText } from './reply.ts';

/** A handler on the Node request/response; `started` is when the request was taken. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, started: number) => Promise<void>;

/**
 * A route on the Node request/response, offered every request before Hono (server.ts). Why the
 * upload and download paths (put.ts, get.ts) skip Hono: they are most of the traffic, and Hono's
 * Web Request/Response layers cost them more main-thread time than their own work (a small
 * upload's checks and the store's bookkeeping, a small cached download altogether).
 *
 * The returned function takes a request whose method is in `methods` and whose target lies under
 * {root}/ without a backslash, and returns false, touching nothing, for any other (Hono answers
 * those: 404, 400 for a malformed target).
 * A taken request is counted until its response is fully sent or its connection is gone (for
 * drain()); a handler that throws gets a 500 — or, with the head already sent, a cut connection.
 *
 * @example
 * const upload = nodeRoute(deps, ['PUT'], (req, res, started) => handlePut(req, res, deps, started));
 * createServer((req, res) => { if (!upload(req, res)) other(req, res); });
 */
export function nodeRoute(
  deps: HttpDeps,
  methods: readonly string[],
  handle: NodeHandler,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { gate, logger } = deps;
  const prefix = `${deps.root}/`;
  const endRequest = (): void => gate.endRequest();
  return (req, res) => {
    const url = req.url;
    if (
      req.method === undefined ||
      !methods.includes(req.method) ||
      url === undefined ||
      !url.startsWith(prefix) ||
      url.includes('\\')
    )
      return false;
    const method = req.method;
    const started = performance.now();
    gate.beginRequest();
    res.on('close', endRequest); // emitted once; 'on' spares once()'s wrapper
    handle(req, res, started).catch((err: unknown) => {
      logger.error('request failed', { method, err });
      if (res.headersSent) {
        // Too late for an error answer: cut the response off rather than send a second head.
        res.destroy();
        return;
      }
      deps.record({ method, status: 500, bytes: 0, started });
      writeText(res, 500, 'internal error', corsHeaders(req.headers.origin, deps.settings.corsOrigins, false));
    });
    return true;
  };
}
