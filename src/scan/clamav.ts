/**
 * A client for clamd, ClamAV's scanner daemon, over TCP: PING and VERSION (for `doctor`), and
 * INSTREAM, which sends the bytes themselves, so clamd needs no access to the repository (it may
 * run on another host or as another user). Only Node's `net`: no ClamAV library.
 *
 * INSTREAM sends a file or stream as chunks, each a 4-byte big-endian length and that many bytes,
 * ended by a zero-length chunk; clamd answers once, then closes. Sending waits for the socket to
 * drain, so at most one chunk plus the socket's buffers are held however large the upload is.
 *
 * clamd refuses a stream longer than its StreamMaxLength (25M in Debian's clamd.conf, 100M built
 * in): it answers `INSTREAM size limit exceeded. ERROR` and closes at once, with the rest of the
 * upload unread in its socket, so the kernel resets the connection. A write racing that reset
 * fails, and Node then drops the answer unread: the same upload would come back `too-large` or
 * "connection closed" at random. So the client keeps the limit itself (`streamMaxLength`, to be
 * set to clamd's): the verdict `too-large` comes from here, before clamd sees more than the
 * limit, and a file known to be larger is not sent at all. clamd refusing an upload within that
 * limit (its StreamMaxLength is smaller) is an `error` saying so, whichever way the race went.
 *
 * clamd has a fixed number of threads (MaxThreads); a scan that waits for one still holds its
 * connection. ClamdClient therefore lets at most `maxConcurrentScans` scans talk to clamd at once;
 * the others wait in order of arrival, each for at most `maxQueueWait`, so a stuck clamd turns
 * into `error` verdicts rather than uploads that never finish.
 *
 * Properties this module is meant to be configured by (the Openfire plugin's four, with its
 * names and defaults, then fileupload's own):
 * - `clamavEnabled` (false): scan every upload before it is published.
 * - `clamavHost` (127.0.0.1), `clamavPort` (3310): where clamd listens (its TCPAddr/TCPSocket).
 * - `clamavConnectionTimeout` (3000 ms): to establish the TCP connection (`connectionTimeout`).
 * - `clamavScanTimeout` (150000 ms): without progress — clamd taking no bytes, or not answering
 *   after the last one (`replyTimeout`); also the longest wait for a turn (`maxQueueWait`). Longer
 *   than clamd's default MaxScanTime (120 s), so a slow but working clamd is never cut off.
 * - `clamavMaxConcurrentScans` (4): below clamd's MaxThreads (10 built in, 12 in Debian's
 *   clamd.conf), so other clients and `doctor`'s PING still find a thread.
 * - `clamavFailOpen` (false): on an `error` verdict (clamd down, timed out, busy past the wait)
 *   publish unscanned (logged) instead of refusing the upload.
 * - `clamavTooLarge` (`refuse`; or `publish-unscanned`, logged): for a `too-large` verdict. The
 *   Openfire plugin refuses such uploads too ("Malware scanning failed").
 * - `clamavStreamMaxLength` (26214400 bytes, the 25M of Debian's clamd.conf): larger uploads are
 *   `too-large`; set it to clamd's StreamMaxLength (`streamMaxLength`).
 *
 * Reading the upload itself failing (a missing temp file) is not clamd's fault: the scan rejects
 * with that error instead of returning a verdict, so fail-open cannot publish it.
 *
 * @example
 * const clamd = new ClamdClient({ host: '127.0.0.1', port: 3310 });
 * const verdict = await clamd.scanFile(tempFile);
 * if (verdict.verdict === 'infected') log.warn('upload refused: malware', { signature: verdict.signature });
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';

/** What clamd said about one upload. */
export type ScanVerdict =
  | { verdict: 'clean' }
  | { verdict: 'infected'; signature: string }
  | { verdict: 'too-large' }
  | { verdict: 'error'; reason: string };

/** The outcome of a PING or VERSION: the answer, or why there is none. */
export type ClamdAnswer = { ok: true; reply: string } | { ok: false; reason: string };

/** The command form: `z` ends commands and replies with NUL, `n` with a newline. */
export type CommandForm = 'z' | 'n';

