import type { ServerResponse } from 'node:http';
import type { SendfileAddon } from '../native/sendfile.ts';
import { sendNow } from './send-now.ts';
import { SAFE_HEADERS } from './headers.ts';

/**
 * A short text/plain answer (errors, 201) carrying the safe headers, the given CORS headers and
 * `Cache-Control: no-store` (a 404 now may be a 200 after the upload). With the addon it leaves
 * through sendNow (send-now.ts).
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

/**
 * textReply written straight to a Node response (the GET/HEAD path, which bypasses Hono): the
 * same status line, headers and body.
 *
 * @example
 * writeText(res, 404, 'not found', cors);
 */
export function writeText(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  addon?: SendfileAddon,
): void {
  const body = `${message}\n`;
  res.writeHead(status, {
    ...SAFE_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
    'Content-Length': String(Buffer.byteLength(body)),
  });
  if (addon) sendNow(addon, res, Buffer.from(body));
  else res.end(body);
}

/**
 * emptyReply written straight to a Node response.
 *
 * @example
 * writeEmpty(res, 304, { ...validatorHeaders(meta, now), ...cors });
 */
export function writeEmpty(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...SAFE_HEADERS, ...headers });
  res.end();
}
