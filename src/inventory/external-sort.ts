/**
 * Sorting more lines than should sit in memory: an external merge sort over temp files.
 *
 * Records are (key, line) pairs; keys are printable ASCII compared as strings (make them
 * fixed-width, e.g. zero-padded times), lines are opaque text without newlines (JSON). Records are packed into one
 * off-heap Buffer (the "arena", 4 MiB) rather than kept as JS strings: thousands of long-lived
 * strings would make V8 grow its young generation with the input size, and peak RSS with it.
 * When the arena is full it is sorted (an index permutation, keys compared in place) and written
 * to a run file; at the end the runs are merged with a heap (in rounds of at most `fanIn` files,
 * so the number of open files stays bounded too). Memory: one arena + `fanIn` read buffers,
 * whatever the input size. With a small `limit` (≤ 1024) only the best `limit` records are kept
 * and no file is written. Temp files live in a private folder removed when the output ends (or
 * the consumer stops early).
 */
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExternalSortOptions {
  /** Records per run at most (default 65536). */
  chunkSize?: number;
  /** Bytes of the in-memory arena (default 8 MiB); a run ends when it is full. */
  arenaBytes?: number;
  /** Runs merged at once (default 128). */
  fanIn?: number;
  /** Output only the first `limit` lines. */
  limit?: number;
  /** Where the private temp folder goes (default os.tmpdir()). */
  tmpDir?: string;
}

type Rec = [key: string, line: string];
// Keys are ASCII (checked), so JS string order and the arena's byte order agree.
const cmp = (a: Rec, b: Rec): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
const BAD_KEY = /[^\x20-\x7e]/;
/** Largest `limit` answered by an in-memory top-k instead of a full sort. */
const TOP_K_MAX = 1024;
const TAB = 0x09;

/**
 * Six bytes of an ASCII key from `at`, as one number (exact: 48 bits); missing bytes count as 0,
 * below every printable character, so a shorter key still sorts first.
 */
function packed(key: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + 6; i++) n = n * 256 + (i < key.length ? key.charCodeAt(i) : 0);
  return n;
}

/** Records packed as `key\tline\n` bytes in one Buffer, with their offsets. */
class Arena {
  readonly buf: Buffer;
  readonly starts: Uint32Array;
  readonly keyEnds: Uint32Array;
  readonly ends: Uint32Array;
  /** The key's first 12 bytes as two 48-bit numbers (0-padded): most comparisons end there. */
  readonly high: Float64Array;
  readonly low: Float64Array;
  count = 0;
  used = 0;
  constructor(bytes: number, records: number) {
    this.buf = Buffer.allocUnsafe(bytes);
    this.starts = new Uint32Array(records);
    this.keyEnds = new Uint32Array(records);
    this.ends = new Uint32Array(records);
    this.high = new Float64Array(records);
    this.low = new Float64Array(records);
  }
  /** False when the record does not fit (the caller spills and retries). */
  add(key: string, line: string): boolean {
    if (this.count === this.starts.length) return false;
    const need = Buffer.byteLength(key) + Buffer.byteLength(line) + 2;
    if (this.used + need > this.buf.length) return false;
    const start = this.used;
    const keyEnd = start + this.buf.write(key, start);
    this.buf[keyEnd] = TAB;
    const end = keyEnd + 1 + this.buf.write(line, keyEnd + 1);
    this.buf[end] = 0x0a;
    this.starts[this.count] = start;
    this.keyEnds[this.count] = keyEnd;
    this.ends[this.count] = end;
    this.high[this.count] = packed(key, 0);
    this.low[this.count] = packed(key, 6);
    this.count++;
    this.used = end + 1;
    return true;
  }
  /** Record indices in key order. */
  order(): Uint32Array {
    const idx = new Uint32Array(this.count);
    for (let i = 0; i < idx.length; i++) idx[i] = i;
    const { buf, starts, keyEnds, high, low } = this;
    return idx.sort(
      (a, b) =>
        (high[a] as number) - (high[b] as number) ||
        (low[a] as number) - (low[b] as number) ||
        buf.compare(buf, starts[b] as number, keyEnds[b] as number, starts[a] as number, keyEnds[a] as number),
    );
  }
  /** The line of record i. */
  line(i: number): string {
    return this.buf.toString('utf8', (this.keyEnds[i] as number) + 1, this.ends[i] as number);
  }
  /** The sorted records as file content (`key\tline\n` each). */
  sortedBytes(): Buffer {
    const out = Buffer.allocUnsafe(this.used);
    let at = 0;
    for (const i of this.order()) at += this.buf.copy(out, at, this.starts[i] as number, (this.ends[i] as number) + 1);
    return out.subarray(0, at);
  }
  clear(): void {
    this.count = 0;
    this.used = 0;
  }
}

