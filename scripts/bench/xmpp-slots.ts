/**
 * Slot requests through a real XMPP server as fast as one client can ask: a bare c2s connection
 * (plain TCP, SASL PLAIN, bind) that keeps `outstanding` XEP-0363 requests in flight and counts
 * answers by scanning for <iq> and <error> start tags. A full XMPP library would parse every
 * stanza into a tree and become the bottleneck long before the server does.
 */
import { connect, type Socket } from 'node:net';
import { median } from './metrics.ts';

/** The size every request asks a slot for. */
export const SLOT_BYTES = 1024;

export interface SlotRate {
  /** Answers of type result (a slot). */
  slots: number;
  /** Error answers of type wait (a limit: retry later), counted apart from errors. */
  refused: number;
  /** Every other error answer. */
  errors: number;
  /** First error answer (start tags of the iq and its error), for the report. */
  firstError?: string;
  /** First refusal, likewise. */
  firstRefusal?: string;
  /** Median time from a request's write to its answer (ms), per kind of answer. */
  slotMs?: number;
  refusedMs?: number;
  ms: number;
  /** Slots per second. */
  perSec: number;
  /** Answers of any kind per second. */
  answersPerSec: number;
}

/** Where and as whom a bench client logs in (plain TCP, SASL PLAIN), and whom it asks for slots. */
export interface ClientOptions {
  host: string;
  port: number;
  /** The user's domain, e.g. "localhost". */
  domain: string;
  user: string;
  password: string;
  /** The component's JID, e.g. "upload.localhost". */
  component: string;
}

export interface SlotRateOptions extends ClientOptions {
  outstanding: number;
  /** Stop after this many answers… */
  total: number;
  /** …or this much time, whichever comes first. */
  maxMs: number;
  /** How long to wait for the first slot (the component may still be connecting). */
  warmupMs?: number;
}

const TAG = /<(?:iq|error)\b[^>]*>/g;

/**
 * Reads attribute `name` of one start tag (either quote style).
 *
 * @example
 * attr("<iq type='result' id='s1'>", 'id'); // "s1"
 */
export function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}=(?:'([^']*)'|"([^"]*)")`).exec(tag);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Splits what has arrived into complete <iq> and <error> start tags and the unscanned rest.
 *
 * @example
 * scanIqs("<iq type='result' id='a'/><iq type=").tags; // ["<iq type='result' id='a'/>"]
 */
export function scanIqs(text: string): { tags: string[]; rest: string } {
  const tags: string[] = [];
  let last = 0;
  TAG.lastIndex = 0;
  for (let m = TAG.exec(text); m; m = TAG.exec(text)) {
    tags.push(m[0]);
    last = TAG.lastIndex;
  }
  // Keep a possible partial "<iq …" at the end for the next chunk; drop everything else.
  const open = text.lastIndexOf('<', text.length);
  const rest = open >= last && text.indexOf('>', open) < 0 ? text.slice(open) : '';
  return { tags, rest };
}

export type AnswerKind = 'slot' | 'refused' | 'error';

/**
 * Sorts the answers to the measured requests (ids starting with "s") by the start tags that
 * arrive, in stream order: a result is a slot; an error iq is a refusal when its <error> child
 * has type wait, else an error. The error's type comes in a later tag (maybe a later read), so an
 * error iq is held until its <error> tag, or the next iq, arrives; `flush` settles the last one.
 *
 * @example
 * const answers = answerSorter((kind, id) => console.log(kind, id));
 * answers.feed("<iq type='error' id='s1'>"); answers.feed("<error type='wait'>"); // refused s1
 */
export function answerSorter(on: (kind: AnswerKind, id: string, tags: string) => void): {
  feed(tag: string): void;
  flush(): void;
} {
  let held: { id: string; tag: string } | undefined;
  const flush = () => {
    if (held) on('error', held.id, held.tag);
    held = undefined;
  };
  return {
    feed(tag) {
      if (tag.startsWith('<error')) {
        if (!held) return;
        const { id, tag: iq } = held;
        held = undefined;
        on(attr(tag, 'type') === 'wait' ? 'refused' : 'error', id, iq + tag);
        return;
      }
      flush();
      const id = attr(tag, 'id') ?? '';
      if (!id.startsWith('s')) return;
      const type = attr(tag, 'type');
      if (type === 'result') on('slot', id, tag);
      else if (type === 'error') held = { id, tag };
    },
    flush,
  };
}

function request(component: string, id: string): string {
  return `<iq type='get' to='${component}' id='${id}'><request xmlns='urn:xmpp:http:upload:0' filename='bench.bin' size='${SLOT_BYTES}' content-type='application/octet-stream'/></iq>`;
}

