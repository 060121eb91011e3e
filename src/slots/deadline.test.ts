import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UPLOAD_DEADLINE_FLOOR, uploadDeadline } from './deadline.ts';

test('an upload may take size ÷ rate, never less than the floor; no rate, no deadline', () => {
  assert.equal(uploadDeadline(10 * 1024 * 1024, 4096), 2_560_000);
  assert.equal(uploadDeadline(0, 4096), UPLOAD_DEADLINE_FLOOR);
  assert.equal(uploadDeadline(4096 * 60, 4096), UPLOAD_DEADLINE_FLOOR);
  assert.equal(uploadDeadline(4096 * 61, 4096), 61_000);
  // A fraction of a millisecond rounds up: the client gets the whole time.
  assert.equal(uploadDeadline(4096 * 100 + 1, 4096), 100_001);
  assert.equal(uploadDeadline(1, -1), Infinity);
  assert.equal(uploadDeadline(1, 0), Infinity);
});
