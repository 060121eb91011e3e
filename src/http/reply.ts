import { SAFE_HEADERS } from './headers.ts';

/**
 * A short text/plain answer (errors, 201) carrying the safe headers, the given CORS headers and
 * `Cache-Control: no-store` (a 404 now may be a 200 after the upload).
 *
 * @example
 * return textReply(403, 'slot expired', cors);
 */
export function textReply(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(`${message}\n`, {
    status,
    headers: {
      ...SAFE_HEADERS,
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-store',
      ...headers,
    },
  });
}

/**
 * A body-less answer (HEAD, 204, 304) with the safe headers plus `headers`.
 *
 * @example
 * return emptyReply(304, { ...validatorHeaders(meta, now), ...cors });
 */
export function emptyReply(status: number, headers: Record<string, string>): Response {
  return new Response(null, { status, headers: { ...SAFE_HEADERS, ...headers } });
}
