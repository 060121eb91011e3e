import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from './group-commit.ts';

/** A write that waits until released, so a test decides when the storage "finishes". */
function gatedWrites<T>() {
  const batches: T[][] = [];
  const gates: Array<() => void> = [];
  const write = (items: T[]): Promise<void> => {
    batches.push([...items]);
    return new Promise<void>((resolve) => gates.push(resolve));
  };
  const releaseNext = async (): Promise<void> => {
    for (let i = 0; i < 100 && gates.length === 0; i++) await new Promise((r) => setImmediate(r));
    const g = gates.shift();
    assert.ok(g, 'a write was started');
    g();
  };
  return { batches, write, releaseNext };
}

test('records added while a write is in flight go out together as the next single write', async () => {
  const w = gatedWrites<number>();
  const gc = new GroupCommit<number>({ write: w.write });
  const first = gc.add(0);
  await new Promise((r) => setImmediate(r)); // the first write is now in flight
  assert.deepEqual(w.batches, [[0]]);
  const rest = Array.from({ length: 99 }, (_, i) => gc.add(i + 1));
  assert.equal(gc.queued, 99);
  let firstDone = false;
  void first.then(() => (firstDone = true));
  await w.releaseNext();
  await first;
  assert.ok(firstDone);
  await w.releaseNext();
  await Promise.all(rest);
  assert.equal(w.batches.length, 2, '100 records, 2 writes');
  assert.deepEqual(
    w.batches[1],
    Array.from({ length: 99 }, (_, i) => i + 1),
    'in order',
  );
});

test('records added together share one write; a caller resolves only after its write', async () => {
  const w = gatedWrites<string>();
  const gc = new GroupCommit<string>({ write: w.write });
  let resolved = 0;
  const all = ['a', 'b', 'c'].map((x) => gc.add(x).then(() => resolved++));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(w.batches, [['a', 'b', 'c']]);
  assert.equal(resolved, 0, 'not before the write finished');
  await w.releaseNext();
  await Promise.all(all);
  assert.equal(resolved, 3);
});

test('batches respect maxItems and maxBytes; a record larger than maxBytes still goes, alone', async () => {
  const sizes: number[][] = [];
  const gc = new GroupCommit<number>({
    maxItems: 10,
    maxBytes: 100,
    sizeOf: (n) => n,
    write: async (items) => void sizes.push(items),
  });
  await Promise.all([...Array.from({ length: 25 }, () => gc.add(1)), gc.add(500), gc.add(60), gc.add(60)]);
  assert.deepEqual(
    sizes.map((b) => b.length),
    [10, 10, 5, 1, 1, 1],
  );
  assert.deepEqual(sizes.slice(3), [[500], [60], [60]]);
});

test('a failed write rejects exactly the callers of that batch; later batches go on', async () => {
  let call = 0;
  const gc = new GroupCommit<string>({
    write: async () => {
      call++;
      await new Promise((r) => setImmediate(r));
      if (call === 2) throw new Error('disk full');
    },
  });
  const a = gc.add('a'); // batch 1
  await new Promise((r) => setImmediate(r));
  const b = [gc.add('b1'), gc.add('b2')]; // batch 2 (queued while 1 is in flight)
  const outcomes = await Promise.allSettled([a, ...b]);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['fulfilled', 'rejected', 'rejected'],
  );
  assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /disk full/);
  await gc.add('c'); // batch 3 succeeds
  assert.equal(call, 3);
});

test('with concurrency 2 a second batch starts while the first is still being written', async () => {
  const w = gatedWrites<number>();
  const gc = new GroupCommit<number>({ write: w.write, concurrency: 2 });
  const first = gc.add(1);
  await new Promise((r) => setImmediate(r));
  const second = [gc.add(2), gc.add(3)];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(w.batches, [[1], [2, 3]], 'two writes in flight');
  const third = gc.add(4);
  await new Promise((r) => setImmediate(r));
  assert.equal(w.batches.length, 2, 'no third write while two are in flight');
  await w.releaseNext();
  await first;
  await w.releaseNext();
  await Promise.all(second);
  await w.releaseNext();
  await third;
  assert.deepEqual(w.batches, [[1], [2, 3], [4]]);
});

test('idle() resolves once everything added so far is written, failed writes included', async () => {
  const w = gatedWrites<number>();
  const gc = new GroupCommit<number>({ write: w.write });
  await gc.idle(); // nothing to wait for
  const first = gc.add(1);
  await new Promise((r) => setImmediate(r));
  const second = gc.add(2);
  let idle = false;
  const waiting = gc.idle().then(() => (idle = true));
  await w.releaseNext();
  await first;
  await new Promise((r) => setImmediate(r));
  assert.equal(idle, false, 'the second record is still being written');
  await w.releaseNext();
  await second;
  await waiting;
  assert.equal(idle, true);
});
