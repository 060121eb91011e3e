import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from './metrics.ts';
import { renderCompare, renderSummary, type BenchResult } from './report.ts';

const noise = { loadavgBefore: [0.1, 0, 0], loadavgAfter: [0.5, 0, 0], wallSeconds: 60, cores: 2, busyShare: 0.5, otherShare: 0.03, stealShare: 0, iowaitShare: 0 } as BenchResult['noise'];

function result(serve: number, commit: string): BenchResult {
  const figures = { put1g: { nginx: 1000, serve }, 'rss.slow': { nginx: 14, serve: 160 } };
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

test('the summary shows the bare node reference with its share of nginx and serve\'s share of it', () => {
  const r = result(800, 'abcdef1234567');
  r.bareNode = { put64k: 3210.4, ofNginx: 0.7, serveOfBare: 0.55, samples: 4 };
  assert.match(renderSummary(r), /bare node reference .*: 64 KiB PUT 3,210 files\/s, 70 % of nginx; serve reached 55 % of it/);
});

test('compare shows the change of serve between two results and says whether it is better', () => {
  const text = renderCompare(result(800, 'aaaaaaaa'), result(1000, 'bbbbbbbb'));
  assert.match(text, /PUT 1 GiB, one stream \(MB\/s\)\s+800\s+1,000\s+\+25\.0 % better\s+80 %\s+100 %/);
  assert.match(text, /A: aaaaaaaa/);
  assert.match(text, /B: bbbbbbbb/);
});
