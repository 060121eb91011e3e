import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, meets, METRICS, percentile, summarize, summarizeBareNode } from './metrics.ts';

test('median of odd and even counts, undefined for none', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), undefined);
});

test('percentile: nearest rank, in any input order; undefined for none', () => {
  const tenths = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
  assert.equal(percentile(tenths, 90), 9);
  assert.equal(percentile(tenths, 50), 5);
  assert.equal(percentile(tenths, 100), 10);
  assert.equal(percentile(tenths, 1), 1);
  assert.equal(percentile([4], 90), 4);
  assert.equal(percentile([], 90), undefined);
});

test('summary takes the median of per-run ratios, not the ratio of medians', () => {
  // Run 1 on a quiet machine, run 2 busy, run 3 in between: the per-run ratio is steady at 0.5.
  const rows = summarize([
    { put1g: { nginx: 1000, serve: 500 } },
    { put1g: { nginx: 200, serve: 100 } },
    { put1g: { nginx: 600, serve: 300 } },
  ]);
  const row = rows.find((r) => r.key === 'put1g')!;
  assert.equal(row.nginx, 600);
  assert.equal(row.serve, 300);
  assert.equal(row.ratio, 0.5);
  assert.equal(row.samples, 3);
  assert.equal(row.met, false); // target ≥ 75 %
  assert.equal(row.ratioSpread, 0, 'the same ratio every run');
});

test('ratio spread: (max − min) / median of the per-run ratios; none from one run', () => {
  const rows = summarize([
    { 'cpu.throttled': { nginx: 1, serve: 0.8 } },
    { 'cpu.throttled': { nginx: 2, serve: 2 } },
    { 'cpu.throttled': { nginx: 1, serve: 1.2 } },
  ]);
  const row = rows.find((r) => r.key === 'cpu.throttled')!;
  assert.equal(row.ratio, 1);
  assert.ok(Math.abs(row.ratioSpread! - 0.4) < 1e-9, String(row.ratioSpread));
  assert.equal(row.met, true, 'CPU per GiB: at most nginx’s');
  const one = summarize([{ curl: { nginx: 800, serve: 400 } }]).find((r) => r.key === 'curl')!;
  assert.equal(one.ratioSpread, undefined);
});

test('targets: ratio targets, absolute targets, no target', () => {
  const def = (key: string) => METRICS.find((m) => m.key === key)!;
  assert.equal(meets(def('get1g'), { ratio: 0.91 }), true);
  assert.equal(meets(def('get1g'), { ratio: 0.89 }), false);
  assert.equal(meets(def('rss.slow'), { serve: 149.9 }), true);
  assert.equal(meets(def('rss.slow'), { serve: 150 }), false);
  assert.equal(meets(def('slots'), { serve: 5000 }), true);
  assert.equal(meets(def('cpu.tls'), { serve: 1 }), true, '≤ 1 s per GiB');
  assert.equal(meets(def('cpu.tls'), { serve: 1.01 }), false);
  assert.equal(meets(def('cpu.curl'), { ratio: 1.01 }), false);
  assert.equal(meets(def('head'), { serve: 1, ratio: 0.1 }), undefined);
  assert.equal(meets(def('get1g'), {}), undefined);
});

test('a figure serve did not produce has no ratio and no verdict', () => {
  const row = summarize([{ get64k: { nginx: 30000 } }]).find((r) => r.key === 'get64k')!;
  assert.equal(row.nginx, 30000);
  assert.equal(row.serve, undefined);
  assert.equal(row.ratio, undefined);
  assert.equal(row.met, undefined);
});

test('the bare node reference: medians of values and of same-run ratios; none without a sample', () => {
  const b = summarizeBareNode([
    { bare: 3000, nginx: 6000, serve: 1500 }, // 50 % of nginx; serve 50 % of bare
    { bare: 4000, nginx: 4000, serve: 3000 }, // 100 %; 75 %
    { bare: 2000, nginx: 2500 }, // 80 %; serve not measured
    { nginx: 9000, serve: 9000 }, // no bare: ignored
  ])!;
  assert.equal(b.put64k, 3000);
  assert.equal(b.samples, 3);
  assert.equal(b.ofNginx, 0.8);
  assert.equal(b.serveOfBare, 0.625);
  assert.equal(summarizeBareNode([{ nginx: 1, serve: 1 }]), undefined);
});
