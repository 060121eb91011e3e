import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from './metrics.ts';
import { defaultsLines, renderCompare, renderSummary, type BenchResult } from './report.ts';

const noise = {
  loadavgBefore: [0.1, 0, 0],
  loadavgAfter: [0.5, 0, 0],
  wallSeconds: 60,
  cores: 2,
  busyShare: 0.5,
  otherShare: 0.03,
  stealShare: 0,
  iowaitShare: 0,
} as BenchResult['noise'];

function result(serve: number, commit: string): BenchResult {
  const figures = {
    put1g: { nginx: 1000, serve },
    'rss.slow': { nginx: 14, serve: 160 },
    put64k: { nginx: 3000, serve: 1500 },
    slots: { serve: 4800 },
  };
  return {
    version: 1,
    startedAt: '2026-11-26T00:00:00.000Z',
    durationSeconds: 200,
    git: { commit, dirty: false },
    host: { cpus: 2, cpuModel: 'cpu', kernel: 'k', node: 'v24', nginx: '1.22.1', memMiB: 1 },
    options: { bigBytes: 1 << 30, smallCount: 2000 },
    fileupload: { file: '/x/bin/fileupload', kind: 'bin' },
    runs: [{ index: 0, order: ['nginx', 'serve'], figures, cpu: {}, notes: ['a note'], noise }],
    summary: summarize([figures]),
    noise,
    notes: [],
  };
}

test('the summary shows figures, the ratio, the verdict, noise and notes', () => {
  const text = renderSummary(result(800, 'abcdef1234567'));
  assert.match(text, /PUT 1 GiB, one stream \(MB\/s\)\s+1,000\s+800\s+80 %\s+≥ 75 %\s+ok/);
  assert.match(text, /peak RSS, slow uploads \(MiB\)\s+14\.0\s+160\.0\s+\S+ %\s+< 150\s+MISS/);
  assert.match(text, /other processes 3 %/);
  assert.match(text, /run 1: a note/);
  assert.doesNotMatch(text, /GET 1 GiB/); // not measured, not shown
  assert.doesNotMatch(text, /bare node/); // not measured, not shown
});

test("the summary shows the bare node reference with its share of nginx and serve's share of it", () => {
  const r = result(800, 'abcdef1234567');
  r.bareNode = { put64k: 3210.4, ofNginx: 0.7, serveOfBare: 0.55, samples: 4 };
  assert.match(
    renderSummary(r),
    /bare node reference .*: 64 KiB PUT 3,210 files\/s, 70 % of nginx; serve reached 55 % of it/,
  );
});

test('compare shows the change of serve between two results and says whether it is better', () => {
  const text = renderCompare(result(800, 'aaaaaaaa'), result(1000, 'bbbbbbbb'));
  assert.match(text, /PUT 1 GiB, one stream \(MB\/s\)\s+800\s+1,000\s+\+25\.0 % better\s+80 %\s+100 %/);
  assert.match(text, /A: aaaaaaaa/);
  assert.match(text, /B: bbbbbbbb/);
  assert.doesNotMatch(text, /defaults/);
  const withDefaults = result(1000, 'cccccccc');
  withDefaults.defaults = {
    seconds: 12,
    notes: [],
    put64k: { count: 2000, ok: 2000, refused: 0, failed: 0, perSec: 1400, statuses: { 201: 2000 } },
  };
  assert.match(
    renderCompare(result(800, 'aaaaaaaa'), withDefaults),
    /\nB defaults \(one serve with no limit raised, once, 12 s\):\nB   PUT 64 KiB × 2,000, 32 concurrent: 1,400 files\/s/,
  );
});

test('the summary names the raised limits and shows the defaults phase beside the raised figures', () => {
  const r = result(800, 'abcdef1234567');
  r.limits = [
    { name: 'slotRequestRate', value: '1000000' },
    { name: 'maxConnectionsPerAddress', value: '1024' },
  ];
  r.defaults = {
    seconds: 14.2,
    notes: ['defaults put64k warm-up: 1 refused'],
    put64k: { count: 2000, ok: 1990, refused: 10, failed: 0, perSec: 1200, statuses: { 201: 1990, 503: 10 } },
    slots: { requests: 20000, slots: 24, refused: 19976, errors: 0, slotMs: 4.25, refusedMs: 2.5, answersPerSec: 6100 },
  };
  const text = renderSummary(r);
  assert.match(
    text,
    /limits raised for one address and one JID: slotRequestRate=1000000, maxConnectionsPerAddress=1024; left at defaults: /,
  );
  assert.match(text, /defaults \(one serve with no limit raised, once, 14 s\):/);
  assert.match(
    text,
    /PUT 64 KiB × 2,000, 32 concurrent: 1,200 files\/s \(limits raised: 1,500, defaults reach 80 %\); 10 refused, 0 failed/,
  );
  assert.match(
    text,
    /24 granted \(median 4\.3 ms\), 19,976 refused with wait \(median 2\.5 ms\), 0 errors, of 20,000; 6,100 answers\/s \(limits raised: 4,800 slots\/s\)/,
  );
  assert.match(text, /- defaults put64k warm-up: 1 refused/);
});

test('without a defaults phase there are no defaults lines; without raised figures no comparison', () => {
  const r = result(800, 'abcdef1234567');
  assert.deepEqual(defaultsLines(r), []);
  assert.doesNotMatch(renderSummary(r), /limits raised|defaults \(/);
  r.summary = [];
  r.defaults = {
    seconds: 3,
    notes: [],
    put64k: { count: 10, ok: 10, refused: 0, failed: 0, perSec: 900, statuses: { 201: 10 } },
  };
  assert.deepEqual(defaultsLines(r), [
    'defaults (one serve with no limit raised, once, 3 s):',
    '  PUT 64 KiB × 10, 32 concurrent: 900 files/s; 0 refused, 0 failed',
  ]);
  assert.doesNotMatch(renderSummary(r), /serve\/nginx/); // no runs, no empty table
});
