import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';

test('doubles from 1 s up to the 60 s cap (no jitter at random()=0)', () => {
  const delays = Array.from({ length: 10 }, (_, i) => backoffDelay(i, DEFAULT_BACKOFF, () => 0));
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000]);
  assert.equal(
    backoffDelay(10_000, DEFAULT_BACKOFF, () => 0),
    60000,
    'huge attempt counts stay capped',
  );
});

test('jitter only shortens, by at most the jitter share', () => {
  assert.equal(
    backoffDelay(0, DEFAULT_BACKOFF, () => 1),
    750,
  );
  assert.equal(
    backoffDelay(20, DEFAULT_BACKOFF, () => 1),
    45000,
  );
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(3, DEFAULT_BACKOFF);
    assert.ok(d >= 6000 && d <= 8000, String(d));
  }
});

test('each delay below the cap is longer than the one before, whatever the jitter', () => {
  const worst = (attempt: number, r: number) => backoffDelay(attempt, DEFAULT_BACKOFF, () => r);
  for (let i = 0; i < 5; i++) assert.ok(worst(i + 1, 1) > worst(i, 0), `attempt ${i}`);
});

test('jitter above 0.5 is clamped; custom bounds are honoured', () => {
  assert.equal(
    backoffDelay(0, { initialDelay: 100, maxDelay: 1000, jitter: 0.9 }, () => 1),
    50,
  );
  assert.equal(backoffDelay(5, { initialDelay: 100, maxDelay: 1000, jitter: 0 }), 1000);
  assert.equal(backoffDelay(-3, { initialDelay: 100, maxDelay: 1000, jitter: 0 }), 100);
});
