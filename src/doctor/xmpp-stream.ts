/**
 * A minimal XMPP stream over one socket, for doctor's probes: open a stream, send XML, await the
 * next top-level element with a timeout, upgrade to TLS (STARTTLS), restart the stream. It keeps
 * no state beyond what a probe needs; the XML parser is ltx (through @xmpp/component).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { xml } from '@xmpp/component';
import type { Element } from '../xmpp/xml.ts';

export const NS_STREAMS = 'http://etherx.jabber.org/streams';
export const NS_STREAM_ERRORS = 'urn:ietf:params:xml:ns:xmpp-streams';

/**
 * The peer closed the stream with a <stream:error/>.
 *
 * @example
 * catch (err) { if (err instanceof StreamError && err.condition === 'not-authorized') wrongSecret(); }
 */
export class StreamError extends Error {
  /** The RFC 6120 condition, e.g. not-authorized, host-unknown, conflict. */
  readonly condition: string;
  readonly text: string | undefined;
  constructor(condition: string, text: string | undefined) {
    super(`stream error ${condition}${text ? `: ${text}` : ''}`);
    this.name = 'StreamError';
    this.condition = condition;
    this.text = text;
  }
}

/**
 * Nothing arrived in time.
 *
 * @example
 * catch (err) { if (err instanceof StreamTimeoutError) console.log(err.message); }
 */
export class StreamTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`no answer within ${ms} ms while waiting for ${what}`);
    this.name = 'StreamTimeoutError';
  }
}

/**
 * Reads a <stream:error/>: its condition and text.
 *
 * @example
 * streamErrorOf(el)?.condition; // 'not-authorized'
 */
export function streamErrorOf(el: Element): StreamError | undefined {
  if (el.name !== 'stream:error' && !el.is('error', NS_STREAMS)) return undefined;
  const children = el.getChildElements();
  const condition = children.find((c) => c.getName() !== 'text')?.getName() ?? 'undefined-condition';
  const text = children.find((c) => c.getName() === 'text')?.getText();
  return new StreamError(condition, text);
}

type Waiter = { resolve: (el: Element) => void; reject: (err: Error) => void };

/**
 * Opens a TCP connection; rejects after `timeoutMs`.
 *
 * @example
 * const socket = await connectTcp('127.0.0.1', 5275, 3000);
 */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new StreamTimeoutError(`a TCP connection to ${host}:${port}`, timeoutMs));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

/**
 * One XMPP stream. Elements that arrive are queued; `next()` takes them in order.
 *
 * @example
 * const stream = new XmppStream(await connectTcp(host, port, 3000), 3000);
 * const header = await stream.open(`<stream:stream xmlns='jabber:component:accept' xmlns:stream='${NS_STREAMS}' to='upload.example.org'>`);
 * stream.send(xml('handshake', {}, digest));
 * const answer = await stream.next('the handshake answer');
 * stream.close();
 */
export class XmppStream {
  #socket: Socket | TLSSocket;
  readonly timeoutMs: number;
  #decoder = new StringDecoder('utf8');
  #parser: InstanceType<typeof xml.Parser> | undefined;
  #queue: Element[] = [];
  #waiters: Waiter[] = [];
  #header: Waiter | undefined;
  #failure: Error | undefined;
  #onData = (chunk: Buffer) => this.#parser?.write(this.#decoder.write(chunk));
  #onError = (err: Error) => this.#fail(err);
  #onClose = () => this.#fail(new Error('the server closed the connection'));

  constructor(socket: Socket | TLSSocket, timeoutMs: number) {
    this.#socket = socket;
    this.timeoutMs = timeoutMs;
    this.#attach();
  }

  /** True once the connection is TLS (after startTls). */
  get encrypted(): boolean {
    return 'encrypted' in this.#socket && this.#socket.encrypted === true;
  }

