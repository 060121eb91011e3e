import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UploadMemory } from './budget.ts';
import { UploadAbortedError } from '../errors.ts';

describe('UploadMemory', () => {
  test('over() past the limit; below() resolves once releases bring it back', async () => {
    const m = new UploadMemory(100);
    m.add(60);
    assert.equal(m.over(), false);
    await m.below(); // resolves at once
    m.add(60);
    assert.equal(m.over(), true);
    let woke = false;
    const waiting = m.below().then(() => (woke = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(woke, false, 'still over the limit');
    m.release(30);
    await waiting;
    assert.equal(woke, true);
    assert.equal(m.held, 90);
  });

  test('below() rejects with UploadAbortedError when its signal aborts, and forgets the waiter', async () => {
    const m = new UploadMemory(10);
    m.add(20);
    const ac = new AbortController();
    const waiting = m.below(ac.signal);
    ac.abort(new Error('client gone'));
    await assert.rejects(waiting, UploadAbortedError);
    await assert.rejects(m.below(ac.signal), UploadAbortedError, 'already aborted');
    m.release(20);
    assert.equal(m.over(), false);
  });
});
