import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortStatuses } from './defaults.ts';

test('503 and 429 are refusals, other non-2xx answers and no answer (0) are failures', () => {
  assert.deepEqual(sortStatuses({ 201: 90, 200: 1, 503: 8, 429: 3, 500: 2, 408: 1, 0: 4 }), {
    ok: 91,
    refused: 11,
    failed: 7,
  });
  assert.deepEqual(sortStatuses({}), { ok: 0, refused: 0, failed: 0 });
});