export interface ClamdConnectionOptions {
  host: string;
  port: number;
  /** Milliseconds to establish the TCP connection; default 3000. */
  connectionTimeout?: number;
  /** Milliseconds without progress (clamd taking no bytes, or not answering) before giving up; default 150000. */
  replyTimeout?: number;
  /** Default `z`. */
  commandForm?: CommandForm;
  /** clamd's StreamMaxLength in bytes: longer uploads are `too-large`; default 25 MiB (Debian's clamd.conf). */
  streamMaxLength?: number;
}

export interface ClamdClientOptions extends ClamdConnectionOptions {
  /** Scans talking to clamd at once; default 4. */
  maxConcurrentScans?: number;
  /** Milliseconds a scan waits for its turn before it becomes an `error` verdict; default 150000. */
  maxQueueWait?: number;
}

export const DEFAULT_CONNECTION_TIMEOUT = 3000;
export const DEFAULT_SCAN_TIMEOUT = 150_000;
export const DEFAULT_MAX_CONCURRENT_SCANS = 4;
export const DEFAULT_STREAM_MAX_LENGTH = 25 * 1024 * 1024;

/** Bytes per INSTREAM chunk: larger chunks from a stream are split. */
const CHUNK = 64 * 1024;

/**
 * The verdict in clamd's answer to INSTREAM (without its terminator). Pure.
 *
 * @example
 * parseScanReply('stream: Eicar-Signature FOUND'); // { verdict: 'infected', signature: 'Eicar-Signature' }
 */
export function parseScanReply(reply: string): ScanVerdict {
  if (reply === 'stream: OK') return { verdict: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found) return { verdict: 'infected', signature: found[1] as string };
  if (/^INSTREAM size limit exceeded/.test(reply)) return { verdict: 'too-large' };
  if (/ ERROR$/.test(reply)) return { verdict: 'error', reason: `clamd answered: ${reply}` };
  return { verdict: 'error', reason: `clamd gave an unexpected answer: ${JSON.stringify(reply)}` };
}

/**
 * The 4-byte big-endian length that precedes each INSTREAM chunk (0 ends the stream). Pure.
 *
 * @example
 * chunkHeader(65536); // <Buffer 00 01 00 00>
 */
export function chunkHeader(length: number): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(length);
  return header;
}

/** Resolves once the socket has room again, or is gone. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function describeError(err: Error & { code?: string }, where: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `${where} refused the connection (is clamd running and listening there?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${where}: host name not found`;
    default:
      return `${where}: ${err.message}`;
  }
}

/** Why clamd refuses an upload that `streamMaxLength` allows. */
function tooSmall(limit: number): string {
  return `its StreamMaxLength is below the ${limit} bytes allowed here`;
}

/** What one exchange with clamd came to; `over-limit`: the body passed `streamMaxLength`. */
type Exchange = ClamdAnswer | { ok: 'over-limit' };

/**
 * Sends one command (and, for INSTREAM, the chunks of `open()`, called once connected) on a
 * fresh connection and resolves with clamd's answer up to its terminator. Rejects only when the
 * body fails to read.
 */
