import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNative } from '../../scripts/build/native.ts';
import { tcpPairs } from '../../test/support/tcp-pair.ts';
import { CHECKOUT_ADDON, loadSendfile, processSendfile, sendFileToSocket, type SendfileAddon } from './sendfile.ts';

/**
 * The sendfile addon for real: compiled from src/native/sendfile.c (ensureNative), loaded with
 * process.dlopen, sending a real file into a real loopback TCP connection.
 */

let dir: string;
let addon: SendfileAddon;
let pairs: Awaited<ReturnType<typeof tcpPairs>>;
let file: string;
const SIZE = 24 * 1024 * 1024; // beyond one step (16 MiB) and beyond the loopback socket buffers
const data = randomBytes(SIZE);

const fdCount = (): number => readdirSync('/proc/self/fd').length;

before(async () => {
  ensureNative();
  const got = loadSendfile();
  assert.ok(got.addon, got.addon ? '' : got.reason);
  addon = got.addon;
  dir = await mkdtemp(join(tmpdir(), 'fileupload-sendfile-'));
  file = join(dir, 'data');
  await writeFile(file, data);
  pairs = await tcpPairs();
});

after(async () => {
  await pairs.close();
  await rm(dir, { recursive: true, force: true });
});

const pair = () => pairs.pair();

/** Collects what the peer receives until `count` bytes or its close. */
function collect(peer: Socket, count: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  return new Promise((resolve) => {
    peer.on('data', (d: Buffer) => {
      chunks.push(d);
      n += d.length;
      if (n >= count) resolve(Buffer.concat(chunks));
    });
    peer.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

test('loads the checkout build from dist/native', () => {
  const got = loadSendfile();
  assert.ok(got.addon);
  assert.equal(got.from, CHECKOUT_ADDON);
  assert.equal(typeof got.addon.sendfileStep, 'function');
  assert.ok(got.addon.maxStep > 0);
});

test('a missing or corrupt addon file is an answer with a reason, not a crash', async () => {
  const missing = loadSendfile({ path: join(dir, 'nope.node') });
  assert.equal(missing.addon, undefined);
  assert.match(missing.addon ? '' : missing.reason, /nope\.node/);

  const corrupt = join(dir, 'corrupt.node');
  await writeFile(corrupt, randomBytes(4096));
  const bad = loadSendfile({ path: corrupt });
  assert.equal(bad.addon, undefined);
  assert.match(bad.addon ? '' : bad.reason, /cannot load .*corrupt\.node/);
});

test('FILEUPLOAD_SENDFILE=0 turns the native path off', () => {
  const off = processSendfile({ FILEUPLOAD_SENDFILE: '0' });
  assert.equal(off.addon, undefined);
  assert.match(off.addon ? '' : off.reason, /FILEUPLOAD_SENDFILE=0/);
  assert.ok(processSendfile({}).addon);
});

test('sends the exact byte range of the file over several steps', async () => {
  const { ours, peer, fd } = await pair();
  const fileFd = openSync(file, 'r');
  try {
    const offset = 12_345;
    const length = SIZE - offset - 1_000;
    assert.ok(length > addon.maxStep);
    const received = collect(peer, length);
    let progress = 0;
    const sent = await sendFileToSocket(addon, fd, fileFd, offset, length, { onProgress: (n) => (progress = n) });
    assert.equal(sent, length);
    assert.equal(progress, length);
    const got = await received;
    assert.equal(got.length, length);
    assert.ok(got.equals(data.subarray(offset, offset + length)));
  } finally {
    closeSync(fileFd);
    peer.destroy();
    ours.destroy();
  }
});

test('a file that ends early resolves with fewer bytes', async () => {
  const { ours, peer, fd } = await pair();
  const fileFd = openSync(file, 'r');
  try {
    const received = collect(peer, 1000);
    const sent = await sendFileToSocket(addon, fd, fileFd, SIZE - 1000, 5000);
    assert.equal(sent, 1000);
    assert.ok((await received).equals(data.subarray(SIZE - 1000)));
  } finally {
    closeSync(fileFd);
    peer.destroy();
    ours.destroy();
  }
});

test('a peer that goes away fails the transfer with EPIPE/ECONNRESET and leaks no descriptor', async () => {
  const baseline = fdCount();
  const { ours, peer, fd } = await pair();
  const fileFd = openSync(file, 'r');
  peer.once('data', () => peer.resetAndDestroy());
  try {
    await assert.rejects(
      sendFileToSocket(addon, fd, fileFd, 0, SIZE, { idleMs: 10_000 }),
      (err: NodeJS.ErrnoException) => {
        assert.match(String(err.code), /^(EPIPE|ECONNRESET)$/);
        return true;
      },
    );
  } finally {
    closeSync(fileFd);
    ours.destroy();
  }
  for (let i = 0; i < 100 && fdCount() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(fdCount() <= baseline, `descriptors: ${fdCount()} > ${baseline}`);
});

test('a peer that stops reading fails after idleMs; an abort stops it too', async () => {
  const { ours, peer, fd } = await pair();
  peer.pause(); // the socket buffers fill up, then nothing moves
  const fileFd = openSync(file, 'r');
  try {
    await assert.rejects(sendFileToSocket(addon, fd, fileFd, 0, SIZE, { idleMs: 300 }), { code: 'ETIMEDOUT' });
    const ac = new AbortController();
    const stopped = sendFileToSocket(addon, fd, fileFd, 0, SIZE, { signal: ac.signal, idleMs: 60_000 });
    setTimeout(() => ac.abort(new Error('stop now')), 100);
    await assert.rejects(stopped, /stop now/);
  } finally {
    closeSync(fileFd);
    peer.destroy();
    ours.destroy();
  }
});

test('bad arguments are a TypeError from the addon, not a crash', () => {
  assert.throws(() => addon.sendfileStep(-1, 0, 0, 1, () => {}), TypeError);
  assert.throws(() => addon.dup(-1), TypeError);
  assert.throws(() => addon.dup(1_000_000), Error);
});
