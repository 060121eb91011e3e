import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideQuota, releaseTime, type QuotaLimits } from './policy.ts';

const none: QuotaLimits = { userQuota: undefined, dailyQuota: undefined, globalQuota: undefined };

test('within every limit → ok; no limits → ok', () => {
  assert.deepEqual(decideQuota(100, { user: { bytes: 900, releases: [] } }, { ...none, userQuota: 1000 }), {
    ok: true,
  });
  assert.deepEqual(decideQuota(10 ** 12, {}, none), { ok: true });
  assert.deepEqual(
    decideQuota(100, { user: { bytes: 10 ** 9, releases: [] } }, { ...none, userQuota: -1 }),
    { ok: true },
    '-1 = unlimited',
  );
});

test('daily quota: wait/resource-constraint with the time when enough of the window ages out', () => {
  const d = decideQuota(
    300,
    {
      daily: {
        bytes: 900,
        releases: [
          { at: 3000, bytes: 100 },
          { at: 1000, bytes: 100 },
          { at: 2000, bytes: 200 },
        ],
      },
    },
    { ...none, dailyQuota: 1000 },
  );
  // 900 + 300 − 1000 = 200 must age out: 100 at t=1000, then 200 at t=2000 → retry at 2000.
  assert.equal(d.ok, false);
  if (d.ok) return;
  assert.equal(d.quota, 'daily');
  assert.equal(d.type, 'wait');
  assert.equal(d.condition, 'resource-constraint');
  assert.equal(d.retryAt, 2000);
  assert.match(d.text, /daily upload quota of 1000 B exceeded/);
});

test('user quota without releases: wait, no retry stamp', () => {
  const d = decideQuota(200, { user: { bytes: 900, releases: [] } }, { ...none, userQuota: 1000 });
  assert.ok(!d.ok && d.quota === 'user' && d.type === 'wait' && d.retryAt === undefined);
});

test('a file larger than a quota by itself: modify/not-acceptable, never a retry', () => {
  const d = decideQuota(2000, { daily: { bytes: 0, releases: [] } }, { ...none, dailyQuota: 1000 });
  assert.ok(!d.ok && d.type === 'modify' && d.condition === 'not-acceptable' && d.retryAt === undefined);
});

test('global quota counts too; several exceeded limits → the latest retry, or none if one is unknown', () => {
  const g = decideQuota(10, { global: { bytes: 995 } }, { ...none, globalQuota: 1000 });
  assert.ok(!g.ok && g.quota === 'global');
  const both = decideQuota(
    100,
    {
      daily: { bytes: 950, releases: [{ at: 5000, bytes: 100 }] },
      user: { bytes: 950, releases: [{ at: 9000, bytes: 100 }] },
    },
    { ...none, dailyQuota: 1000, userQuota: 1000 },
  );
  assert.ok(!both.ok && both.retryAt === 9000 && both.quota === 'user');
  const unknown = decideQuota(
    100,
    {
      daily: { bytes: 950, releases: [{ at: 500, bytes: 100 }] },
      global: { bytes: 950 },
    },
    { ...none, dailyQuota: 1000, globalQuota: 1000 },
  );
  assert.ok(!unknown.ok && unknown.retryAt === undefined && unknown.quota === 'global');
});

test('releaseTime: earliest instant by which enough is freed', () => {
  assert.equal(
    releaseTime(
      [
        { at: 5, bytes: 10 },
        { at: 2, bytes: 10 },
      ],
      15,
    ),
    5,
  );
  assert.equal(releaseTime([{ at: 5, bytes: 10 }], 11), undefined);
  assert.equal(releaseTime([], 0), undefined);
});

test('retry stamps are rounded up to whole seconds (a retry at the stamp is never early)', () => {
  const d = decideQuota(
    100,
    { daily: { bytes: 1000, releases: [{ at: 1_700_000_000_001, bytes: 500 }] } },
    { ...none, dailyQuota: 1000 },
  );
  assert.ok(!d.ok && d.retryAt === 1_700_000_001_000);
});
