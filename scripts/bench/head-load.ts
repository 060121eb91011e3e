/**
 * HEAD load generator. wrk 4.1 (Debian) cannot measure HEAD: its parser waits for the body the
 * Content-Length announces and counts 0 requests. This does what `wrk -c C -t T` does for HEAD:
 * T processes (so it is not one event loop against a C server), C/T keep-alive connections each,
 * one request outstanding per connection, answers counted by their blank line (a HEAD answer has
 * no body). Any status outside 2xx is counted separately.
 *
 * As a child: `node head-load.ts URL CONNECTIONS SECONDS` prints {"responses":…,"non2xx":…,"errors":…,"seconds":…}.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface HeadLoadResult {
  requestsPerSec: number;
  requests: number;
  non2xx: number;
  /** Connection errors (resets, refused); closes by the server are reconnected silently. */
  errors: number;
}

interface ChildResult {
  responses: number;
  non2xx: number;
  errors: number;
  seconds: number;
}

/**
 * Counts complete HEAD answers in `text` (each ends with an empty line) and the non-2xx ones;
 * `rest` is the unfinished tail to prepend to the next read.
 *
 * @example
 * countHeads('HTTP/1.1 200 OK\r\nA: b\r\n\r\nHTTP/1.1 404 X\r\n\r\nHTTP/1.1 2'); // { count: 2, non2xx: 1, rest: 'HTTP/1.1 2' }
 */
export function countHeads(text: string): { count: number; non2xx: number; rest: string } {
  let count = 0;
  let non2xx = 0;
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    // "HTTP/1.1 2xx": the status digit sits at offset 9 of the answer.
    if (text.charCodeAt(at + 9) !== 50 /* '2' */) non2xx++;
    count++;
    at = end + 4;
  }
  return { count, non2xx, rest: text.slice(at) };
}

function childMain(url: string, connections: number, seconds: number): void {
  const u = new URL(url);
  const request = Buffer.from(`HEAD ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`, 'latin1');
  let responses = 0;
  let non2xx = 0;
  let errors = 0;
  let running = true;
  let t0 = 0;
  let connected = 0;
  const sockets = new Set<ReturnType<typeof connect>>();
  const open = (first: boolean) => {
    const s = connect({ host: u.hostname, port: Number(u.port || 80), noDelay: true });
    sockets.add(s);
    let rest = '';
    s.on('connect', () => {
      if (first && ++connected === connections) t0 = performance.now();
      s.write(request);
    });
    s.on('data', (chunk: Buffer) => {
      const r = countHeads(rest + chunk.toString('latin1'));
      rest = r.rest;
      if (t0 > 0) {
        responses += r.count;
        non2xx += r.non2xx;
      }
      if (running) for (let i = 0; i < r.count; i++) s.write(request);
    });
    s.on('error', () => errors++);
    s.on('close', () => {
      sockets.delete(s);
      // A server may end keep-alive connections after N requests (as wrk does, reconnect).
      if (running) open(false);
    });
  };
  for (let i = 0; i < connections; i++) open(true);
  const deadline = setTimeout(() => {
    running = false;
    const elapsed = t0 > 0 ? (performance.now() - t0) / 1000 : 0;
    for (const s of sockets) s.destroy();
    const out: ChildResult = { responses, non2xx, errors, seconds: elapsed };
    process.stdout.write(JSON.stringify(out) + '\n');
  }, seconds * 1000);
  void deadline;
}

/**
 * Runs `threads` child processes with `connections / threads` connections each for `seconds`.
 *
 * @example
 * const r = await runHeadLoad({ url, connections: 64, threads: 2, seconds: 10 });
 */
export async function runHeadLoad(opts: {
  url: string;
  connections: number;
  threads: number;
  seconds: number;
}): Promise<HeadLoadResult> {
  const script = fileURLToPath(import.meta.url);
  const per = Math.max(1, Math.floor(opts.connections / opts.threads));
  const results = await Promise.all(
    Array.from(
      { length: opts.threads },
      () =>
        new Promise<ChildResult>((resolve, reject) => {
          const child = spawn(process.execPath, [script, opts.url, String(per), String(opts.seconds)], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (c: Buffer) => (out += c.toString()));
          child.stderr.on('data', (c: Buffer) => (err += c.toString()));
          const timer = setTimeout(() => child.kill('SIGKILL'), (opts.seconds + 10) * 1000);
          child.once('exit', () => {
            clearTimeout(timer);
            try {
              resolve(JSON.parse(out) as ChildResult);
            } catch {
              reject(new Error(`HEAD load child failed: ${err.slice(0, 300) || out.slice(0, 300)}`));
            }
          });
        }),
    ),
  );
  const requests = results.reduce((s, r) => s + r.responses, 0);
  return {
    requests,
    requestsPerSec: results.reduce((s, r) => s + (r.seconds > 0 ? r.responses / r.seconds : 0), 0),
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
  };
}

if (import.meta.main) {
  const [url, connections, seconds] = process.argv.slice(2);
  childMain(url ?? '', Number(connections), Number(seconds));
}
