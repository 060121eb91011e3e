/**
 * One small HTTP(S) request with a hard timeout, for doctor's probes: the body is collected
 * (bounded), certificates are verified as clients verify them unless told otherwise.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

export interface ProbeRequest {
  method: 'GET' | 'PUT' | 'HEAD' | 'OPTIONS' | 'DELETE';
  headers?: Record<string, string | number>;
  body?: Uint8Array;
  timeoutMs: number;
  /** Verify the server certificate (default true, as clients do). */
  rejectUnauthorized?: boolean;
  /** Connect here instead of the URL's host (the Host header and TLS name stay the URL's). */
  connectTo?: string;
}

export interface ProbeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Bodies beyond this are cut off (probes only read small answers). */
const MAX_BODY = 1024 * 1024;

/**
 * Sends the request and collects the answer; rejects on connection errors and on timeout.
 *
 * @example
 * const r = await probeHttp('https://upload.example.org:443/httpfileupload/x/y', { method: 'GET', timeoutMs: 4000 });
 */
export function probeHttp(url: string, req: ProbeRequest): Promise<ProbeResponse> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string | number> = { ...req.headers };
  if (req.body !== undefined) headers['content-length'] = req.body.length;
  return new Promise((resolve, reject) => {
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const r = request(
      {
        method: req.method,
        host: req.connectTo ?? host,
        port: u.port === '' ? undefined : Number(u.port),
        path: u.pathname + u.search,
        headers: { host: u.host, ...headers },
        // SNI carries names only (RFC 6066).
        ...(isIP(host) ? {} : { servername: host }),
        rejectUnauthorized: req.rejectUnauthorized ?? true,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(
      () => r.destroy(Object.assign(new Error(`no answer within ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      req.timeoutMs,
    );
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    r.end(req.body);
  });
}
