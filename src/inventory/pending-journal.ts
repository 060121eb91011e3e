/**
 * The cluster-wide record of issued slots (`pending/` in the index, see names.ts), written as
 * group-committed batches: serve issues thousands of slots a second, and one index entry per
 * slot cost a file creation (an object PUT on S3) per slot. Each batch is one entry whose name
 * carries its newest issue time, summed bytes and slot count (what usage counting and repair
 * read without opening it) and whose body holds one PendingSlot as JSON per line (what
 * `slots ls` / `slots rm` read).
 *
 * Writers never modify a batch once written (every batch has a fresh random id), so nodes never
 * race on one entry. Only `slots rm` rewrites batches (forget), and purge's repair deletes expired
 * ones, both under the maintenance lock — so those two do not race either.
 */
import { randomBytes } from 'node:crypto';
import type { Purpose } from '../slots/slot.ts';
import { GroupCommit } from './group-commit.ts';
import type { IndexStore } from './index-store.ts';
import { batchName, parseBatch, paths } from './names.ts';

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

/** A pending slot as read back, with the name of the `pending/` batch entry that holds it. */
export interface JournalSlot extends PendingSlot {
  batch: string;
}

export interface PendingJournalOptions {
  /** Most slots per batch entry. Default 1000. */
  maxSlots?: number;
  /** Most body bytes per batch entry (a single larger slot still goes, alone). Default 1 MiB. */
  maxBytes?: number;
}

interface Line {
  slot: PendingSlot;
  text: string;
}

/**
 * Parses one body line; undefined for a damaged one (a reader skips it, repair drops the batch
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
 * The readable slots of a batch body (damaged lines are skipped), each with its line.
 *
 * @example
 * decodeBatch(Buffer.from('{"id":"a",…}\n')); // [{ slot: { id: 'a', … }, text: '{"id":"a",…}' }]
 */
function decodeBatch(body: Buffer): Line[] {
  const out: Line[] = [];
  for (const text of body.toString('utf8').split('\n')) {
    if (text === '') continue;
    const slot = parseLine(text);
    if (slot) out.push({ slot, text });
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
 */
export class PendingJournal {
  readonly #index: IndexStore;
  readonly #commit: GroupCommit<Line>;

  constructor(index: IndexStore, options: PendingJournalOptions = {}) {
    this.#index = index;
    this.#commit = new GroupCommit<Line>({
      maxItems: options.maxSlots ?? 1000,
      maxBytes: options.maxBytes ?? 1 << 20,
      sizeOf: (l) => l.text.length + 1,
      // Every slot answer waits for its batch: with two writes under way a slot never waits
      // behind a whole write that started without it (batches are independent entries).
      concurrency: 2,
      write: (lines) => this.#writeBatch(lines),
    });
  }

  async #writeBatch(lines: Line[]): Promise<void> {
    let at = 0;
    let bytes = 0;
    for (const { slot } of lines) {
      at = Math.max(at, slot.issuedAt);
      bytes += slot.size;
    }
    const name = batchName({ at, id: randomBytes(12).toString('base64url'), bytes, count: lines.length });
    await this.#index.put(`${paths.pending}/${name}`, lines.map((l) => l.text).join('\n') + '\n');
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
   * Every readable slot of every batch, streamed: one batch body in memory at a time. Slots that
   * expired or were uploaded meanwhile are included; the caller decides.
   *
   * @example
   * for await (const s of journal.slots()) if (s.expiresAt > now) console.log(s.id);
   */
  async *slots(): AsyncIterable<JournalSlot> {
    for await (const name of this.#index.list(paths.pending)) {
      if (!parseBatch(name)) continue;
      const body = await this.#index.get(`${paths.pending}/${name}`);
      if (!body) continue; // removed since the listing (repair or slots rm)
      for (const { slot } of decodeBatch(body)) yield { ...slot, batch: name };
    }
  }

  /**
   * Removes slots from one batch: its body is rewritten without them (same name: the name's
   * bytes then overstate the batch, which only makes the global quota's pending estimate
   * cautious until the batch expires — and a forgotten slot's URL stays usable until then), or
   * the entry is deleted when nothing readable is left. Returns the slots that were found and
   * removed. Call it only under the maintenance lock (see the module comment).
   *
   * @example
   * const gone = await journal.forget(slot.batch, [slot.id]);
   */
  async forget(batch: string, ids: Iterable<string>): Promise<PendingSlot[]> {
    if (!parseBatch(batch)) throw new RangeError(`not a pending batch: ${JSON.stringify(batch)}`);
    const key = `${paths.pending}/${batch}`;
    const body = await this.#index.get(key);
    if (!body) return [];
    const drop = new Set(ids);
    const lines = decodeBatch(body);
    const kept = lines.filter((l) => !drop.has(l.slot.id));
    const gone = lines.filter((l) => drop.has(l.slot.id)).map((l) => l.slot);
    if (gone.length === 0) return [];
    if (kept.length === 0) await this.#index.delete(key);
    else await this.#index.put(key, kept.map((l) => l.text).join('\n') + '\n');
    return gone;
  }
}