/**
 * Yields the lines of `records` in ascending key order.
 *
 * @example
 * for await (const line of externalSort(rows(), { limit: 100 })) process.stdout.write(line + '\n');
 */
export async function* externalSort(
  records: AsyncIterable<Rec>,
  options: ExternalSortOptions = {},
): AsyncGenerator<string> {
  for await (const batch of externalSortBatches(records, options)) yield* batch;
}

/** Lines per batch of externalSortBatches. */
const BATCH = 256;

/**
 * externalSort's lines in batches (arrays of up to 256, in order): a million lines one by one
 * cost a promise each at every generator they pass through.
 *
 * @example
 * for await (const lines of externalSortBatches(rows())) process.stdout.write(lines.join('\n') + '\n');
 */
export async function* externalSortBatches(
  records: AsyncIterable<Rec>,
  options: ExternalSortOptions = {},
): AsyncGenerator<string[]> {
  // A million listing rows make ~40 runs: one merge round, straight into the output.
  const chunkSize = Math.max(2, options.chunkSize ?? 65_536);
  const arenaBytes = Math.max(1024, options.arenaBytes ?? 8 * 1024 * 1024);
  const fanIn = Math.max(2, options.fanIn ?? 128);
  const limit = options.limit ?? Infinity;
  if (limit <= 0) return;

  if (limit <= TOP_K_MAX) {
    // Top-k: keep at most 2·limit, trimming back to limit whenever full.
    let best: Rec[] = [];
    for await (const r of records) {
      best.push(r);
      if (best.length >= 2 * limit) best = best.sort(cmp).slice(0, limit);
    }
    const lines = best
      .sort(cmp)
      .slice(0, limit)
      .map((r) => r[1]);
    for (let i = 0; i < lines.length; i += BATCH) yield lines.slice(i, i + BATCH);
    return;
  }

  let dir: string | undefined;
  try {
    const runs: string[] = [];
    const arena = new Arena(arenaBytes, chunkSize);
    const spill = async (): Promise<void> => {
      // mkdtemp makes a 0700 folder; the runs hold index lines (ids, uploaders): 0600 as well.
      dir ??= await mkdtemp(join(options.tmpDir ?? tmpdir(), 'fileupload-sort-'));
      const file = join(dir, `run-${runs.length}`);
      await writeFile(file, arena.sortedBytes(), { mode: RUN_MODE });
      runs.push(file);
      arena.clear();
    };
    for await (const [key, line] of records) {
      if (BAD_KEY.test(key) || line.includes('\n'))
        throw new RangeError('keys must be printable ASCII, lines without newlines');
      if (arena.add(key, line)) continue;
      if (arena.count === 0)
        throw new RangeError(`a record of ${Buffer.byteLength(line)} bytes does not fit the sort arena`);
      await spill();
      if (!arena.add(key, line))
        throw new RangeError(`a record of ${Buffer.byteLength(line)} bytes does not fit the sort arena`);
    }
    if (runs.length === 0) {
      const order = arena.order();
      const n = Math.min(order.length, limit);
      for (let at = 0; at < n; at += BATCH) {
        const lines: string[] = [];
        for (let i = at; i < Math.min(n, at + BATCH); i++) lines.push(arena.line(order[i] as number));
        yield lines;
      }
      return;
    }
    if (arena.count > 0) await spill();
    // Merge rounds until few enough runs remain to merge into the output directly.
    let level = 0;
    while (runs.length > fanIn) {
      const next: string[] = [];
      for (let i = 0; i < runs.length; i += fanIn) {
        const file = join(dir as string, `merge-${level}-${i}`);
        await writeRunFrom(file, merge(runs.slice(i, i + fanIn)));
        next.push(file);
      }
      for (const f of runs) await rm(f, { force: true });
      runs.splice(0, runs.length, ...next);
      level++;
    }
    let left = limit;
    for await (const recs of merge(runs)) {
      const lines = recs.length <= left ? recs.map((r) => r[1]) : recs.slice(0, left).map((r) => r[1]);
      left -= lines.length;
      if (lines.length > 0) yield lines;
      if (left <= 0) return;
    }
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** Mode of the sorted runs spilled to disk (before the umask). */
const RUN_MODE = 0o600;

async function writeRunFrom(file: string, recs: AsyncIterable<Rec[]>): Promise<void> {
  const out = createWriteStream(file, { mode: RUN_MODE });
  try {
    for await (const batch of recs) {
      let text = '';
      for (const [k, line] of batch) text += `${k}\t${line}\n`;
      if (!out.write(text)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
}

/**
 * Reads a run lazily, one record per next(): the bytes stay in one off-heap buffer per run and a
 * line becomes a string only when the merge asks for it (readline would queue up to a thousand
 * lines per run as strings, which the young generation then has to carry). next() returns a
 * promise only when the buffer must be refilled (once per 64 KiB): a promise per record is a
 * large share of a million-row merge.
 */
class RunReader {
  key = '';
  line = '';
  #buf = Buffer.allocUnsafe(64 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;
  readonly #fh: FileHandle;
  private constructor(fh: FileHandle) {
    this.#fh = fh;
  }
  static async open(file: string): Promise<RunReader> {
    return new RunReader(await open(file, 'r'));
  }
  /** Moves to the next record (key, line); false at the end of the run. */
  next(): boolean | Promise<boolean> {
    const buf = this.#buf;
    const nl = buf.indexOf(0x0a, this.#start);
    if (nl !== -1 && nl < this.#end) {
      const tab = buf.indexOf(TAB, this.#start);
      this.key = buf.toString('latin1', this.#start, tab);
      this.line = buf.toString('utf8', tab + 1, nl);
      this.#start = nl + 1;
      return true;
    }
    if (this.#eof) return false;
    return this.#fill().then(() => this.next());
  }
  async #fill(): Promise<void> {
    // Keep the partial line, make room (growing only for a line longer than the buffer).
    if (this.#start > 0) {
      this.#buf.copy(this.#buf, 0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(bigger, 0, 0, this.#end);
      this.#buf = bigger;
    }
    const { bytesRead } = await this.#fh.read(this.#buf, this.#end, this.#buf.length - this.#end, null);
    if (bytesRead === 0) this.#eof = true;
    this.#end += bytesRead;
  }
  close(): Promise<void> {
    return this.#fh.close();
  }
}

/** k-way merge of sorted runs with a binary min-heap of their readers, in batches of BATCH records. */
async function* merge(files: string[]): AsyncGenerator<Rec[]> {
  const readers: RunReader[] = [];
  const heap: RunReader[] = [];
  const less = (a: number, b: number): boolean => (heap[a] as RunReader).key < (heap[b] as RunReader).key;
  const swap = (a: number, b: number): void => {
    const t = heap[a] as RunReader;
    heap[a] = heap[b] as RunReader;
    heap[b] = t;
  };
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(l, m)) m = l;
      if (r < heap.length && less(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  try {
    for (const f of files) {
      const reader = await RunReader.open(f);
      readers.push(reader);
      if (await reader.next()) {
        heap.push(reader);
        up(heap.length - 1);
      }
    }
    let batch: Rec[] = [];
    while (heap.length > 0) {
      const top = heap[0] as RunReader;
      batch.push([top.key, top.line]);
      if (batch.length === BATCH) {
        yield batch;
        batch = [];
      }
      let more = top.next();
      if (typeof more !== 'boolean') more = await more;
      if (more) down(0);
      else {
        const last = heap.pop() as RunReader;
        if (heap.length > 0) {
          heap[0] = last;
          down(0);
        }
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    for (const r of readers) await r.close();
  }
}
