import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScanFeed } from './feed.ts';
import type { ScanVerdict } from './clamav.ts';

/** A scan that reads everything it is fed, then answers clean; `seen` gets the bytes. */
function readingScan(seen: Buffer[]) {
  return async (open: () => AsyncIterable<Uint8Array>): Promise<ScanVerdict> => {
    for await (const chunk of open()) seen.push(Buffer.from(chunk));
    return { verdict: 'clean' };
  };
}

test('every pushed chunk reaches the scan in order; end() gives the verdict', async () => {
  const seen: Buffer[] = [];
  const feed = new ScanFeed(readingScan(seen));
  for (const text of ['one ', 'two ', '', 'three']) await feed.push(Buffer.from(text));
  assert.deepEqual(await feed.end(), { verdict: 'clean' });
  assert.equal(Buffer.concat(seen).toString(), 'one two three');
});

test('backpressure: a push waits until the scan has taken the chunk before it', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const feed = new ScanFeed(async (open) => {
    await gate; // the scan's turn has not come yet
    for await (const chunk of open()) void chunk;
    return { verdict: 'clean' };
  });
  let first = false;
  const pushed = feed.push(Buffer.from('a')).then(() => (first = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(first, false, 'nothing took the chunk yet');
  release();
  await pushed;
  assert.equal(first, true);
  assert.deepEqual(await feed.end(), { verdict: 'clean' });
});

test('an early verdict (clamd unreachable) lets pushes through at once and is what end() gives', async () => {
  const feed = new ScanFeed(async () => ({ verdict: 'error', reason: 'refused' }));
  await feed.verdict;
  assert.deepEqual(feed.settled, { verdict: 'error', reason: 'refused' });
  await feed.push(Buffer.from('dropped'));
  assert.deepEqual(await feed.end(), { verdict: 'error', reason: 'refused' });
});

test('abort: the scan reading the stream fails and the verdict rejects', async () => {
  let readError: unknown;
  const feed = new ScanFeed(async (open) => {
    try {
      for await (const chunk of open()) void chunk;
    } catch (err) {
      readError = err;
      throw err;
    }
    return { verdict: 'clean' };
  });
  await feed.push(Buffer.from('x'));
  feed.abort();
  await assert.rejects(feed.verdict);
  assert.ok(readError instanceof Error);
});
