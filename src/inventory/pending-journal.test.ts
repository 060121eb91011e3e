import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsIndexStore, type IndexStore } from './index-store.ts';
import { parseBatch } from './names.ts';
import { PendingJournal, type PendingSlot } from './pending-journal.ts';

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

/** A real index in a temp folder, whose puts can be counted, held back or failed. */
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

test('many slots recorded concurrently: far fewer puts than slots, every slot readable afterwards', async () => {
  const t = await index();
  try {
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
    assert.equal(t.puts.length, 2, `${t.puts.length} puts for 501 slots`);
    const names = await readdir(join(t.dir, 'pending'));
    assert.equal(names.length, 2);
    const big = names.map((x) => parseBatch(x)).find((b) => b && b.count === 500);
    assert.ok(big, `a batch of 500: ${names.join(', ')}`);
    assert.equal(big.bytes, 500 * 10);
    assert.equal(big.at, Math.max(...slots.map((s) => s.issuedAt)), 'named by its newest slot');
    const read = await drainAll(journal.slots());
    assert.equal(read.length, 501);
    const byId = new Map(read.map((r) => [r.id, r]));
    for (const s of slots) {
      const r = byId.get(s.id);
      assert.ok(r, s.id);
      const { batch, ...details } = r;
      assert.deepEqual(details, s);
      assert.equal(parseBatch(batch)?.id, big.id);
    }
  } finally {
    await t.cleanup();
  }
});

test('a failed put rejects exactly the callers of that batch; the others are on record', async () => {
  const t = await index();
  try {
    const journal = new PendingJournal(t.store);
    t.failWhen((body) => body.includes('"doomed'));
    const release = t.hold();
    const a = slot();
    const pa = journal.record(a);
    await new Promise((r) => setImmediate(r)); // a's batch is in flight: the next ones queue
    const b = [slot({ filename: 'doomed1' }), slot(), slot()];
    const pb = b.map((s) => journal.record(s));
    release();
    await pa;
    const outcomes = await Promise.allSettled(pb);
    assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected'], 'the whole second batch failed');
    assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /EIO/);
    const c = slot();
    await journal.record(c);
    const ids = (await drainAll(journal.slots())).map((s) => s.id).sort();
    assert.deepEqual(ids, [a.id, c.id].sort());
  } finally {
    await t.cleanup();
  }
});

test('forget rewrites the batch without the forgotten slots, and deletes it when none is left', async () => {
  const t = await index();
  try {
    const journal = new PendingJournal(t.store);
    const [a, b, c] = [slot(), slot(), slot()];
    await Promise.all([a, b, c].map((s) => journal.record(s)));
    const [name] = await readdir(join(t.dir, 'pending'));
    assert.ok(name);
    assert.deepEqual((await journal.forget(name, [b.id, 'not-there'])).map((s) => s.id), [b.id]);
    assert.deepEqual(await readdir(join(t.dir, 'pending')), [name], 'same entry, rewritten');
    assert.equal((await readFile(join(t.dir, 'pending', name), 'utf8')).split('\n').filter(Boolean).length, 2);
    assert.deepEqual((await drainAll(journal.slots())).map((s) => s.id).sort(), [a.id, c.id].sort());
    assert.deepEqual(await journal.forget(name, ['not-there']), [], 'nothing found: nothing written');
    assert.deepEqual((await journal.forget(name, [a.id, c.id])).map((s) => s.id).sort(), [a.id, c.id].sort());
    assert.deepEqual(await readdir(join(t.dir, 'pending')), [], 'empty batch deleted');
    assert.deepEqual(await journal.forget(name, [a.id]), [], 'a batch already gone');
    await assert.rejects(journal.forget('../x', [a.id]), RangeError);
  } finally {
    await t.cleanup();
  }
});

test('damaged lines and foreign entries are skipped, not misread', async () => {
  const t = await index();
  try {
    const journal = new PendingJournal(t.store);
    const good = slot();
    await t.store.put(`pending/${String(T0).padStart(13, '0')}.bAtch1.20.3`, `${JSON.stringify(good)}\n{"id":\nnull\n{"id":"x"}\n`);
    await t.store.put('pending/not-a-batch', JSON.stringify(slot()));
    assert.deepEqual((await drainAll(journal.slots())).map((s) => s.id), [good.id]);
  } finally {
    await t.cleanup();
  }
});
