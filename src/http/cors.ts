/**
 * CORS policy (pure). Web clients (Converse.js) PUT from the page and fetch the GET URL for
 * previews, so every response — including errors — carries the CORS headers, not only PUT.
 */

/** The methods the endpoint answers (also its Allow header). */
export const CORS_ALLOW_METHODS = 'OPTIONS, HEAD, GET, PUT';
/** Request headers a browser may send: the slot token header and the body type. */
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type';
/** Response headers page scripts may read (resume, validators, the new upload's URL). */
export const CORS_EXPOSE_HEADERS = 'Content-Length, Content-Range, Content-Disposition, ETag, Location';
/** Preflight answers may be cached by the browser for a day. */
export const CORS_MAX_AGE = '86400';

const WILDCARD_ACTUAL: Record<string, string> = Object.freeze({
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': CORS_EXPOSE_HEADERS,
});
const WILDCARD_PREFLIGHT: Record<string, string> = Object.freeze({
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': CORS_ALLOW_METHODS,
  'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
  'Access-Control-Max-Age': CORS_MAX_AGE,
});

/**
 * The CORS headers for a response to a request from `origin` (undefined: no Origin header).
 * With `*` among the allowed origins every origin gets `*`; with a list, a matching origin is
 * echoed and `Vary: Origin` tells caches the answer depends on it.
 *
 * @example
 * corsHeaders('https://chat.example', ['*'], false);
 * // { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': '…' }
 * corsHeaders('https://evil.example', ['https://chat.example'], true);
 * // { Vary: 'Origin' }  (no allow-origin: the browser blocks it)
 */
export function corsHeaders(
  origin: string | undefined,
  allowed: readonly string[],
  preflight: boolean,
): Record<string, string> {
  const wildcard = allowed.length === 0 || allowed.includes('*');
  // The common configuration answers every request alike: one shared (frozen) object.
  if (wildcard) return preflight ? WILDCARD_PREFLIGHT : WILDCARD_ACTUAL;
  const headers: Record<string, string> = { Vary: 'Origin' };
  if (origin === undefined || !allowed.some((a) => a.toLowerCase() === origin.toLowerCase())) return headers;
  headers['Access-Control-Allow-Origin'] = origin;
  if (preflight) {
    headers['Access-Control-Allow-Methods'] = CORS_ALLOW_METHODS;
    headers['Access-Control-Allow-Headers'] = CORS_ALLOW_HEADERS;
    headers['Access-Control-Max-Age'] = CORS_MAX_AGE;
  } else {
    headers['Access-Control-Expose-Headers'] = CORS_EXPOSE_HEADERS;
  }
  return headers;
}
