import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UNBOUNDED_UPLOAD_COUNT, inFlightFor, inFlightUntil, inFlightWindow } from './in-flight.ts';

test('a slot is in flight for its lifetime plus its upload deadline', () => {
  const s = { slotLifetime: 300_000, minUploadRate: 4096 };
  assert.equal(inFlightFor(10 * 1024 * 1024, s), 300_000 + 2_560_000);
  assert.equal(inFlightFor(1000, s), 300_000 + 60_000, 'the deadline floor');
  assert.equal(inFlightUntil({ at: 1_000_000, size: 1000 }, s), 1_360_000);
});

test('without an upload deadline a slot counts a fixed time after it expires, not for ever', () => {
  for (const minUploadRate of [0, -1]) {
    assert.equal(inFlightFor(1000, { slotLifetime: 300_000, minUploadRate }), 300_000 + UNBOUNDED_UPLOAD_COUNT);
  }
});

test('the window of a batch is that of the largest slot maxFileSize allows', () => {
  assert.equal(
    inFlightWindow({ slotLifetime: 300_000, minUploadRate: 4096, maxFileSize: 52_428_800 }),
    300_000 + 12_800_000,
  );
  assert.equal(
    inFlightWindow({ slotLifetime: 300_000, minUploadRate: 4096, maxFileSize: -1 }),
    300_000 + UNBOUNDED_UPLOAD_COUNT,
  );
});
