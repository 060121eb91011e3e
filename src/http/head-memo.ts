import type { ServerResponse } from 'node:http';
import { headless, lastRequestOnConnection, putHead, waitingHead } from './node-internals.ts';

/**
 * Response heads of popular downloads, built by Node once and then reused. Building a head
 * (writeHead: a regular expression per header name and value, lower-casing, concatenation) took
 * about a tenth of the main thread's time when one small file is downloaded over and over, and
 * the head of the same upload with the same CORS answer only differs in its Date line.
 *
 * The first response for a headers object goes through writeHead(); the head Node built is kept
 * split around its Date line. Later responses with the same headers object get that head with
 * the current Date. It is reused only for what the first one was built for: the same status, a
 * 2xx with a body (Node keeps extra state for 204, 304 and 1xx), a plain HTTP/1.1 keep-alive
 * response with a Date and no headers set on it before (Node adds Connection and Keep-Alive
 * after the Date line), no Expect, not the last request of a connection. From Node's internals
 * (node-internals.ts) this relies on where writeHead leaves the head until it is sent; a head not
 * found there, or not ending as expected, is simply not kept. A reused head does not set Node's
 * content length: `strictContentLength` does not check such a response.
 */

interface Memo {
  status: number;
  message: string;
  /** Everything before the Date line, and everything after it (Connection, Keep-Alive, CRLF). */
  before: string;
  after: string;
  /** before + the Date line of the second that ends at `until` + after. */
  head: string;
  until: number;
}

/** Per HTTP server (the keep-alive timeout Node writes is the server's). */
export class HeadMemo {
  readonly #memos = new WeakMap<Readonly<Record<string, string>>, Memo>();
  readonly #now: () => number;

  /** `now` (tests): the clock the Date line is written from. */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * Does what `res.writeHead(status, headers)` does. With `reusable` — `headers` is an object
   * that is passed again for the same answer and never changed — the head is built once.
   *
   * @example
   * const memo = new HeadMemo();
   * memo.writeHead(res, 200, frozenHeaders, true);
   * res.end(body);
   */
  writeHead(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>, reusable: boolean): void {
    const plain = reusable && status >= 200 && status < 300 && status !== 204 && plainKeepAlive(res);
    const memo = plain ? this.#memos.get(headers) : undefined;
    if (memo !== undefined && memo.status === status && headless(res)) {
      const now = this.#now();
      // Also when the clock went back: the Date would otherwise stay until it caught up.
      if (now >= memo.until || now < memo.until - 1000) {
        memo.head = memo.before + dateLine(now) + memo.after;
        memo.until = now - (now % 1000) + 1000;
      }
      res.statusCode = status;
      res.statusMessage = memo.message;
      putHead(res, memo.head);
      return;
    }
    res.writeHead(status, headers as Record<string, string>);
    if (!plain) return;
    const head = waitingHead(res);
    if (head === undefined) return;
    const at = head.lastIndexOf('\r\nDate: ');
    const end = at < 0 ? -1 : head.indexOf('\r\n', at + 2);
    if (end < 0 || !head.startsWith('Connection: keep-alive\r\n', end + 2)) return;
    this.#memos.set(headers, {
      status,
      message: res.statusMessage,
      before: head.slice(0, at + 2),
      after: head.slice(end + 2),
      head,
      until: 0, // Node's Date may be its cached one: the next use writes a fresh one
    });
  }
}

/** The Date line for `now`, as Node writes it (toUTCString, i.e. the IMF-fixdate of RFC 9110). */
function dateLine(now: number): string {
  return `Date: ${new Date(now).toUTCString()}\r\n`;
}

/** A response whose head ends in the Date, Connection: keep-alive and Keep-Alive lines alone. */
function plainKeepAlive(res: ServerResponse): boolean {
  const req = res.req as ServerResponse['req'] | undefined;
  return (
    res.shouldKeepAlive &&
    lastRequestOnConnection(res) === false &&
    res.sendDate &&
    // Headers set before writeHead would be part of the head, and may be this request's own.
    res.getHeaderNames().length === 0 &&
    req !== undefined &&
    req.httpVersion === '1.1' &&
    req.headers.expect === undefined
  );
}
