import type { ServerResponse } from 'node:http';
import type { SendfileAddon } from '../native/sendfile.ts';
import { sendNow } from './send-now.ts';
import { SAFE_HEADERS } from './headers.ts';

/**
 * writeText's answer as a Web Response, for where there is no Node response to write to (the
 * bad request @hono/node-server refuses before Hono gets it).
 *
 * @example
 * return textReply(400, 'bad request');
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
 * A short text/plain answer (errors, 201) carrying the safe headers, the given CORS headers and
 * `Cache-Control: no-store` (a 404 now may be a 200 after the upload). With the addon it leaves
 * through sendNow (send-now.ts).
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
 * A body-less answer (HEAD, 204, 304) with the safe headers plus `headers`.
 *
 * @example
 * writeEmpty(res, 304, { ...validatorHeaders(meta, now), ...cors });
 */
export function writeEmpty(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...SAFE_HEADERS, ...headers });
  res.end();
}
