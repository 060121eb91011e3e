import { test } from 'node:test';
import assert from 'node:assert/strict';
import { releaseChunk, releaseChunks } from './release.ts';

test('a chunk that is the whole of its own ArrayBuffer is freed and reads as empty', () => {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const before = process.memoryUsage().arrayBuffers;
  assert.equal(releaseChunk(chunk), true);
  assert.equal(chunk.length, 0);
  assert.equal(chunk.buffer.byteLength, 0);
  assert.ok(process.memoryUsage().arrayBuffers <= before - 64 * 1024, 'the memory is given back at once');
  assert.equal(releaseChunk(chunk), false, 'a second release does nothing');
});

test('a view into a shared buffer is left alone', () => {
  const pooled = Buffer.from('hello'); // a slice of Buffer's shared pool
  assert.equal(releaseChunk(pooled), false);
  assert.equal(pooled.toString(), 'hello');
  const whole = new Uint8Array(16).fill(1);
  const head = whole.subarray(0, 8);
  assert.equal(releaseChunk(head), false, 'shorter than its buffer');
  assert.equal(releaseChunk(whole.subarray(8)), false, 'not at offset 0');
  assert.equal(whole.length, 16);
  assert.equal(releaseChunk(new Uint8Array(0)), false, 'nothing to free');
});

test('releaseChunks frees each chunk it may', () => {
  const own = new Uint8Array(1024);
  const shared = Buffer.from('x');
  releaseChunks([own, shared]);
  assert.equal(own.length, 0);
  assert.equal(shared.toString(), 'x');
});