class Session {
  private text = '';
  private waiters: { test: (t: string) => boolean; resolve: () => void }[] = [];
  onIq: ((tag: string) => void) | undefined;
  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (this.onIq) {
        const { tags, rest } = scanIqs(this.text + chunk);
        this.text = rest;
        for (const t of tags) this.onIq(t);
        return;
      }
      this.text += chunk;
      for (const w of [...this.waiters]) {
        if (w.test(this.text)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  }

  /** Waits until the received text matches; consumes it. */
  until(test: RegExp, ms: number, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`XMPP: no ${what} within ${ms} ms; got: ${this.text.slice(0, 300)}`)),
        ms,
      );
      const check = (t: string) => test.test(t);
      const done = () => {
        clearTimeout(timer);
        const all = this.text;
        this.text = '';
        resolve(all);
      };
      if (check(this.text)) return done();
      this.waiters.push({ test: check, resolve: done });
    });
  }

  send(s: string): boolean {
    return this.socket.write(s);
  }
}

function openStream(domain: string): string {
  return `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
}

/** A logged-in client: its session, and a promise that rejects when the connection fails. */
interface Client {
  s: Session;
  failed: Promise<never>;
  socket: Socket;
}

/** Connects, logs in with SASL PLAIN and binds a resource. */
async function logIn(o: ClientOptions): Promise<Client> {
  const socket = connect({ host: o.host, port: o.port, noDelay: true });
  const s = new Session(socket);
  const failed = new Promise<never>((_, reject) => {
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('XMPP connection closed')));
  });
  failed.catch(() => {});
  const login = async () => {
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    s.send(openStream(o.domain));
    const features = await s.until(/<\/stream:features>/, 5000, 'stream features');
    if (!/PLAIN/.test(features)) throw new Error('XMPP: server offers no SASL PLAIN on plain TCP');
    s.send(
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${o.user}\0${o.password}`).toString('base64')}</auth>`,
    );
    const auth = await s.until(/<success|<failure[\s\S]*<\/failure>/, 5000, 'SASL answer');
    if (!/<success/.test(auth)) throw new Error(`XMPP: login of ${o.user}@${o.domain} failed: ${auth.slice(0, 200)}`);
    s.send(openStream(o.domain));
    await s.until(/<\/stream:features>/, 5000, 'stream features after auth');
    s.send(
      `<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>`,
    );
    await s.until(/id=['"]bind['"][\s\S]*<\/iq>/, 5000, 'bind result');
  };
  try {
    await Promise.race([login(), failed]);
  } catch (e) {
    socket.destroy();
    throw e;
  }
  return { s, failed, socket };
}

/**
 * Logs in and measures slot requests per second with `outstanding` in flight.
 *
 * @example
 * const r = await measureSlotRate({ host: '127.0.0.1', port: c2sPort, domain: 'localhost',
 *   user: 'bench', password: 'pw', component: 'upload.localhost', outstanding: 32, total: 20000, maxMs: 10000 });
 */
export async function measureSlotRate(o: SlotRateOptions): Promise<SlotRate> {
  const { s, failed, socket } = await logIn(o);
  try {
    // Warm-up: the component may still be connecting; ask once at a time until a slot comes back.
    const warmDeadline = Date.now() + (o.warmupMs ?? 15_000);
    let lastWarm = '';
    for (let i = 0; ; i++) {
      s.send(request(o.component, `w${i}`));
      const got = await Promise.race([
        s.until(new RegExp(`id=['"]w${i}['"][\\s\\S]*?(</iq>|/>)`), 5000, 'warm-up answer'),
        failed,
      ]);
      if (/type=['"]result['"]/.test(got)) break;
      lastWarm = got.slice(0, 300);
      if (Date.now() > warmDeadline)
        throw new Error(`XMPP: no slot from ${o.component} during warm-up; last answer: ${lastWarm}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    let sent = 0;
    const count = { slot: 0, refused: 0, error: 0 };
    const latency: Record<AnswerKind, number[]> = { slot: [], refused: [], error: [] };
    const sentAt = new Float64Array(o.total);
    let firstError: string | undefined;
    let firstRefusal: string | undefined;
    const t0 = performance.now();
    const result = await Promise.race([
      failed,
      new Promise<SlotRate>((resolve) => {
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          s.onIq = undefined;
          const ms = performance.now() - t0;
          const answers = count.slot + count.refused + count.error;
          const out: SlotRate = {
            slots: count.slot,
            refused: count.refused,
            errors: count.error,
            ms,
            perSec: (count.slot / ms) * 1000,
            answersPerSec: (answers / ms) * 1000,
          };
          if (firstError !== undefined) out.firstError = firstError;
          if (firstRefusal !== undefined) out.firstRefusal = firstRefusal;
          const slotMs = median(latency.slot);
          const refusedMs = median(latency.refused);
          if (slotMs !== undefined) out.slotMs = slotMs;
          if (refusedMs !== undefined) out.refusedMs = refusedMs;
          resolve(out);
        };
        const timer = setTimeout(finish, o.maxMs);
        const send = (n: number) => {
          sentAt[n] = performance.now();
          return request(o.component, `s${n}`);
        };
        const answers = answerSorter((kind, id, tags) => {
          count[kind]++;
          const n = Number(id.slice(1));
          if (n >= 0 && n < sent) latency[kind].push(performance.now() - (sentAt[n] ?? 0));
          if (kind === 'error') firstError ??= tags;
          if (kind === 'refused') firstRefusal ??= tags;
          if (count.slot + count.refused + count.error >= o.total) return finish();
          if (sent < o.total) s.send(send(sent++));
        });
        s.onIq = (tag) => answers.feed(tag);
        // Batch the initial window into one write.
        let batch = '';
        for (let i = 0; i < o.outstanding && sent < o.total; i++) batch += send(sent++);
        s.send(batch);
      }),
    ]);
    return result;
  } finally {
    socket.destroy();
  }
}

export interface SlotTimesOptions extends ClientOptions {
  /** Requests answered before the measured ones, not counted. */
  warmup: number;
  /** Measured requests. */
  requests: number;
  /** How long to wait for the component to answer disco#info (it may still be connecting). */
  connectMs?: number;
  /** How long the first request may take (a cold global quota waits for a full scan). */
  firstMs?: number;
}

export interface SlotTimes {
  /** The first request after the component answered: what a user meets first after a start. */
  firstMs: number;
  /** Round trip (request written → answer's start tag read) of each measured request, in order. */
  ms: number[];
  /** Answers that were not a slot, among all requests (the first and the warm-up ones included). */
  notSlots: number;
  /** The first of those (start tags of the iq and its error). */
  firstNotSlot?: string;
}

/**
 * Logs in and asks for slots one at a time (each request waits for the previous answer): the
 * round trip of single requests, not a rate. Waits until the component answers disco#info first,
 * so the first slot request meets a connected component.
 *
 * @example
 * const t = await measureSlotTimes({ host: '127.0.0.1', port: c2sPort, domain: 'example.org',
 *   user: 'user7', password: 'pw', component: 'upload.example.org', warmup: 20, requests: 300 });
 */
export async function measureSlotTimes(o: SlotTimesOptions): Promise<SlotTimes> {
  const { s, failed, socket } = await logIn(o);
  try {
    const deadline = Date.now() + (o.connectMs ?? 30_000);
    for (let i = 0; ; i++) {
      s.send(
        `<iq type='get' to='${o.component}' id='d${i}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
      );
      const got = await Promise.race([
        s.until(new RegExp(`id=['"]d${i}['"][\\s\\S]*?</iq>`), 5000, 'disco#info answer'),
        failed,
      ]);
      if (/<iq[^>]*type=['"]result['"]/.test(got)) break;
      if (Date.now() > deadline)
        throw new Error(`XMPP: ${o.component} did not answer disco#info; last answer: ${got.slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const total = 1 + o.warmup + o.requests;
    const times: number[] = [];
    let notSlots = 0;
    let firstNotSlot: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      failed,
      new Promise<void>((resolve, reject) => {
        let n = 0;
        let sentAt = 0;
        const next = () => {
          const wait = n === 0 ? (o.firstMs ?? 600_000) : 30_000;
          timer = setTimeout(() => reject(new Error(`XMPP: slot request ${n} unanswered after ${wait} ms`)), wait);
          sentAt = performance.now();
          s.send(request(o.component, `s${n}`));
        };
        const answers = answerSorter((kind, id, tags) => {
          if (id !== `s${n}`) return;
          times.push(performance.now() - sentAt);
          clearTimeout(timer);
          if (kind !== 'slot') {
            notSlots++;
            firstNotSlot ??= tags;
          }
          if (++n >= total) {
            s.onIq = undefined;
            return resolve();
          }
          next();
        });
        s.onIq = (tag) => answers.feed(tag);
        next();
      }),
    ]).finally(() => clearTimeout(timer));
    const out: SlotTimes = { firstMs: times[0] ?? NaN, ms: times.slice(1 + o.warmup), notSlots };
    if (firstNotSlot !== undefined) out.firstNotSlot = firstNotSlot;
    return out;
  } finally {
    socket.destroy();
  }
}
