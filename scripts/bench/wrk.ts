/**
 * Runs wrk (C, epoll; far faster than any Node client for small requests) and reads its summary.
 */
import { execFile } from 'node:child_process';

export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  seconds: number;
  /** Answers outside 2xx/3xx. */
  non2xx: number;
  /** connect + read + write + timeout errors. */
  socketErrors: number;
  /** Mean latency as wrk prints it (e.g. "1.82ms"). */
  latencyAvg: string;
}

function toNumber(text: string | undefined): number {
  return text === undefined ? 0 : Number(text);
}

/**
 * Parses wrk's text summary.
 *
 * @example
 * parseWrk('  1000 requests in 1.00s, 1MB read\nRequests/sec:   1000.00\n').requestsPerSec; // 1000
 */
export function parseWrk(out: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  if (!rps) throw new Error(`cannot read wrk output:\n${out.slice(0, 500)}`);
  const total = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  const scale = total?.[3] === 'ms' ? 1 / 1000 : total?.[3] === 'm' ? 60 : 1;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const latency = /^\s+Latency\s+(\S+)/m.exec(out);
  return {
    requestsPerSec: Number(rps[1]),
    requests: toNumber(total?.[1]),
    seconds: toNumber(total?.[2]) * scale,
    non2xx: toNumber(non2xx?.[1]),
    socketErrors: sock ? sock.slice(1).reduce((s, v) => s + Number(v), 0) : 0,
    latencyAvg: latency?.[1] ?? '',
  };
}

/**
 * Runs `wrk -c C -t T -d Ns URL` (GET) and parses the summary; killed if it overruns its duration
 * by 15 s. (Not for HEAD: wrk 4.1 waits for the body a HEAD answer announces; see head-load.ts.)
 *
 * @example
 * const r = await runWrk({ url, connections: 64, threads: 2, seconds: 10 });
 */
export function runWrk(opts: {
  url: string;
  connections: number;
  threads: number;
  seconds: number;
}): Promise<WrkResult> {
  const args = ['-c', String(opts.connections), '-t', String(opts.threads), '-d', `${opts.seconds}s`, opts.url];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (opts.seconds + 15) * 1000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk failed: ${err.message}\n${stderr}`));
      try {
        resolve(parseWrk(stdout));
      } catch (e) {
        reject(e);
      }
    });
  });
}
