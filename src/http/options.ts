import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpDeps } from './deps.ts';
import { corsHeaders, CORS_ALLOW_METHODS } from './cors.ts';
import { writeEmpty, writeText } from './reply.ts';
import { parseUploadPath } from './path.ts';

/**
 * OPTIONS: the CORS preflight a browser sends before a PUT with Content-Type (Converse.js), and
 * a plain "what may I do here" otherwise. 204 with Allow and, for an allowed origin, the
 * Access-Control-Allow-* headers.
 *
 * @example
 * const routes = { [`OPTIONS ${root}/:id/:filename`]: (req, res, started) => handleOptions(req, res, deps, started) };
 */
export function handleOptions(req: IncomingMessage, res: ServerResponse, deps: HttpDeps, started: number): void {
  const origin = req.headers.origin;
  if (!parseUploadPath(req.url ?? '', deps.root)) {
    deps.record({ method: 'OPTIONS', status: 404, bytes: 0, started });
    return writeText(res, 404, 'not found', corsHeaders(origin, deps.settings.corsOrigins, false));
  }
  deps.record({ method: 'OPTIONS', status: 204, bytes: 0, started });
  writeEmpty(res, 204, { Allow: CORS_ALLOW_METHODS, ...corsHeaders(origin, deps.settings.corsOrigins, true) });
}
