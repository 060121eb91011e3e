import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateWindow } from './rates.ts';

/** A clock the test moves by hand. */
function clock(start = 1_000_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('perSecond averages the last complete seconds, not the running one', () => {
  const c = clock();
  const w = new RateWindow(60, c.now);
  c.advance(20_000); // the window is older than the averaging span
  for (let i = 0; i < 10; i++) {
    w.add(100);
    c.advance(1000);
  }
  assert.equal(w.perSecond(10), 100);
  w.add(5000); // the running second does not count yet
  assert.equal(w.perSecond(10), 100);
  c.advance(1000);
  assert.equal(w.perSecond(10), (9 * 100 + 5000) / 10);
});

test('a young window averages over its own age', () => {
  const c = clock();
  const w = new RateWindow(60, c.now);
  w.add(30);
  c.advance(2000);
  assert.equal(w.perSecond(10), 15);
});

test('old seconds fall out of the window: buckets are reused, memory stays fixed', () => {
  const c = clock();
  const w = new RateWindow(10, c.now);
  w.add(1000);
  c.advance(30_000);
  assert.equal(w.perSecond(5), 0);
  assert.deepEqual(w.history(1, 5), [0, 0, 0, 0, 0]);
  // A bucket index seen before, a different second: it starts from zero.
  w.add(7);
  c.advance(1000);
  assert.equal(w.history(1, 1)[0], 7);
});

test('history gives per-second averages per step, oldest first', () => {
  const c = clock();
  const w = new RateWindow(300, c.now);
  c.advance(100_000);
  for (let s = 0; s < 20; s++) {
    w.add(s < 10 ? 10 : 50);
    c.advance(1000);
  }
  const points = w.history(5, 4);
  assert.deepEqual(points, [10, 10, 50, 50]);
  assert.equal(w.history(5, 1000).length, 59, 'no more points than the window holds');
});

test('ignores zero, negative and NaN counts; rejects a tiny window', () => {
  const c = clock();
  const w = new RateWindow(10, c.now);
  c.advance(5000);
  w.add(0);
  w.add(-5);
  w.add(Number.NaN);
  c.advance(1000);
  assert.equal(w.perSecond(5), 0);
  assert.throws(() => new RateWindow(1), RangeError);
});

test('sum counts the running second and forgets what left the window', () => {
  const c = clock();
  const w = new RateWindow(301, c.now);
  w.add(2);
  assert.equal(w.sum(300), 2, 'an event counts in the second it happens');
  c.advance(299_000);
  w.add();
  assert.equal(w.sum(300), 3);
  c.advance(1000);
  assert.equal(w.sum(300), 1, 'the first events are 300 s old now');
});
