/**
 * A lean HTTP load generator on node:http: keep-alive agents, bodies streamed from one
 * preallocated buffer, responses counted and dropped. It has to outrun the servers it measures,
 * so nothing here allocates per chunk. Every call is bounded by an AbortSignal deadline.
 */
import { Agent, request, type IncomingMessage, type RequestOptions } from 'node:http';

/** 1 MiB of constant bytes: the source of every upload body (writes only keep references). */
const SOURCE = Buffer.alloc(1 << 20, 0x62);

export interface Outcome {
  status: number;
  /** Wall time from request start to the end of the response (ms). */
  ms: number;
  /** Body bytes received (GET) or sent (PUT). */
  bytes: number;
  /** First bytes of a non-2xx answer, for the report. */
  error?: string;
}

function optionsFor(
  url: string,
  method: string,
  agent: Agent,
  headers: Record<string, string | number>,
  signal: AbortSignal,
): RequestOptions {
  const u = new URL(url);
  return { host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent, headers, signal };
}

/** Reads a response to its end: counts body bytes and keeps the start of an error body. */
function drain(res: IncomingMessage, keepText: boolean): Promise<{ bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let text = '';
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (keepText && text.length < 200) text += chunk.toString('utf8', 0, Math.min(chunk.length, 200));
    });
    res.once('end', () => resolve({ bytes, text }));
    res.once('error', reject);
    res.once('aborted', () => reject(new Error('response aborted')));
  });
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * PUTs `size` bytes in one stream (Content-Length, no chunked encoding) and waits for the answer.
 *
 * @example
 * const r = await putStream(agent, url, 1 << 30, { signal: AbortSignal.timeout(120_000) });
 */
export function putStream(
  agent: Agent,
  url: string,
  size: number,
  opts: { signal: AbortSignal; headers?: Record<string, string>; chunkBytes?: number },
): Promise<Outcome> {
  const chunk = SOURCE.subarray(0, Math.min(opts.chunkBytes ?? SOURCE.length, SOURCE.length));
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      optionsFor(
        url,
        'PUT',
        agent,
        { 'content-type': 'application/octet-stream', ...opts.headers, 'content-length': size },
        opts.signal,
      ),
      (res) => {
        const status = res.statusCode ?? 0;
        drain(res, !isOk(status)).then(({ text }) => {
          const out: Outcome = { status, ms: performance.now() - t0, bytes: size };
          if (!isOk(status)) out.error = text;
          resolve(out);
        }, reject);
      },
    );
    req.once('error', reject);
    let left = size;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        const more = req.write(n === chunk.length ? chunk : chunk.subarray(0, n));
        if (left === 0) break;
        if (!more) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/**
 * GETs (or HEADs) a URL, counting and discarding the body.
 *
 * @example
 * const r = await getStream(agent, url, { signal: AbortSignal.timeout(60_000) });
 */
export function getStream(
  agent: Agent,
  url: string,
  opts: { signal: AbortSignal; method?: 'GET' | 'HEAD' },
): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(optionsFor(url, opts.method ?? 'GET', agent, {}, opts.signal), (res) => {
      const status = res.statusCode ?? 0;
      drain(res, !isOk(status)).then(({ bytes, text }) => {
        const out: Outcome = { status, ms: performance.now() - t0, bytes };
        if (!isOk(status)) out.error = text;
        resolve(out);
      }, reject);
    });
    req.once('error', reject);
    req.end();
  });
}

export interface ManyOutcome {
  ok: number;
  failed: number;
  ms: number;
  /** Status code → count, for the report (0 = network error). */
  statuses: Record<string, number>;
  firstError?: string;
}

/**
 * PUTs one small body to each URL with `concurrency` requests in flight on a keep-alive agent.
 *
 * @example
 * const r = await putMany(urls, 64 << 10, 32, AbortSignal.timeout(60_000));
 */
export async function putMany(
  urls: readonly string[],
  size: number,
  concurrency: number,
  signal: AbortSignal,
): Promise<ManyOutcome> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const body = Buffer.alloc(size, 0x63);
  const prepared = urls.map((u) =>
    optionsFor(u, 'PUT', agent, { 'content-type': 'application/octet-stream', 'content-length': size }, signal),
  );
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const one = (options: RequestOptions) =>
    new Promise<void>((resolve) => {
      const count = (status: number, text?: string) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (isOk(status)) ok++;
        else {
          failed++;
          firstError ??= `${status} ${text ?? ''}`.trim();
        }
        resolve();
      };
      const req = request(options, (res) => {
        const status = res.statusCode ?? 0;
        drain(res, !isOk(status)).then(
          ({ text }) => count(status, text),
          (e: Error) => count(0, e.message),
        );
      });
      req.once('error', (e) => count(0, e.message));
      req.end(body);
    });
  const t0 = performance.now();
  const worker = async () => {
    while (next < prepared.length && !signal.aborted) {
      const options = prepared[next++];
      if (options) await one(options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, prepared.length) }, worker));
  const ms = performance.now() - t0;
  agent.destroy();
  const out: ManyOutcome = { ok, failed, ms, statuses };
  if (firstError !== undefined) out.firstError = firstError;
  return out;
}

/**
 * Many uploads at once, each trickling `chunkBytes` every `intervalMs` (what slow mobile clients
 * look like to a server). Used for the memory phase; the rate is not the point.
 *
 * @example
 * const r = await slowUploads(urls, 1 << 20, 32 << 10, 100, AbortSignal.timeout(30_000));
 */
export async function slowUploads(
  urls: readonly string[],
  size: number,
  chunkBytes: number,
  intervalMs: number,
  signal: AbortSignal,
): Promise<ManyOutcome> {
  const agent = new Agent({ keepAlive: false, maxSockets: urls.length + 1 });
  const chunk = SOURCE.subarray(0, chunkBytes);
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  await Promise.all(
    urls.map(
      (url, i) =>
        new Promise<void>((resolve) => {
          let timer: NodeJS.Timeout | undefined;
          let settled = false;
          const count = (status: number, text?: string) => {
            if (settled) return;
            settled = true;
            if (timer) clearTimeout(timer);
            statuses[status] = (statuses[status] ?? 0) + 1;
            if (isOk(status)) ok++;
            else {
              failed++;
              firstError ??= `${status} ${text ?? ''}`.trim();
            }
            resolve();
          };
          const req = request(
            optionsFor(
              url,
              'PUT',
              agent,
              { 'content-type': 'application/octet-stream', 'content-length': size },
              signal,
            ),
            (res) => {
              const status = res.statusCode ?? 0;
              drain(res, !isOk(status)).then(
                ({ text }) => count(status, text),
                (e: Error) => count(0, e.message),
              );
            },
          );
          req.once('error', (e) => count(0, e.message));
          let left = size;
          const tick = () => {
            if (settled) return;
            const n = Math.min(left, chunk.length);
            left -= n;
            if (left === 0) req.end(chunk.subarray(0, n));
            else {
              req.write(chunk.subarray(0, n));
              timer = setTimeout(tick, intervalMs);
            }
          };
          // Spread the starts over one interval so the ticks do not all land together.
          timer = setTimeout(tick, (i * intervalMs) / urls.length);
        }),
    ),
  );
  agent.destroy();
  const out: ManyOutcome = { ok, failed, ms: performance.now() - t0, statuses };
  if (firstError !== undefined) out.firstError = firstError;
  return out;
}

/**
 * A keep-alive agent for the single-stream phases.
 *
 * @example
 * const agent = streamAgent(); … agent.destroy();
 */
export function streamAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}
