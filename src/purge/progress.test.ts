import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressLines } from './progress.ts';

describe('ProgressLines', () => {
  test('with a known total: one line per tenth, however often it is asked, and no repeat at the end', () => {
    const lines = new ProgressLines(1000, 0, false);
    const texts: string[] = [];
    for (let listed = 1; listed <= 1000; listed++) {
      const r = lines.next({ listed, deleted: Math.floor(listed / 4) }, listed * 10);
      if (r) texts.push(lines.text(r));
    }
    assert.equal(texts.length, 10);
    assert.equal(texts[0], 'purge: 10% (100 of ~1000 uploads listed), 25 deleted, 100 uploads/s');
    assert.equal(texts[9], 'purge: 100% (1000 of ~1000 uploads listed), 250 deleted, 100 uploads/s');
    assert.equal(lines.end({ listed: 1000, deleted: 250 }, 20_000), undefined);
  });

  test('more uploads than the total: stays at 100 % and the end says how many', () => {
    const lines = new ProgressLines(10, 0, true);
    const reports = [];
    for (let listed = 1; listed <= 15; listed++) reports.push(lines.next({ listed, deleted: 0 }, 1000));
    assert.equal(reports.filter(Boolean).length, 10);
    const end = lines.end({ listed: 15, deleted: 3 }, 1000);
    assert.ok(end);
    assert.deepEqual(end, { listed: 15, total: 10, percent: 100, deleted: 3, rate: 15 });
    assert.match(lines.text(end), /^purge: 100% \(15 of ~10 uploads listed\), 3 to delete/);
  });

  test('without a total: a line every interval of the given clock with the rate, and one at the end', () => {
    const lines = new ProgressLines(undefined, 0, false, 10_000);
    assert.equal(lines.next({ listed: 5000, deleted: 0 }, 9_999), undefined);
    const r = lines.next({ listed: 5000, deleted: 7 }, 10_000);
    assert.ok(r);
    assert.deepEqual(r, { listed: 5000, total: null, percent: null, deleted: 7, rate: 500 });
    assert.equal(lines.text(r), 'purge: 5000 uploads listed, 7 deleted, 500 uploads/s');
    assert.equal(lines.next({ listed: 6000, deleted: 7 }, 19_999), undefined);
    assert.ok(lines.next({ listed: 9000, deleted: 7 }, 20_000));
    assert.deepEqual(lines.end({ listed: 9500, deleted: 8 }, 25_000), {
      listed: 9500,
      total: null,
      percent: null,
      deleted: 8,
      rate: 380,
    });
  });

  test('a total of 0 (an empty repository at the last run) counts as unknown', () => {
    const lines = new ProgressLines(0, 0, false);
    assert.equal(lines.next({ listed: 3, deleted: 0 }, 1), undefined);
    assert.equal(lines.end({ listed: 3, deleted: 0 }, 1)?.total, null);
  });
});
