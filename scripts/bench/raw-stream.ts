/**
 * Single-stream transfers on a bare TCP socket: one request per connection (`Connection: close`),
 * headers written by hand, body sent as references to one preallocated buffer, and the answer read
 * into one reused 1 MiB buffer (`onread`), so a GB/s stream costs the client a few hundred reads
 * and no allocation. node:http's client tops out lower (64 KiB reads, a parser and an event per
 * chunk), which would make it the bottleneck of the 1 GiB phases.
 */
import { connect } from 'node:net';

const SOURCE = Buffer.alloc(4 << 20, 0x62);
const HEADER_LIMIT = 64 << 10;

export interface StreamOutcome {
  status: number;
  /** From the first byte written to the end of the answer (ms). */
  ms: number;
  /** Body bytes received after the header (GET), or sent (PUT). */
  bytes: number;
  /** Content-Length of the answer, if it had one. */
  contentLength?: number;
  /** Start of a non-2xx answer's body. */
  error?: string;
}

export interface StreamRequest {
  url: string;
  method: 'GET' | 'PUT' | 'HEAD';
  /** Bytes to upload (PUT). */
  size?: number;
  headers?: Record<string, string>;
  signal: AbortSignal;
}

/**
 * Performs one request and reads the answer to its Content-Length (else to the close).
 *
 * @example
 * const r = await streamRequest({ url, method: 'GET', signal: AbortSignal.timeout(60_000) });
 * // r.bytes === expected size
 */
export function streamRequest(req: StreamRequest): Promise<StreamOutcome> {
  const u = new URL(req.url);
  const size = req.method === 'PUT' ? (req.size ?? 0) : 0;
  const lines = [`${req.method} ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close'];
  if (req.method === 'PUT') lines.push(`Content-Length: ${size}`, 'Content-Type: application/octet-stream');
  for (const [k, v] of Object.entries(req.headers ?? {})) lines.push(`${k}: ${v}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');

  return new Promise((resolve, reject) => {
    let headerText = '';
    let headerDone = false;
    let status = 0;
    let contentLength: number | undefined;
    let bodyBytes = 0;
    let errorText = '';
    let t0 = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      req.signal.removeEventListener('abort', onAbort);
      if (err) return reject(err);
      if (!headerDone) return reject(new Error(`connection closed before an answer (${req.method} ${u.pathname})`));
      const out: StreamOutcome = { status, ms: performance.now() - t0, bytes: req.method === 'PUT' ? size : bodyBytes };
      if (contentLength !== undefined) out.contentLength = contentLength;
      if (status < 200 || status > 299) out.error = errorText;
      resolve(out);
    };
    const socket = connect({
      host: u.hostname,
      port: Number(u.port || 80),
      noDelay: true,
      onread: {
        buffer: Buffer.allocUnsafe(1 << 20),
        callback: (n: number, buf: Uint8Array) => {
          let start = 0;
          if (!headerDone) {
            headerText += Buffer.from(buf.buffer, buf.byteOffset, n).toString('latin1');
            const end = headerText.indexOf('\r\n\r\n');
            if (end < 0) {
              if (headerText.length > HEADER_LIMIT) finish(new Error('answer header too long'));
              return true;
            }
            headerDone = true;
            const headLines = headerText.slice(0, end).split('\r\n');
            status = Number((headLines[0] ?? '').split(' ')[1]);
            const cl = headLines.find((l) => /^content-length:/i.test(l));
            if (cl) contentLength = Number(cl.slice(cl.indexOf(':') + 1).trim());
            // The header may share the read with body bytes: count those from the right offset.
            start = n - (headerText.length - (end + 4));
            if (status < 200 || status > 299) errorText = headerText.slice(end + 4, end + 204);
          }
          if (req.method !== 'HEAD') bodyBytes += n - start;
          // Done when the announced length is in (or a HEAD's header is): do not wait for the close.
          if (req.method === 'HEAD' || (contentLength !== undefined && bodyBytes >= contentLength)) {
            finish();
            socket.destroy();
            return false;
          }
          return true;
        },
      },
    });
    const onAbort = () => {
      socket.destroy();
      finish(new Error(`${req.method} ${u.pathname}: deadline passed`));
    };
    req.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (e) => finish(headerDone ? undefined : e)); // an early answer (413) may cut the upload
    socket.once('close', () => finish());
    socket.once('connect', () => {
      t0 = performance.now();
      socket.write(head);
      if (req.method !== 'PUT') return;
      let left = size;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, SOURCE.length);
          left -= n;
          const more = socket.write(n === SOURCE.length ? SOURCE : SOURCE.subarray(0, n));
          if (!more && left > 0) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
}
