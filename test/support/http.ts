/**
 * A raw HTTP client for end-to-end tests (node:http, no connection reuse): exact control over
 * Content-Length and chunked bodies, bodies streamed from generators, deliberate client aborts,
 * and answers collected even when the server answers before the body is complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /**
   * A Buffer/string is sent with its Content-Length (unless `headers` sets one: a wrong length is
   * sent as given). An async iterable is streamed, chunked unless `headers` has a Content-Length.
   */
  body?: Buffer | string | AsyncIterable<Uint8Array>;
  /** Destroy the connection after this many body bytes were written (a client abort). */
  abortAfterBytes?: number;
  /** Do not keep the response body (big downloads); sha256 and length are still computed. */
  discardBody?: boolean;
  timeoutMs?: number;
}

export interface HttpResponse {
  /** 0 when no answer arrived (aborted or connection reset before any response). */
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  bodyLength: number;
  bodySha256: string;
  /** Body bytes this client wrote. */
  sent: number;
  /** Why no (complete) answer arrived, if so. */
  error: string | undefined;
}

/**
 * Hex SHA-256 of a buffer.
 *
 * @example
 * assert.equal(sha256(downloaded), sha256(original));
 */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Random bytes (a test file).
 *
 * @example
 * const file = randomFile(1 << 20);
 */
export function randomFile(size: number): Buffer {
  return randomBytes(size);
}

/**
 * Streams `size` bytes in chunks without holding them: a 1 MiB random block repeated with a
 * counter stamped in, so every chunk differs. `onChunk` sees each chunk (hashing, pacing);
 * `delayMs` paces the stream (slow uploads for kill/SIGTERM tests).
 *
 * @example
 * await http(url, { method: 'PUT', headers: { 'content-length': size }, body: generatedBody(size) });
 */
export async function* generatedBody(
  size: number,
  options: {
    chunkSize?: number;
    delayMs?: number;
    onChunk?: (chunk: Buffer, sentBefore: number) => void | Promise<void>;
  } = {},
): AsyncGenerator<Buffer> {
  const chunkSize = options.chunkSize ?? 1 << 20;
  const block = randomBytes(chunkSize);
  let sent = 0;
  let n = 0;
  while (sent < size) {
    const length = Math.min(chunkSize, size - sent);
    // A fresh buffer per chunk: the socket may still hold the previous one.
    const chunk = Buffer.allocUnsafe(length);
    block.copy(chunk, 0, 0, length);
    chunk.writeUInt32BE(n++ >>> 0, 0);
    await options.onChunk?.(chunk, sent);
    yield chunk;
    sent += length;
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
  }
}

/**
 * Sends one request on a fresh connection and collects the answer.
 *
 * @example
 * const r = await http(slot.put, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: file });
 * assert.equal(r.status, 201);
 */
export async function http(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const u = new URL(url);
  const headers: Record<string, string | number> = { ...options.headers };
  const hasLength = Object.keys(headers).some((k) => k.toLowerCase() === 'content-length');
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  if (Buffer.isBuffer(body) && !hasLength) headers['content-length'] = body.length;
  const requestFn = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = requestFn({
    host: u.hostname,
    port: u.port,
    // u.pathname re-encodes nothing: send the path exactly as given in the URL string.
    path: rawPath(url),
    method: options.method ?? 'GET',
    headers,
    agent: false,
    rejectUnauthorized: false,
  });
  let sent = 0;
  let answered = false;
  let requestError: string | undefined;
  const response = new Promise<HttpResponse>((resolve) => {
    const timer = setTimeout(() => {
      req.destroy(new Error(`timeout after ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    const empty = (error: string): HttpResponse => ({
      status: 0,
      headers: {},
      body: Buffer.alloc(0),
      bodyLength: 0,
      bodySha256: sha256(Buffer.alloc(0)),
      sent,
      error,
    });
    req.on('error', (err) => {
      requestError ??= err.message;
      if (!answered) {
        clearTimeout(timer);
        resolve(empty(err.message));
      }
    });
    req.on('response', (res) => {
      answered = true;
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        if (!options.discardBody) chunks.push(chunk);
      });
      const finish = (error?: string) => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          bodyLength: length,
          bodySha256: hash.digest('hex'),
          sent,
          error,
        });
      };
      res.on('end', () => finish());
      res.on('error', (err) => finish(err.message));
      res.on('aborted', () => finish('response aborted'));
    });
  });

  const writeAll = async () => {
    if (body === undefined) {
      req.end();
      return;
    }
    const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = Buffer.isBuffer(body) ? [body] : body;
    for await (const chunk of chunks) {
      if (answered || req.destroyed) return;
      let piece = chunk;
      if (options.abortAfterBytes !== undefined && sent + piece.length >= options.abortAfterBytes) {
        piece = piece.subarray(0, options.abortAfterBytes - sent);
        if (piece.length > 0 && !req.write(piece)) await drained(req);
        sent += piece.length;
        // Let the bytes reach the server before the connection goes away.
        await new Promise((r) => setTimeout(r, 100));
        req.destroy(new Error('aborted by the test'));
        return;
      }
      if (!req.write(piece)) await drained(req);
      sent += piece.length;
    }
    if (!req.destroyed) req.end();
  };
  await writeAll().catch((err: Error) => {
    requestError ??= err.message;
  });
  const result = await response;
  return result.error === undefined && requestError !== undefined && result.status === 0
    ? { ...result, error: requestError }
    : result;
}

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/** The path and query of a URL string exactly as written (no normalisation of dots or escapes). */
function rawPath(url: string): string {
  const afterScheme = url.indexOf('//') + 2;
  const slash = url.indexOf('/', afterScheme);
  return slash === -1 ? '/' : url.slice(slash);
}
