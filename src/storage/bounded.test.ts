import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mapBounded } from './bounded.ts';

/** A promise with its resolve and reject, to finish calls in an order the test picks. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('mapBounded', () => {
  test('yields every result once, in the order the calls finish', async () => {
    const calls = new Map<number, ReturnType<typeof deferred<string>>>();
    const out: string[] = [];
    const done = (async () => {
      for await (const r of mapBounded([1, 2, 3, 4], 4, (n) => {
        const d = deferred<string>();
        calls.set(n, d);
        return d.promise;
      }))
        out.push(r);
    })();
    await tick();
    assert.deepEqual([...calls.keys()], [1, 2, 3, 4], 'all four run at once');
    for (const n of [3, 1, 4, 2]) {
      calls.get(n)?.resolve(`r${n}`);
      await tick();
    }
    await done;
    assert.deepEqual(out, ['r3', 'r1', 'r4', 'r2']);
  });

  test('never has more than `limit` items pulled and not yet taken, whatever the consumer does', async () => {
    let pulled = 0;
    let taken = 0;
    let running = 0;
    let maxRunning = 0;
    let maxAhead = 0;
    async function* source(): AsyncGenerator<number> {
      for (let i = 0; i < 200; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - taken);
        yield i;
      }
    }
    const seen = new Set<number>();
    for await (const n of mapBounded(source(), 8, async (i) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      // Uneven finishing: some calls take several turns of the event loop.
      for (let k = 0; k < i % 5; k++) await tick();
      running--;
      return i;
    })) {
      taken++;
      seen.add(n);
      if (n % 7 === 0) await tick(); // a consumer that is slow now and then
    }
    assert.equal(seen.size, 200);
    assert.ok(maxRunning <= 8, `at most 8 calls ran at once (saw ${maxRunning})`);
    assert.ok(maxRunning > 1, 'calls did overlap');
    assert.ok(maxAhead <= 8, `the source ran at most 8 ahead of the consumer (saw ${maxAhead})`);
  });

  test('a failing call ends the stream with its error after the running calls settle; no more items are pulled', async () => {
    let pulled = 0;
    let settled = 0;
    async function* source(): AsyncGenerator<number> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield i;
      }
    }
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const n of mapBounded(source(), 4, async (i) => {
          await tick();
          if (i === 10) throw new Error('bad header 10');
          await tick();
          settled++;
          return i;
        }))
          got.push(n);
      })(),
      /bad header 10/,
    );
    assert.ok(pulled <= 10 + 4 + 1, `stopped pulling soon after the failure (pulled ${pulled})`);
    assert.equal(settled, pulled - 1, 'every other call had settled before the error came out');
    assert.ok(!got.includes(10));
  });

  test('a call that throws at once and a failing source both come out as the stream error', async () => {
    await assert.rejects(
      (async () => {
        for await (const _ of mapBounded([1, 2], 2, (): Promise<number> => {
          throw new TypeError('sync');
        }));
      })(),
      TypeError,
    );
    async function* broken(): AsyncGenerator<number> {
      yield 1;
      throw new Error('readdir failed');
    }
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const n of mapBounded(broken(), 4, async (i) => i)) got.push(n);
      })(),
      /readdir failed/,
    );
  });

  test('breaking out early closes the source and waits for the running calls', async () => {
    let closed = false;
    let running = 0;
    async function* source(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const n of mapBounded(source(), 4, async (i) => {
      running++;
      await tick();
      running--;
      return i;
    })) {
      if (n >= 2) break;
    }
    assert.equal(closed, true);
    assert.equal(running, 0);
  });

  test('refuses a limit below 1', async () => {
    await assert.rejects(mapBounded([1], 0, async (i) => i).next(), RangeError);
  });
});
