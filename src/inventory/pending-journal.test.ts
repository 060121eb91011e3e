import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsIndexStore } from './index-store/fs.ts';
import { type IndexStore } from './index-store/store.ts';
import { parseBatch, parseOpenSegment } from './names.ts';
import { PendingJournal, SEGMENT_MAX_AGE, decodeSlots, type PendingSlot } from './pending-journal.ts';

const T0 = Date.parse('2030-06-01T12:00:00Z');
let n = 0;
const slot = (over: Partial<PendingSlot> = {}): PendingSlot => {
  n++;
  return {
    id: `s${String(n).padStart(23, '0')}`,
    filename: `f${n}.bin`,
    size: 10,
    contentType: 'application/octet-stream',
    uploader: 'alice@example.org',
    issuedAt: T0 + n,
    expiresAt: T0 + n + 300_000,
    purpose: 'message',
    ...over,
  };
};

/**
 * A real index in a temp folder, whose puts can be counted, held back or failed. It offers no
 * append, like S3: the journal then writes one entry per batch.
 */
async function index() {
  const dir = await mkdtemp(join(tmpdir(), 'pending-journal-'));
  const fs = new FsIndexStore(dir);
  const puts: string[] = [];
  let hold: Promise<void> | undefined;
  let fails: (data: string) => boolean = () => false;
  const store: IndexStore = {
    async put(key, data) {
      puts.push(key);
      if (hold) await hold;
      if (fails(String(data ?? ''))) throw new Error('EIO: put failed');
      await fs.put(key, data);
    },
    get: (key) => fs.get(key),
    delete: (key) => fs.delete(key),
    list: (folder) => fs.list(folder),
  };
  return {
    dir,
    store,
    puts,
    hold(): () => void {
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      return () => {
        hold = undefined;
        release();
      };
    },
    /** Puts whose body matches fail. */
    failWhen(pred: (data: string) => boolean) {
      fails = pred;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const drainAll = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

test('without append (S3): many slots recorded concurrently, far fewer puts than slots, every slot readable', () =>
  withIndex(async (t) => {
    const journal = new PendingJournal(t.store);
    const release = t.hold();
    const first = journal.record(slot());
    await new Promise((r) => setImmediate(r)); // its put is in flight now
    const more: Promise<void>[] = [];
    const slots: PendingSlot[] = [];
    for (let wave = 0; wave < 10; wave++) {
      for (let i = 0; i < 50; i++) {
        const s = slot();
        slots.push(s);
        more.push(journal.record(s));
      }
      await new Promise((r) => setImmediate(r));
    }
    release();
    await Promise.all([first, ...more]);
    // Two puts in flight at a time: the first slot's, the first wave's; the rest queue for one more.
    assert.equal(t.puts.length, 3, `${t.puts.length} puts for 501 slots`);
    const names = await readdir(join(t.dir, 'pending'));
    assert.deepEqual(
      names.map((x) => parseBatch(x)?.count).sort((a, b) => (a ?? 0) - (b ?? 0)),
      [1, 50, 450],
    );
    const big = names.map((x) => parseBatch(x)).find((b) => b && b.count === 450);
    assert.ok(big, `a batch of 450: ${names.join(', ')}`);
    assert.equal(big.bytes, 450 * 10);
    assert.equal(big.at, Math.max(...slots.map((s) => s.issuedAt)), 'named by its newest slot');
    const read = await drainAll(journal.slots());
    assert.equal(read.length, 501);
    const byId = new Map(read.map((r) => [r.id, r]));
    for (const s of slots) {
      const r = byId.get(s.id);
      assert.ok(r, s.id);
      const { batch, ...details } = r;
      assert.deepEqual(details, s);
      assert.ok(parseBatch(batch), batch);
    }
    await journal.close(); // nothing to seal without append
    assert.equal((await readdir(join(t.dir, 'pending'))).length, 3);
  }));

test('a failed put rejects exactly the callers of that batch; the others are on record', () =>
  withIndex(async (t) => {
    const journal = new PendingJournal(t.store);
    t.failWhen((body) => body.includes('"doomed'));
    const release = t.hold();
    const a = slot();
    const pa = journal.record(a);
    await new Promise((r) => setImmediate(r)); // a's batch is in flight: the next ones queue
    const b = [slot({ filename: 'doomed1' }), slot(), slot()];
    const outcomesP = Promise.allSettled(b.map((s) => journal.record(s)));
    release();
    await pa;
    const outcomes = await outcomesP;
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected', 'rejected'],
      'the whole second batch failed',
    );
    assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /EIO/);
    const c = slot();
    await journal.record(c);
    const ids = (await drainAll(journal.slots())).map((s) => s.id).sort();
    assert.deepEqual(ids, [a.id, c.id].sort());
  }));

test('without append (S3): forget adds tombstones that hide the slots; the batch stays as written', () =>
  withIndex(async (t) => {
    const journal = new PendingJournal(t.store);
    const [a, b, c] = [slot(), slot(), slot()];
    await Promise.all([a, b, c].map((s) => journal.record(s)));
    const [name] = await readdir(join(t.dir, 'pending'));
    assert.ok(name);
    const body = await readFile(join(t.dir, 'pending', name));
    await journal.forget([b]);
    assert.deepEqual((await drainAll(journal.slots())).map((s) => s.id).sort(), [a.id, c.id].sort());
    assert.deepEqual(await readdir(join(t.dir, 'pending-forgotten')), [
      `${String(b.expiresAt).padStart(13, '0')}.${b.id}`,
    ]);
    await journal.forget([a, c, b]); // forgetting again is harmless
    assert.deepEqual(await drainAll(journal.slots()), []);
    assert.deepEqual(await readdir(join(t.dir, 'pending')), [name], 'the batch is untouched');
    assert.deepEqual(await readFile(join(t.dir, 'pending', name)), body);
    await assert.rejects(journal.forget([{ id: '../x', expiresAt: 1 }]), RangeError);
  }));

test('damaged lines and foreign entries are skipped, not misread', () =>
  withIndex(async (t) => {
    const journal = new PendingJournal(t.store);
    const good = slot();
    await t.store.put(
      `pending/${String(T0).padStart(13, '0')}.bAtch1.20.3`,
      `${JSON.stringify(good)}\n{"id":\nnull\n{"id":"x"}\n`,
    );
    await t.store.put('pending/not-a-batch', JSON.stringify(slot()));
    assert.deepEqual(
      (await drainAll(journal.slots())).map((s) => s.id),
      [good.id],
    );
  }));

/** A real folder index with append, whose appends can be counted or failed. */
async function folder() {
  const dir = await mkdtemp(join(tmpdir(), 'pending-segments-'));
  const fs = new FsIndexStore(dir);
  const appends: string[] = [];
  let fails: (data: string) => boolean = () => false;
  let beforeGet: (key: string) => Promise<void> = async () => {};
  const store: IndexStore = {
    put: (key, data) => fs.put(key, data),
    get: async (key) => {
      await beforeGet(key);
      return fs.get(key);
    },
    delete: (key) => fs.delete(key),
    list: (folder) => fs.list(folder),
    async append(key, data) {
      appends.push(key);
      const text = Buffer.from(data).toString();
      if (fails(text)) {
        // A torn write: part of the data made it before the failure.
        await fs.append(key, data.subarray(0, Math.floor(data.length / 2)));
        throw new Error('ENOSPC: append failed');
      }
      await fs.append(key, data);
    },
    closeAppend: (key) => fs.closeAppend(key),
    rename: (from, to) => fs.rename(from, to),
  };
  return {
    dir,
    fs,
    store,
    appends,
    ls: () => readdir(join(dir, 'pending')).catch(() => [] as string[]),
    failWhen(pred: (data: string) => boolean) {
      fails = pred;
    },
    onGet(fn: (key: string) => Promise<void>) {
      beforeGet = fn;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Runs `fn` with a fresh index without append (S3's shape), removed after. */
async function withIndex(fn: (t: Awaited<ReturnType<typeof index>>) => Promise<void>): Promise<void> {
  const t = await index();
  try {
    await fn(t);
  } finally {
    await t.cleanup();
  }
}

/** Runs `fn` with a fresh index folder (append and rename), removed after. */
async function withFolder(fn: (t: Awaited<ReturnType<typeof folder>>) => Promise<void>): Promise<void> {
  const t = await folder();
  try {
    await fn(t);
  } finally {
    await t.cleanup();
  }
}

const t13 = (ms: number): string => String(ms).padStart(13, '0');

test('with append (a folder): slots recorded in waves go into one open segment file, every one readable', () =>
  withFolder(async (t) => {
    const journal = new PendingJournal(t.store, { now: () => T0 });
    const slots: PendingSlot[] = [];
    const records: Promise<void>[] = [];
    for (let wave = 0; wave < 20; wave++) {
      for (let i = 0; i < 25; i++) {
        const s = slot({ issuedAt: T0 + wave, expiresAt: T0 + wave + 300_000 });
        slots.push(s);
        records.push(journal.record(s));
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(records);
    assert.ok(t.appends.length >= 2, `${t.appends.length} appends: several batches`);
    const names = await t.ls();
    assert.equal(names.length, 1, `one file for ${t.appends.length} batches: ${names.join(', ')}`);
    const seg = parseOpenSegment(names[0] as string);
    assert.ok(seg, names[0]);
    assert.equal(seg.firstAt, T0, 'named by the newest slot of its first batch');
    assert.deepEqual(await readdir(t.dir), ['pending'], 'no other file anywhere in the index');
    const read = await drainAll(journal.slots());
    assert.equal(read.length, slots.length);
    const byId = new Map(read.map((r) => [r.id, r]));
    for (const s of slots) {
      const { batch, ...details } = byId.get(s.id) ?? assert.fail(s.id);
      assert.deepEqual(details, s);
      assert.equal(batch, names[0]);
    }
  }));

test('with append: a segment is sealed under the batch name once 5 s old (by the clock or by its slots) or past 1 MiB', () =>
  withFolder(async (t) => {
    let clock = T0;
    const journal = new PendingJournal(t.store, { now: () => clock });
    const a = slot({ issuedAt: T0, size: 10 });
    await journal.record(a);
    const [first] = await t.ls();
    const seg1 = parseOpenSegment(first ?? '');
    assert.ok(seg1, first);
    clock = T0 + 1000;
    const [b, c] = [slot({ issuedAt: T0 + 1000, size: 20 }), slot({ issuedAt: T0 + 1200, size: 30 })];
    await Promise.all([b, c].map((s) => journal.record(s)));
    assert.deepEqual(await t.ls(), [first], 'younger than 5 s: same segment');

    // By the clock: the new slot itself is recent enough, the segment is not.
    clock = T0 + SEGMENT_MAX_AGE;
    const d = slot({ issuedAt: T0 + 1500, size: 40 });
    await journal.record(d);
    const sealed1 = `${t13(T0 + 1200)}.${seg1.id}.60.3`;
    const names = (await t.ls()).sort();
    assert.equal(names.length, 2, names.join(', '));
    assert.ok(names.includes(sealed1), `sealed as newest issuedAt.id.bytes.count: ${names.join(', ')}`);
    assert.deepEqual(parseBatch(sealed1), { at: T0 + 1200, id: seg1.id, bytes: 60, count: 3 });
    assert.deepEqual(
      decodeSlots(await readFile(join(t.dir, 'pending', sealed1))).map((s) => s.id),
      [a.id, b.id, c.id],
    );
    const open2 = names.find((n) => parseOpenSegment(n)) ?? assert.fail('a new open segment');
    const seg2 = parseOpenSegment(open2);
    assert.equal(seg2?.firstAt, T0 + 1500);
    assert.notEqual(seg2?.id, seg1.id);

    // By its slots, with the clock standing still: a slot issued 5 s after firstAt goes elsewhere.
    const e = slot({ issuedAt: T0 + 1500 + SEGMENT_MAX_AGE, size: 50 });
    await journal.record(e);
    assert.ok((await t.ls()).includes(`${t13(T0 + 1500)}.${seg2?.id}.40.1`));

    // By size: 200 KiB lines, one at a time; the sixth would take the segment past 1 MiB.
    const before = new Set(await t.ls());
    const big = Array.from({ length: 6 }, () =>
      slot({ issuedAt: T0 + 1500 + SEGMENT_MAX_AGE, size: 1, filename: 'f'.repeat(200 * 1024) }),
    );
    for (const s of big) await journal.record(s);
    const added = (await t.ls()).filter((n) => !before.has(n));
    assert.equal(added.length, 2, added.join(', '));
    assert.deepEqual(
      added.map((n) => parseBatch(n)?.count).sort(),
      [6, undefined],
      'e and five big slots sealed, the sixth in a new segment',
    );

    const all = await drainAll(journal.slots());
    assert.deepEqual(
      all.map((s) => s.id).sort(),
      [a, b, c, d, e, ...big].map((s) => s.id).sort(),
      'sealed and open alike are read',
    );
    await journal.close();
  }));

test('with append: a partial last line (a write in progress) is skipped and hides nothing before it', () =>
  withFolder(async (t) => {
    const journal = new PendingJournal(t.store, { now: () => T0 });
    const [a, b] = [slot(), slot()];
    await journal.record(a);
    await journal.record(b);
    const [open] = await t.ls();
    assert.ok(open && parseOpenSegment(open));
    await t.fs.append(`pending/${open}`, Buffer.from(JSON.stringify(slot()).slice(0, 60)));
    assert.deepEqual(
      (await drainAll(journal.slots())).map((s) => s.id),
      [a.id, b.id],
    );
    // Also a complete-looking line without its newline: still an unfinished write.
    const whole = Buffer.from(`${JSON.stringify(a)}\n${JSON.stringify(b)}`);
    assert.deepEqual(
      decodeSlots(whole).map((s) => s.id),
      [a.id],
    );
    assert.deepEqual(decodeSlots(Buffer.from('{"id":')), []);
    await t.fs.closeAppend(`pending/${open}`);
  }));

test('with append: a failed append fails its batch only, and its segment takes no more batches', () =>
  withFolder(async (t) => {
    const journal = new PendingJournal(t.store, { now: () => T0 });
    const a = slot({ size: 7 });
    await journal.record(a);
    const [open1] = await t.ls();
    t.failWhen((data) => data.includes('"doomed'));
    await assert.rejects(journal.record(slot({ filename: 'doomed' })), /ENOSPC/);
    t.failWhen(() => false);
    const c = slot();
    await journal.record(c);
    const names = await t.ls();
    assert.equal(names.length, 2, names.join(', '));
    assert.ok(!names.includes(open1 as string), 'the damaged segment was sealed');
    const sealed = names.map((n) => parseBatch(n)).find(Boolean);
    assert.deepEqual(
      sealed && { bytes: sealed.bytes, count: sealed.count },
      { bytes: 7, count: 1 },
      'the failed batch is not counted',
    );
    assert.deepEqual(
      (await drainAll(journal.slots())).map((s) => s.id).sort(),
      [a.id, c.id].sort(),
      'the torn line is skipped; c is whole in its own segment',
    );
    await journal.close();
  }));

test('with append: close() waits for records under way, seals the segment and closes its descriptor', () =>
  withFolder(async (t) => {
    const journal = new PendingJournal(t.store, { now: () => T0 });
    const [a, b] = [slot({ size: 3 }), slot({ size: 4 })];
    const recorded = Promise.all([a, b].map((s) => journal.record(s)));
    await journal.close();
    await recorded;
    const names = await t.ls();
    assert.equal(names.length, 1);
    assert.deepEqual(parseBatch(names[0] as string), {
      at: b.issuedAt,
      id: parseBatch(names[0] as string)?.id,
      bytes: 7,
      count: 2,
    });
    const openFds = (await readdir('/proc/self/fd')).map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    });
    assert.ok(!openFds.some((p) => p.startsWith(t.dir)), 'no descriptor left on the index');
    await journal.close(); // nothing open: a no-op
    const c = slot();
    await journal.record(c);
    assert.equal(
      (await t.ls()).filter((n) => parseOpenSegment(n)).length,
      1,
      'a record after close starts a new segment',
    );
    await journal.close();
    assert.deepEqual((await t.ls()).map((n) => parseBatch(n)?.count).sort(), [1, 2]);
  }));

test('with append: forgetting leaves the open segment alone, so slots recorded after still show', () =>
  withFolder(async (t) => {
    const journal = new PendingJournal(t.store, { now: () => T0 });
    const [a, b, c] = [slot(), slot(), slot()];
    await Promise.all([a, b, c].map((s) => journal.record(s)));
    const [open] = await t.ls();
    assert.ok(open && parseOpenSegment(open));
    const body = await readFile(join(t.dir, 'pending', open));
    await journal.forget([b]);
    assert.deepEqual(await t.ls(), [open]);
    assert.deepEqual(await readFile(join(t.dir, 'pending', open)), body, 'the segment is not rewritten');
    assert.deepEqual(
      (await drainAll(journal.slots())).map((s) => s.id),
      [a.id, c.id],
    );
    const d = slot();
    await journal.record(d); // still appending to the file readers see
    assert.deepEqual(
      (await drainAll(journal.slots())).map((s) => s.id),
      [a.id, c.id, d.id],
    );
    await journal.close();
  }));

test('with append: a segment sealed while a reader lists it is read under its sealed name, once', () =>
  withFolder(async (t) => {
    const journal = new PendingJournal(t.store, { now: () => T0 });
    const [a, b] = [slot(), slot()];
    await journal.record(a);
    await journal.record(b);
    let sealedDuringRead = false;
    t.onGet(async (key) => {
      if (!key.endsWith('.open') || sealedDuringRead) return;
      sealedDuringRead = true;
      await journal.close(); // renamed between the listing and this read
    });
    assert.deepEqual(
      (await drainAll(journal.slots())).map((s) => s.id),
      [a.id, b.id],
    );
    assert.ok(sealedDuringRead);
    assert.ok(parseBatch((await t.ls())[0] as string));
  }));
