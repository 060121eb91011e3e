import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { watchUpload, UploadTimeoutError } from './upload-watch.ts';
import { uploadDeadline } from '../slots/deadline.ts';

// A manual clock moved together with Node's mocked timers: no test waits for real time.
let clock = 0;
const now = (): number => clock;
const advance = (ms: number): void => {
  clock += ms;
  mock.timers.tick(ms);
};
beforeEach(() => {
  clock = 0;
  mock.timers.enable({ apis: ['setTimeout'] });
});
afterEach(() => mock.timers.reset());

function watched(
  idleMs: number,
  deadlineMs: number,
): { fired: UploadTimeoutError[]; watch: ReturnType<typeof watchUpload> } {
  const fired: UploadTimeoutError[] = [];
  const watch = watchUpload({ idleMs, deadlineMs, now, onTimeout: (e) => fired.push(e) });
  return { fired, watch };
}

test('an upload without a byte for idleMs is cut off as idle', () => {
  const { fired } = watched(2_000, Infinity);
  advance(1_999);
  assert.equal(fired.length, 0);
  advance(1);
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.kind, 'idle');
  assert.match(fired[0]!.message, /no data received for 2 s/);
});

test('progress restarts the idle time; only the deadline ends a steady trickle', () => {
  // A 1 MiB slot at a minimum of 4 KiB/s: 256 s. A byte a second is never idle.
  const deadline = uploadDeadline(1024 * 1024, 4096);
  assert.equal(deadline, 256_000);
  const { fired, watch } = watched(2_000, deadline);
  for (let t = 0; t < 255; t++) {
    advance(1_000);
    watch.progress();
  }
  assert.equal(fired.length, 0);
  advance(1_000);
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.kind, 'deadline');
  assert.match(fired[0]!.message, /not complete within 256 s/);
});

test('the deadline floor: a tiny slot still gets 60 s', () => {
  const { fired, watch } = watched(Infinity, uploadDeadline(10, 4096));
  advance(59_999);
  watch.progress();
  assert.equal(fired.length, 0);
  advance(1);
  assert.equal(fired[0]?.kind, 'deadline');
});

test('no limits (minUploadRate -1): nothing ever fires', () => {
  const { fired } = watched(Infinity, uploadDeadline(10, -1));
  advance(10 * 86_400_000);
  assert.equal(fired.length, 0);
});

test('stop() ends judging: a finished body is not cut off while it is published', () => {
  const { fired, watch } = watched(2_000, 60_000);
  advance(1_000);
  watch.stop();
  advance(120_000);
  assert.equal(fired.length, 0);
});

test('it fires once', () => {
  const { fired } = watched(1_000, 1_500);
  advance(10_000);
  assert.equal(fired.length, 1);
});

test('idleFor: the time since the last body byte, 0 once stopped', () => {
  const { watch } = watched(10_000, Infinity);
  advance(3_000);
  assert.equal(watch.idleFor(), 3_000);
  watch.progress();
  advance(500);
  assert.equal(watch.idleFor(), 500);
  watch.stop();
  assert.equal(watch.idleFor(), 0);
});

test('reading(false): while the store is busy with what it has, no idle time runs; the wait starts again with reading(true)', () => {
  const { fired, watch } = watched(2_000, 100_000);
  watch.reading(true);
  advance(1_500);
  watch.progress();
  watch.reading(false); // a slow disk: the store does not ask for more for 10 s
  advance(10_000);
  assert.equal(fired.length, 0, 'the client is not idle while the server does not read');
  assert.equal(watch.idleFor(), 0, 'nor stalled for a retry to take over');
  watch.reading(true);
  advance(1_999);
  assert.equal(fired.length, 0);
  advance(1);
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.kind, 'idle');
});

test('the deadline runs while the store is busy too', () => {
  const { fired, watch } = watched(2_000, 60_000);
  watch.reading(false);
  advance(60_000);
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.kind, 'deadline');
});
