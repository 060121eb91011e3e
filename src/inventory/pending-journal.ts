/**
 * The cluster-wide record of issued slots (`pending/` in the index, see names.ts), written as
 * group-committed batches: serve issues thousands of slots a second, and one index entry per
 * slot cost a file creation (an object PUT on S3) per slot. Every body holds one PendingSlot as
 * JSON per line (what `slots ls` / `slots rm` read); a sealed entry's name carries its newest
 * issue time, summed bytes and slot count (what usage counting and repair read without opening
 * it).
 *
 * Two ways to write, by what the index can do:
 *
 *   S3 (no append)   one object per batch, named as above, two PUTs in flight at a time.
 *   a folder         batches are appended, one write(2) each, to this journal's active segment
 *                    `{firstAt}.{segmentId}.open`, kept open between batches. Before a batch
 *                    with a slot issued 5 s or more after firstAt (the newest issuedAt of the
 *                    first batch), or once the segment is 5 s old by the clock or past 1 MiB,
 *                    the segment is sealed — descriptor closed, renamed to the batch name —
 *                    and a new one begins; also after 5 s idle and on close(). Even one file
 *                    per batch would spend much of serve's CPU on inode allocation at
 *                    thousands of slots a second (figures: scripts/bench/README.md).
 *                    The rule bounds an open segment's expiry by its name: every slot in it
 *                    expires by firstAt + 5 s + slot lifetime, so repair drops a crashed node's
 *                    leftovers unread and usage reads only the few live ones.
 *
 * A segment is written by one journal only (random id) and a batch entry never changes once
 * written, so nodes never race on one entry. A reader sees every appended batch whole (one
 * write(2) on O_APPEND) plus at worst the partial line of a write in progress, which it skips:
 * that write's slots have not been answered yet. `slots rm` never rewrites an entry — the
 * writer may still be appending to it — but adds a tombstone per forgotten slot
 * (`pending-forgotten/`), which readers skip. Repair (purge) deletes expired entries and
 * tombstones, under the maintenance lock.
 */
import { randomBytes } from 'node:crypto';
import type { Purpose } from '../slots/slot.ts';
import { GroupCommit } from './group-commit.ts';
import type { IndexStore } from './index-store/store.ts';
import {
  batchName,
  forgottenName,
  openSegmentName,
  parseBatch,
  parseForgotten,
  parseOpenSegment,
  paths,
  type ForgottenEntry,
} from './names.ts';
import { errCode } from '../errno.ts';

/** A slot issued (or being issued) and not uploaded yet, as `slots ls` shows it. */
export interface PendingSlot {
  id: string;
  filename: string;
  size: number;
  contentType: string | undefined;
  uploader: string;
  issuedAt: number;
  expiresAt: number;
  purpose: Purpose;
  expireBefore?: number;
}

/** A pending slot as read back, with the name of the `pending/` entry (batch or open segment) that held it. */
export interface JournalSlot extends PendingSlot {
  batch: string;
}

/**
 * How long a folder's segment stays open (ms): every slot appended to it was issued before
 * firstAt + this. Readers rely on it (usage, repair), so it is a constant, not an option.
 *
 * @example
 * const expired = seg.firstAt + SEGMENT_MAX_AGE + slotLifetime < now; // nothing in it is live
 */
export const SEGMENT_MAX_AGE = 5_000;

/**
 * Body bytes after which a segment is sealed before the next batch (what usage may read of
 * one open segment).
 *
 * @example
 * if (seg.length + body.length > SEGMENT_MAX_BYTES) seal();
 */
export const SEGMENT_MAX_BYTES = 1 << 20;

export interface PendingJournalOptions {
  /** Most slots per batch. Default 1000. */
  maxSlots?: number;
  /** Most body bytes per batch (a single larger slot still goes, alone). Default 1 MiB. */
  maxBytes?: number;
  /** The clock that ages the open segment. Default Date.now. */
  now?: () => number;
}

interface Line {
  slot: PendingSlot;
  text: string;
}

/** The journal's active segment on a folder, and what its sealed name will say. */
interface Segment {
  key: string;
  id: string;
  /** The name's time: the newest issuedAt of the first batch (what expiry is bounded by). */
  firstAt: number;
  /** By this journal's clock: what "5 s old" is measured from. */
  openedAt: number;
  lastAt: number;
  /** Σ slot sizes (the sealed name's bytes). */
  bytes: number;
  count: number;
  /** Body bytes appended (the 1 MiB limit). */
  length: number;
  timer: ReturnType<typeof setTimeout>;
}

/** What a folder index offers for segments (append, its descriptor, rename). */
interface Appending {
  append(key: string, data: Uint8Array): Promise<void>;
  closeAppend(key: string): Promise<void>;
  rename(from: string, to: string): Promise<boolean>;
}

/**
 * Parses one body line; undefined for a damaged one (a reader skips it, repair drops the entry
 * once it is past the slot lifetime).
 */
