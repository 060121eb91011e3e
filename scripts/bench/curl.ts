/**
 * Uploads with curl, as users do: `curl -T FILE` sends `Expect: 100-continue` before a large
 * body and waits for the server's go, and `--limit-rate` makes a client that sends slower than
 * the server could take (a phone, a thin uplink). The bench's own client (raw-stream.ts) does
 * neither, so a server that only shines with it would look better than users see it.
 */
import { execFile } from 'node:child_process';
import { openSync, closeSync, ftruncateSync } from 'node:fs';

export const CURL_BIN = '/usr/bin/curl';

/** How one curl upload goes. */
export interface CurlPut {
  url: string;
  /** The file to send (its size is the Content-Length). */
  file: string;
  /** false: no `Expect: 100-continue` (curl's default sends it for large bodies). */
  expect: boolean;
  /** curl's --limit-rate, e.g. "50M" (bytes per second, suffixes K/M/G of 1024). */
  limitRate?: string;
  /** Accept a self-signed certificate (the bench's TLS phase). */
  insecure?: boolean;
}

/**
 * The curl arguments of one upload: the answer's body is thrown away and `-w` prints the status,
 * the bytes sent and the seconds taken on one line (see parseCurlOutcome).
 *
 * @example
 * curlPutArgs({ url, file, expect: false, limitRate: '50M' });
 * // ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_upload} %{time_total}', '-T', file,
 * //  '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', '--limit-rate', '50M', url]
 */
export function curlPutArgs(p: CurlPut): string[] {
  return [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{size_upload} %{time_total}',
    '-T',
    p.file,
    '-H',
    'Content-Type: application/octet-stream',
    // An empty value removes the header curl would send.
    ...(p.expect ? [] : ['-H', 'Expect:']),
    ...(p.limitRate ? ['--limit-rate', p.limitRate] : []),
    ...(p.insecure ? ['-k'] : []),
    p.url,
  ];
}

/** What one curl upload reported. */
export interface CurlOutcome {
  status: number;
  /** Body bytes curl sent. */
  bytes: number;
  /** Seconds from start to the end of the answer, as curl measured them. */
  seconds: number;
}

/**
 * Reads the `-w` line of curlPutArgs; undefined when it is not one.
 *
 * @example
 * parseCurlOutcome('201 1073741824 1.432107'); // { status: 201, bytes: 1073741824, seconds: 1.432107 }
 */
export function parseCurlOutcome(line: string): CurlOutcome | undefined {
  const m = /^(\d{3}) (\d+) (\d+(?:\.\d+)?)$/.exec(line.trim());
  if (!m) return undefined;
  return { status: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]) };
}

/**
 * Runs one curl upload; rejects with curl's message when it fails or prints no outcome.
 *
 * @example
 * const r = await curlPut({ url, file, expect: true }, AbortSignal.timeout(120_000));
 */
export function curlPut(p: CurlPut, signal: AbortSignal): Promise<CurlOutcome> {
  return new Promise((resolve, reject) => {
    execFile(CURL_BIN, curlPutArgs(p), { signal, encoding: 'utf8' }, (err, stdout, stderr) => {
      const outcome = parseCurlOutcome(stdout);
      if (err || !outcome) {
        reject(new Error(`curl ${p.url}: ${(stderr || (err?.message ?? stdout)).trim().split('\n')[0]}`));
        return;
      }
      resolve(outcome);
    });
  });
}

/**
 * A file of `size` zero bytes that takes no disk (a hole): curl reads it from nowhere, so the
 * client's disk never competes with the server's.
 *
 * @example
 * sparseFile(join(dir, 'payload'), 1 << 30);
 */
export function sparseFile(path: string, size: number): string {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return path;
}