function exchange(
  options: ClamdConnectionOptions,
  command: string,
  open?: () => AsyncIterable<Uint8Array>,
): Promise<Exchange> {
  const form = options.commandForm ?? 'z';
  const terminator = form === 'z' ? 0 : 0x0a;
  const connectionTimeout = options.connectionTimeout ?? DEFAULT_CONNECTION_TIMEOUT;
  const replyTimeout = options.replyTimeout ?? DEFAULT_SCAN_TIMEOUT;
  const limit = options.streamMaxLength ?? DEFAULT_STREAM_MAX_LENGTH;
  const where = `clamd at ${options.host}:${options.port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port });
    const received: Buffer[] = [];
    let settled = false;
    /** Body bytes handed to the socket. */
    let sent = 0;
    const settle = (answer: Exchange | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      socket.destroy();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    const connectTimer = setTimeout(
      () => settle({ ok: false, reason: `${where} did not accept a connection within ${connectionTimeout} ms` }),
      connectionTimeout,
    );
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      socket.setTimeout(replyTimeout);
      socket.write(`${form}${command}${form === 'z' ? '\0' : '\n'}`);
      if (open) send(open).catch((err: unknown) => settle(err as Error));
    });
    socket.on('timeout', () => settle({ ok: false, reason: `${where} made no progress for ${replyTimeout} ms` }));
    socket.on('data', (data: Buffer) => {
      received.push(data);
      const end = data.indexOf(terminator);
      if (end < 0) return;
      const all = Buffer.concat(received);
      settle({ ok: true, reply: all.subarray(0, all.indexOf(terminator)).toString('utf8') });
    });
    /**
     * clamd hung up without an answer (a reset or an end). With an upload sent, even all of it
     * (the kernel's buffers take megabytes before clamd reads any), its refusal may be what the
     * reset swallowed.
     */
    const hungUp = (): Exchange => ({
      ok: false,
      reason:
        sent === 0
          ? `${where} closed the connection without answering`
          : `${where} closed the connection without answering, ${sent} bytes of the upload sent: ${tooSmall(limit)}, or clamd stopped`,
    });
    // An answer without its terminator still counts (the connection ends with the answer).
    socket.on('end', () =>
      settle(received.length > 0 ? { ok: true, reply: Buffer.concat(received).toString('utf8').trim() } : hungUp()),
    );
    socket.on('error', (err: Error & { code?: string }) =>
      settle(
        err.code === 'EPIPE' || err.code === 'ECONNRESET' ? hungUp() : { ok: false, reason: describeError(err, where) },
      ),
    );

    const send = async (openBody: () => AsyncIterable<Uint8Array>) => {
      for await (const data of openBody()) {
        for (let at = 0; at < data.length; at += CHUNK) {
          // clamd has answered or the socket is gone: leave the rest unread.
          if (settled || socket.destroyed) return;
          const part = data.subarray(at, at + CHUNK);
          if (sent + part.length > limit) return settle({ ok: 'over-limit' });
          sent += part.length;
          socket.write(chunkHeader(part.length));
          if (!socket.write(part)) await drained(socket);
        }
      }
      if (!settled && !socket.destroyed) socket.write(chunkHeader(0));
    };
  });
}

/**
 * One PING: `{ ok: true, reply: 'PONG' }` when clamd is there.
 *
 * @example
 * const r = await clamdPing({ host: '127.0.0.1', port: 3310 });
 * if (!r.ok) console.error(r.reason);
 */
export async function clamdPing(options: ClamdConnectionOptions): Promise<ClamdAnswer> {
  const answer = (await exchange(options, 'PING')) as ClamdAnswer;
  if (answer.ok && answer.reply !== 'PONG')
    return { ok: false, reason: `clamd answered PING with ${JSON.stringify(answer.reply)}` };
  return answer;
}

/**
 * One VERSION: clamd's version and, with a signature database from freshclam, its version and
 * date (`ClamAV 1.4.6/27480/Sun Dec  6 09:27:02 2026`).
 *
 * @example
 * const r = await clamdVersion({ host: '127.0.0.1', port: 3310 }); // { ok: true, reply: 'ClamAV 1.4.6' }
 */
export async function clamdVersion(options: ClamdConnectionOptions): Promise<ClamdAnswer> {
  return (await exchange(options, 'VERSION')) as ClamdAnswer;
}

/**
 * Scans a stream with INSTREAM on one connection, without a bound on concurrent scans (see
 * ClamdClient for that): `too-large` once it passes `streamMaxLength`. `open` is called once
 * connected, so nothing is opened when clamd is unreachable. Rejects only when the stream fails.
 *
 * @example
 * const verdict = await clamdScan({ host: '127.0.0.1', port: 3310 }, () => createReadStream(file));
 */
export async function clamdScan(
  options: ClamdConnectionOptions,
  open: () => AsyncIterable<Uint8Array>,
): Promise<ScanVerdict> {
  const answer = await exchange(options, 'INSTREAM', open);
  if (answer.ok === 'over-limit') return { verdict: 'too-large' };
  if (!answer.ok) return { verdict: 'error', reason: answer.reason };
  const verdict = parseScanReply(answer.reply);
  if (verdict.verdict !== 'too-large') return verdict;
  const limit = options.streamMaxLength ?? DEFAULT_STREAM_MAX_LENGTH;
  return {
    verdict: 'error',
    reason: `clamd at ${options.host}:${options.port} refused the upload as too large: ${tooSmall(limit)}`,
  };
}

/**
 * Whether clamd takes a stream of exactly `streamMaxLength` bytes (zeros), i.e. its own
 * StreamMaxLength is not smaller: for `doctor`. Sends the whole length, so it takes as long as
 * scanning an upload of that size.
 *
 * @example
 * const r = await checkStreamMaxLength({ host: '127.0.0.1', port: 3310, streamMaxLength: 25 * 1024 * 1024 });
 * if (!r.ok) console.error(r.reason); // "… refused the upload as too large: its StreamMaxLength is below …"
 */
export async function checkStreamMaxLength(options: ClamdConnectionOptions): Promise<ClamdAnswer> {
  const length = options.streamMaxLength ?? DEFAULT_STREAM_MAX_LENGTH;
  const zeros = Buffer.alloc(CHUNK);
  const verdict = await clamdScan(options, async function* () {
    for (let left = length; left > 0; left -= CHUNK) yield zeros.subarray(0, Math.min(CHUNK, left));
  });
  switch (verdict.verdict) {
    case 'clean':
      return { ok: true, reply: 'stream: OK' };
    case 'error':
      return { ok: false, reason: verdict.reason };
    default:
      return { ok: false, reason: `clamd answered ${length} zero bytes with ${JSON.stringify(verdict)}` };
  }
}

/**
 * At most `limit` holders at once; the others wait in order of arrival, each for at most
 * `maxWait` milliseconds.
 *
 * @example
 * const turns = new Turns(4, 60_000);
 * if (await turns.acquire()) try { await work(); } finally { turns.release(); }
 */
export class Turns {
  private holders = 0;
  private readonly queue: { grant: () => void }[] = [];
  readonly limit: number;
  readonly maxWait: number;

  constructor(limit: number, maxWait: number) {
    this.limit = limit;
    this.maxWait = maxWait;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }

  /** How many hold a turn now. */
  get active(): number {
    return this.holders;
  }

  /** How many wait for one. */
  get waiting(): number {
    return this.queue.length;
  }

  /** True once a turn is held (call release() after); false when `maxWait` passed first. */
  acquire(): Promise<boolean> {
    if (this.holders < this.limit && this.queue.length === 0) {
      this.holders++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = {
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(entry);
        if (at >= 0) this.queue.splice(at, 1);
        resolve(false);
      }, this.maxWait);
      this.queue.push(entry);
    });
  }

  /** Hands the turn to the longest waiter, or frees it. */
  release(): void {
    const next = this.queue.shift();
    if (next) next.grant();
    else this.holders--;
  }
}

/**
 * clamd as fileupload uses it: PING and VERSION, and scans of files or streams bounded to
 * `maxConcurrentScans` at once.
 *
 * @example
 * const clamd = new ClamdClient({ host: '127.0.0.1', port: 3310, maxConcurrentScans: 4 });
 * const verdict = await clamd.scanFile('/var/lib/fileupload/tmp/abc');
 */
export class ClamdClient {
  readonly options: ClamdClientOptions;
  readonly turns: Turns;

  constructor(options: ClamdClientOptions) {
    this.options = options;
    this.turns = new Turns(
      options.maxConcurrentScans ?? DEFAULT_MAX_CONCURRENT_SCANS,
      options.maxQueueWait ?? DEFAULT_SCAN_TIMEOUT,
    );
  }

  ping(): Promise<ClamdAnswer> {
    return clamdPing(this.options);
  }

  version(): Promise<ClamdAnswer> {
    return clamdVersion(this.options);
  }

  /**
   * Scans the file at `path` from byte `start` on (a store's temp file after its metadata header),
   * read in chunks as clamd takes them; more than `streamMaxLength` bytes are not sent.
   */
  async scanFile(path: string, start = 0): Promise<ScanVerdict> {
    const { size } = await stat(path);
    if (size - start > (this.options.streamMaxLength ?? DEFAULT_STREAM_MAX_LENGTH)) return { verdict: 'too-large' };
    return this.scanStream(() => createReadStream(path, { start, highWaterMark: CHUNK }));
  }

  /**
   * Scans a stream; `open` is called once this scan's turn has come and clamd has accepted the
   * connection, so nothing is held open while it waits.
   */
  async scanStream(open: () => AsyncIterable<Uint8Array>): Promise<ScanVerdict> {
    if (!(await this.turns.acquire()))
      return {
        verdict: 'error',
        reason: `no turn to scan within ${this.turns.maxWait} ms (at most ${this.turns.limit} at once): clamd at ${this.options.host}:${this.options.port} is slow or stuck`,
      };
    try {
      return await clamdScan(this.options, open);
    } finally {
      this.turns.release();
    }
  }
}