function parseLine(text: string): PendingSlot | undefined {
  try {
    const p = JSON.parse(text) as Partial<PendingSlot> | null;
    if (
      p !== null &&
      typeof p === 'object' &&
      typeof p.id === 'string' &&
      typeof p.uploader === 'string' &&
      typeof p.filename === 'string' &&
      typeof p.size === 'number' &&
      typeof p.issuedAt === 'number' &&
      typeof p.expiresAt === 'number' &&
      typeof p.purpose === 'string'
    ) {
      return p as PendingSlot;
    }
  } catch {
    // damaged line
  }
  return undefined;
}

/**
 * The readable slots of a batch or segment body. Damaged lines are skipped, and so is a last
 * line without its newline: every writer ends its data with one, so that is an append still in
 * progress (or torn) — and those slots' callers have not been answered.
 *
 * @example
 * decodeSlots(Buffer.from('{"id":"a",…}\n{"id":"b","fil')); // [{ id: 'a', … }]
 */
export function decodeSlots(body: Buffer): PendingSlot[] {
  const end = body.lastIndexOf(0x0a);
  const out: PendingSlot[] = [];
  if (end < 0) return out;
  for (const text of body.toString('utf8', 0, end).split('\n')) {
    if (text === '') continue;
    const slot = parseLine(text);
    if (slot) out.push(slot);
  }
  return out;
}

/**
 * Records, lists and forgets cluster-wide pending slots.
 *
 * @example
 * const journal = new PendingJournal(index);
 * await journal.record(slot); // resolves once the batch holding it is written
 * for await (const s of journal.slots()) console.log(s.id, s.batch);
 * await journal.close(); // on shutdown: seals the open segment
 */
export class PendingJournal {
  readonly #index: IndexStore;
  readonly #appending: Appending | undefined;
  readonly #commit: GroupCommit<Line>;
  readonly #now: () => number;
  #segment: Segment | undefined;
  /** Serializes appends, seals and close() on a folder. */
  #turn: Promise<void> = Promise.resolve();

