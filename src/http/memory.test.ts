import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_EVERY, MAJOR_INTERVAL_MS, SLACK, createReclaimer, type Gc } from './memory.ts';

/** A fake V8: buffer memory that collections shrink as the test says. */
function fakeV8(): { calls: string[]; bytes: number; t: number; gc: Gc; youngDies: boolean } {
  const v = {
    calls: [] as string[],
    bytes: 0,
    t: 0,
    youngDies: true,
    gc: ((o?: { type?: string }) => {
      v.calls.push(o?.type ?? 'major');
      if (o?.type === 'minor' && v.youngDies) v.bytes = 1024;
      if (o?.type !== 'minor') v.bytes = 1024;
    }) as Gc,
  };
  return v;
}

describe('createReclaimer', () => {
  test('does nothing without gc (node without --expose-gc)', () => {
    let looked = 0;
    const note = createReclaimer({ gc: undefined, bufferBytes: () => ++looked });
    note(1e12);
    assert.equal(looked, 0);
  });

  test('leaves buffer memory alone while it stays within the slack', () => {
    const v = fakeV8();
    const note = createReclaimer({ gc: v.gc, bufferBytes: () => v.bytes, now: () => v.t });
    for (let i = 0; i < 20; i++) {
      v.bytes = SLACK - 1;
      note(CHECK_EVERY);
    }
    assert.deepEqual(v.calls, []);
  });

  test('young garbage: one minor collection, no full one', () => {
    const v = fakeV8();
    const note = createReclaimer({ gc: v.gc, bufferBytes: () => v.bytes, now: () => v.t });
    v.bytes = SLACK + 1;
    note(CHECK_EVERY);
    note(CHECK_EVERY);
    assert.deepEqual(v.calls, ['minor']);
  });

  test('garbage that survives a minor collection gets a full one, at most every MAJOR_INTERVAL_MS', () => {
    const v = fakeV8();
    v.youngDies = false;
    const note = createReclaimer({ gc: v.gc, bufferBytes: () => v.bytes, now: () => v.t });
    v.bytes = 2 * SLACK;
    note(CHECK_EVERY); // minor
    note(CHECK_EVERY); // still high → major
    assert.deepEqual(v.calls, ['minor', 'major']);
    note(CHECK_EVERY); // measures the in-use level after the major
    v.bytes = 3 * SLACK;
    note(CHECK_EVERY); // minor
    note(CHECK_EVERY); // too soon for another major
    assert.deepEqual(v.calls, ['minor', 'major', 'minor']);
    v.t += MAJOR_INTERVAL_MS;
    note(CHECK_EVERY);
    assert.deepEqual(v.calls, ['minor', 'major', 'minor', 'major']);
  });

  test('looks only every CHECK_EVERY bytes', () => {
    const v = fakeV8();
    let looked = 0;
    const note = createReclaimer({ gc: v.gc, bufferBytes: () => (looked++, v.bytes), now: () => v.t });
    for (let i = 0; i < 100; i++) note(CHECK_EVERY / 100);
    assert.equal(looked, 1);
  });
});
