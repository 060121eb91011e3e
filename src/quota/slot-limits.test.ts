import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingSlots, SlotLimits, TokenBuckets, type SlotLimitSettings } from './slot-limits.ts';

const T0 = Date.parse('2030-06-01T12:00:00Z');

test('token bucket: a burst, then one request per 60/rate seconds, with the instant of the next token', () => {
  const b = new TokenBuckets();
  for (let i = 0; i < 5; i++) assert.deepEqual(b.take('a', T0, 60, 5), { ok: true }, `burst ${i}`);
  assert.deepEqual(b.take('a', T0, 60, 5), { ok: false, retryAt: T0 + 1000 });
  // Another user has a bucket of their own.
  assert.deepEqual(b.take('b', T0, 60, 5), { ok: true });
  assert.deepEqual(b.take('a', T0 + 999, 60, 5), { ok: false, retryAt: T0 + 1000 });
  assert.deepEqual(b.take('a', T0 + 1000, 60, 5), { ok: true });
  assert.deepEqual(b.take('a', T0 + 1000, 60, 5), { ok: false, retryAt: T0 + 2000 });
  // Refills up to the burst, no further.
  for (let i = 0; i < 5; i++) assert.deepEqual(b.take('a', T0 + 3_600_000, 60, 5), { ok: true });
  assert.equal(b.take('a', T0 + 3_600_000, 60, 5).ok, false);
});

test('token bucket: 20,000 distinct users do not stay in memory once their buckets are full again', () => {
  const b = new TokenBuckets();
  let t = T0;
  for (let i = 0; i < 20_000; i++) {
    t += 1;
    b.take(`user${i}@example.org`, t, 60, 20);
  }
  // Each user took one token: full again a second later. Memory is what one second of
  // requests holds, not every user ever seen.
  assert.ok(b.size < 3000, `${b.size} buckets`);
  b.take('late@example.org', t + 61_000, 60, 20);
  assert.ok(b.size <= 2, `${b.size} buckets after they all refilled`);
});

test('pending slots: holds become slots, uploads and expiry free them, the oldest expiry is the retry', () => {
  const p = new PendingSlots();
  p.hold('a', T0 + 300_000);
  p.issued('a', 's1', T0 + 300_000);
  p.hold('a', T0 + 301_000);
  p.issued('a', 's2', T0 + 301_000);
  p.hold('a', T0 + 302_000);
  assert.deepEqual(p.count('a', T0), { count: 3, oldestExpiry: T0 + 300_000 });
  p.release('a'); // the third was refused by a quota
  p.uploaded('a', 's1');
  assert.deepEqual(p.count('a', T0), { count: 1, oldestExpiry: T0 + 301_000 });
  assert.deepEqual(p.count('a', T0 + 301_000), { count: 0, oldestExpiry: Infinity });
  assert.equal(p.size, 0);
});

const settings = (over: Partial<SlotLimitSettings> = {}): SlotLimitSettings => ({
  slotRequestRate: 60,
  slotRequestBurst: 3,
  maxPendingSlots: 0,
  slotLifetime: 300_000,
  ...over,
});

test('SlotLimits: rate refusals carry a whole-second retry stamp; ≤ 0 = unlimited', () => {
  const l = new SlotLimits(() => settings({ slotRequestRate: 7 }));
  for (let i = 0; i < 3; i++) assert.ok(l.check('a', T0 + 10).ok);
  const d = l.check('a', T0 + 10);
  assert.equal(d.ok, false);
  if (!d.ok) {
    assert.equal(d.limit, 'rate');
    assert.equal(d.retryAt % 1000, 0);
    assert.ok(d.retryAt >= T0 + 10 + 60_000 / 7 && d.retryAt < T0 + 10 + 60_000 / 7 + 1000);
  }
  const off = new SlotLimits(() => settings({ slotRequestRate: 0 }));
  for (let i = 0; i < 1000; i++) assert.ok(off.check('a', T0).ok);
});

test('SlotLimits: at maxPendingSlots, refused until the oldest slot expires or an upload frees one', () => {
  let s = settings({ slotRequestRate: -1, maxPendingSlots: 2 });
  const l = new SlotLimits(() => s);
  assert.ok(l.check('a', T0).ok);
  l.issued({ uploader: 'a', id: 's1', expiresAt: T0 + 300_000 });
  assert.ok(l.check('a', T0 + 5000).ok);
  l.issued({ uploader: 'a', id: 's2', expiresAt: T0 + 305_000 });
  const d = l.check('a', T0 + 6000);
  assert.deepEqual(d.ok ? d : { limit: d.limit, retryAt: d.retryAt }, { limit: 'pending', retryAt: T0 + 300_000 });
  assert.ok(l.check('b', T0 + 6000).ok, 'another user is not affected');
  l.uploaded({ uploader: 'a', id: 's2' });
  assert.ok(l.check('a', T0 + 6000).ok);
  l.issued({ uploader: 'a', id: 's3', expiresAt: T0 + 306_000 });
  assert.equal(l.check('a', T0 + 7000).ok, false);
  assert.ok(l.check('a', T0 + 300_000).ok, 's1 expired');
  s = settings({ slotRequestRate: -1, maxPendingSlots: 0 });
  for (let i = 0; i < 10; i++) assert.ok(l.check('a', T0 + 300_000).ok, 'switched off');
});