  constructor(index: IndexStore, options: PendingJournalOptions = {}) {
    this.#index = index;
    this.#now = options.now ?? Date.now;
    const { append, closeAppend, rename } = index;
    this.#appending =
      append && closeAppend && rename
        ? { append: append.bind(index), closeAppend: closeAppend.bind(index), rename: rename.bind(index) }
        : undefined;
    this.#commit = new GroupCommit<Line>({
      maxItems: options.maxSlots ?? 1000,
      maxBytes: options.maxBytes ?? 1 << 20,
      sizeOf: (l) => l.text.length + 1,
      // Every slot answer waits for its batch. A PUT takes milliseconds: with two under way a
      // slot never waits behind a whole one that started without it. An append is one short
      // write(2), and one at a time keeps a segment's batches in order and its stats exact.
      concurrency: this.#appending ? 1 : 2,
      write: this.#appending
        ? (lines) => this.#exclusive(() => this.#appendBatch(lines))
        : (lines) => this.#putBatch(lines),
    });
  }

  /** Runs `fn` after every append and seal before it (and before any after it). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn);
    this.#turn = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  async #putBatch(lines: Line[]): Promise<void> {
    let at = 0;
    let bytes = 0;
    for (const { slot } of lines) {
      at = Math.max(at, slot.issuedAt);
      bytes += slot.size;
    }
    const name = batchName({ at, id: randomBytes(12).toString('base64url'), bytes, count: lines.length });
    await this.#index.put(`${paths.pending}/${name}`, lines.map((l) => l.text).join('\n') + '\n');
  }

  async #appendBatch(lines: Line[]): Promise<void> {
    const appending = this.#appending as Appending;
    let at = 0;
    let bytes = 0;
    for (const { slot } of lines) {
      at = Math.max(at, slot.issuedAt);
      bytes += slot.size;
    }
    const body = Buffer.from(lines.map((l) => l.text).join('\n') + '\n');
    let seg = this.#segment;
    if (
      seg &&
      (this.#isOld(seg) || at >= seg.firstAt + SEGMENT_MAX_AGE || seg.length + body.length > SEGMENT_MAX_BYTES)
    ) {
      // A seal that fails leaves a readable entry under its open name, which expires by that
      // name: the new batch must not fail for it.
      await this.#seal(seg).catch(() => {});
      seg = undefined;
    }
    seg ??= this.#start(at);
    try {
      await appending.append(seg.key, body);
    } catch (err) {
      // A failed append may have left part of its data: appending after it would glue the
      // next batch's first line to that fragment, so this segment takes no more.
      await this.#seal(seg).catch(() => {});
      throw err;
    }
    seg.lastAt = Math.max(seg.lastAt, at);
    seg.bytes += bytes;
    seg.count += lines.length;
    seg.length += body.length;
  }

  #isOld(seg: Segment): boolean {
    return this.#now() - seg.openedAt >= SEGMENT_MAX_AGE;
  }

  #start(firstAt: number): Segment {
    const id = randomBytes(12).toString('base64url');
    const seg: Segment = {
      key: `${paths.pending}/${openSegmentName({ firstAt, id })}`,
      id,
      firstAt,
      openedAt: this.#now(),
      lastAt: firstAt,
      bytes: 0,
      count: 0,
      length: 0,
      // Sealed when idle too: the name then says everything and, on a shared folder (NFS), the
      // close flushes what this node appended to the server for the other nodes to read.
      timer: setTimeout(() => {
        void this.#exclusive(async () => {
          if (this.#segment === seg && this.#isOld(seg)) await this.#seal(seg);
        }).catch(() => {});
      }, SEGMENT_MAX_AGE + 50),
    };
    seg.timer.unref();
    this.#segment = seg;
    return seg;
  }

  /**
   * Closes the segment's descriptor and renames it to its batch name (or deletes it when no
   * batch made it in). Finding it gone is fine: repair removed it, all its slots had expired.
   */
  async #seal(seg: Segment): Promise<void> {
    const appending = this.#appending as Appending;
    if (this.#segment === seg) this.#segment = undefined;
    clearTimeout(seg.timer);
    await appending.closeAppend(seg.key);
    if (seg.count === 0) {
      await this.#index.delete(seg.key);
      return;
    }
    const sealed = `${paths.pending}/${batchName({ at: seg.lastAt, id: seg.id, bytes: seg.bytes, count: seg.count })}`;
    try {
      await appending.rename(seg.key, sealed);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
    }
  }

  /**
   * Records a slot; resolves when the batch holding it has been written (so the slot is known
   * cluster-wide before its client gets it), rejects when that batch's write failed.
   *
   * @example
   * await journal.record({ id, filename, size, contentType, uploader, issuedAt, expiresAt, purpose });
   */
  record(slot: PendingSlot): Promise<void> {
    return this.#commit.add({ slot, text: JSON.stringify(slot) });
  }

  /**
   * Waits for the records under way, then seals the open segment (a no-op on S3). Call it on
   * shutdown; a record() after it starts a new segment.
   *
   * @example
   * await journal.close();
   */
  async close(): Promise<void> {
    await this.#commit.idle();
    if (!this.#appending) return;
    await this.#exclusive(async () => {
      if (this.#segment) await this.#seal(this.#segment);
    });
  }

  /**
   * Every readable slot of every batch and open segment that has not been forgotten, streamed:
   * one body in memory at a time, plus the forgotten ids (slots forgotten within one lifetime).
   * Slots that expired or were uploaded meanwhile are included; the caller decides.
   *
   * @example
   * for await (const s of journal.slots()) if (s.expiresAt > now) console.log(s.id);
   */
  async *slots(): AsyncIterable<JournalSlot> {
    const forgotten = new Set<string>();
    for await (const name of this.#index.list(paths.forgotten)) {
      const f = parseForgotten(name);
      if (f) forgotten.add(f.id);
    }
    // A segment sealed between the listing and its read is gone under its open name, and its
    // sealed name may or may not be in the same listing: remember what was read (by segment
    // id; on a folder there are few entries per slot lifetime) and look again for the rest.
    const read = this.#appending ? new Set<string>() : undefined;
    const vanished = new Set<string>();
    const entry = async (name: string): Promise<JournalSlot[]> => {
      const open = parseOpenSegment(name);
      const id = open?.id ?? parseBatch(name)?.id;
      if (id === undefined || read?.has(id)) return [];
      const body = await this.#index.get(`${paths.pending}/${name}`);
      if (!body) {
        if (open) vanished.add(open.id);
        return []; // removed since the listing (repair), or sealed
      }
      read?.add(id);
      const out: JournalSlot[] = [];
      for (const slot of decodeSlots(body)) if (!forgotten.has(slot.id)) out.push({ ...slot, batch: name });
      return out;
    };
    for await (const name of this.#index.list(paths.pending)) yield* await entry(name);
    if (vanished.size === 0) return;
    for await (const name of this.#index.list(paths.pending)) {
      const b = parseBatch(name);
      if (b && vanished.has(b.id)) yield* await entry(name);
    }
  }

  /**
   * Forgets pending slots: one empty tombstone each (`pending-forgotten/{expiresAt}.{id}`),
   * which slots() skips. Their entries are left alone — a node may still be appending to one —
   * and so is what the entries' names say: the global quota's pending estimate stays cautious
   * until they expire (a forgotten slot's URL stays usable until then anyway). Tombstones go
   * with repair once past expiresAt.
   *
   * @example
   * await journal.forget([{ id: slot.id, expiresAt: slot.expiresAt }]);
   */
  async forget(slots: Iterable<ForgottenEntry>): Promise<void> {
    const keys = [...slots].map((s) => `${paths.forgotten}/${forgottenName({ expiresAt: s.expiresAt, id: s.id })}`);
    await Promise.all(keys.map((k) => this.#index.put(k)));
  }
}
