import type { Context } from 'hono';
import type { HttpEnv } from './index.ts';
import type { HttpDeps } from './deps.ts';
import { corsHeaders, CORS_ALLOW_METHODS } from './cors.ts';
import { emptyReply, textReply } from './reply.ts';
import { parseUploadPath } from './path.ts';

/**
 * OPTIONS: the CORS preflight a browser sends before a PUT with Content-Type (Converse.js), and
 * a plain "what may I do here" otherwise. 204 with Allow and, for an allowed origin, the
 * Access-Control-Allow-* headers.
 *
 * @example
 * app.options(`${root}/:id/:filename`, (c) => handleOptions(c, deps));
 */
export function handleOptions(c: Context<HttpEnv>, deps: HttpDeps): Response {
  const started = performance.now();
  const incoming = c.env.incoming;
  const origin = incoming.headers.origin;
  if (!parseUploadPath(incoming.url ?? '', deps.root)) {
    deps.record({ method: 'OPTIONS', status: 404, bytes: 0, started });
    return textReply(404, 'not found', corsHeaders(origin, deps.settings.corsOrigins, false));
  }
  deps.record({ method: 'OPTIONS', status: 204, bytes: 0, started });
  return emptyReply(204, { Allow: CORS_ALLOW_METHODS, ...corsHeaders(origin, deps.settings.corsOrigins, true) });
}