  #attach(): void {
    this.#socket.on('data', this.#onData);
    this.#socket.on('error', this.#onError);
    this.#socket.on('close', this.#onClose);
  }

  #detach(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('error', this.#onError);
    this.#socket.off('close', this.#onClose);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    const waiters = [...this.#waiters, ...(this.#header ? [this.#header] : [])];
    this.#waiters = [];
    this.#header = undefined;
    for (const w of waiters) w.reject(this.#failure);
  }

  #newParser(): void {
    const parser = new xml.Parser();
    parser.on('start', (el: Element) => {
      const h = this.#header;
      this.#header = undefined;
      h?.resolve(el);
    });
    parser.on('element', (el: Element) => {
      const streamError = streamErrorOf(el);
      if (streamError) {
        this.#fail(streamError);
        return;
      }
      const w = this.#waiters.shift();
      if (w) w.resolve(el);
      else this.#queue.push(el);
    });
    parser.on('end', () => this.#fail(new Error('the server closed the stream')));
    parser.on('error', (err: Error) => this.#fail(new Error(`the server sent malformed XML: ${err.message}`)));
    this.#parser = parser;
  }

  #timed<T>(what: string, register: (w: Waiter) => void, cancel: (w: Waiter) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#failure) {
        reject(this.#failure);
        return;
      }
      const waiter: Waiter = {
        resolve: (el) => {
          clearTimeout(timer);
          resolve(el as T);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        cancel(waiter);
        reject(new StreamTimeoutError(what, this.timeoutMs));
      }, this.timeoutMs);
      register(waiter);
    });
  }

  /**
   * Sends a stream header (a fresh parser takes over) and resolves with the server's header.
   *
   * @example
   * const header = await stream.open(`<stream:stream … to='example.org' version='1.0'>`); header.attrs.id
   */
  open(header: string): Promise<Element> {
    this.#queue = [];
    this.#newParser();
    const answer = this.#timed<Element>(
      'the stream header',
      (w) => (this.#header = w),
      () => (this.#header = undefined),
    );
    this.#socket.write(`<?xml version='1.0'?>${header}`);
    return answer;
  }

  /** Sends an element or raw XML text. */
  send(el: Element | string): void {
    this.#socket.write(typeof el === 'string' ? el : el.toString());
  }

  /**
   * The next top-level element (a <stream:error/> rejects with StreamError instead).
   *
   * @example
   * const features = await stream.next('stream features');
   */
  next(what: string): Promise<Element> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return this.#timed<Element>(
      what,
      (w) => this.#waiters.push(w),
      (w) => (this.#waiters = this.#waiters.filter((x) => x !== w)),
    );
  }

  /**
   * The next element that `match` accepts; others are handed to `other` (e.g. to answer IQs).
   *
   * @example
   * const result = await stream.nextMatching('the bind result', (el) => el.attrs.id === 'bind1');
   */
  async nextMatching(
    what: string,
    match: (el: Element) => boolean,
    other: (el: Element) => void = () => {},
  ): Promise<Element> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      if (Date.now() > deadline) throw new StreamTimeoutError(what, this.timeoutMs);
      const el = await this.next(what);
      if (match(el)) return el;
      other(el);
    }
  }

  /**
   * Upgrades the connection to TLS (after the server's <proceed/>), verifying the certificate for
   * `servername` unless `rejectUnauthorized` is false. Open a new stream afterwards.
   *
   * @example
   * await stream.startTls('example.org', true);
   */
  startTls(servername: string, rejectUnauthorized: boolean): Promise<void> {
    this.#detach();
    this.#parser = undefined;
    this.#decoder = new StringDecoder('utf8');
    const plain = this.#socket;
    // The TLS socket reports the connection's errors from now on; keep a stray one from crashing.
    plain.on('error', () => {});
    return new Promise((resolve, reject) => {
      const secure = tlsConnect({ socket: plain as Socket, servername, rejectUnauthorized });
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new StreamTimeoutError('the TLS handshake', this.timeoutMs));
      }, this.timeoutMs);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeAllListeners('error');
        this.#socket = secure;
        this.#attach();
        resolve();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        secure.destroy();
        reject(err);
      });
    });
  }

  /** Closes the stream politely and the socket. */
  close(): void {
    this.#detach();
    this.#socket.on('error', () => {});
    if (!this.#socket.destroyed) {
      this.#socket.end('</stream:stream>');
      // Do not wait for the server's side: the probe is over.
      setTimeout(() => this.#socket.destroy(), 200).unref();
    }
    this.#fail(new Error('stream closed'));
  }
}
