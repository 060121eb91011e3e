import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNative } from '../../scripts/build/native.ts';
import { tcpPairs } from '../../test/support/tcp-pair.ts';
import { loadSendfile, type SendfileAddon } from './sendfile.ts';
import { spliceFromSocket } from './splice.ts';

/**
 * The addon's spliceStep for real (src/native/sendfile.c via ensureNative): bytes from a real
 * loopback TCP connection into a real file, never read by Node on the way.
 */

let dir: string;
let addon: SendfileAddon;
let pairs: Awaited<ReturnType<typeof tcpPairs>>;
const SIZE = 24 * 1024 * 1024; // beyond one step (16 MiB) and beyond the loopback socket buffers
const data = randomBytes(SIZE);

/** Open socket descriptors (each pool thread also keeps a pipe: those are not counted). */
const socketCount = (): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // the listing's own descriptor, closed by now
    }
  }).length;

before(async () => {
  ensureNative();
  const got = loadSendfile();
  assert.ok(got.addon, got.addon ? '' : got.reason);
  addon = got.addon;
  dir = await mkdtemp(join(tmpdir(), 'fileupload-splice-'));
  // Accepted sockets must not start reading: only the splice may take their bytes.
  pairs = await tcpPairs({ pauseOnConnect: true });
});

after(async () => {
  await pairs.close();
  await rm(dir, { recursive: true, force: true });
});

const pair = () => pairs.pair();

/** Writes `bytes` to `peer` in 1 MiB pieces, waiting for drain (like a fast client). */
async function send(peer: Socket, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; at += 1024 * 1024) {
    if (!peer.write(bytes.subarray(at, at + 1024 * 1024))) await new Promise((r) => peer.once('drain', r));
  }
}

function openFile(name: string): number {
  return openSync(join(dir, name), 'w+');
}

test('moves exactly the asked bytes into the file at the offset, over several steps; what follows stays unread', async () => {
  const { ours, peer, fd } = await pair();
  const file = openFile('exact');
  const sockets = socketCount();
  try {
    const offset = 4096;
    const length = SIZE - 1000;
    let progress = 0;
    const sending = send(peer, data); // 1000 bytes more than the body: the next request, say
    await spliceFromSocket(addon, fd, file, offset, length, { onProgress: (n) => (progress += n) });
    await sending;
    assert.equal(progress, length);
    const written = readFileSync(join(dir, 'exact'));
    assert.equal(written.length, offset + length);
    assert.ok(written.subarray(offset).equals(data.subarray(0, length)));
    assert.equal(socketCount(), sockets, 'the duplicate of the socket is closed');
    // The bytes past the body are still in the socket, for whoever reads it next.
    const rest = await new Promise<Buffer>((resolve) => {
      const got: Buffer[] = [];
      let n = 0;
      ours.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
        if (n >= 1000) resolve(Buffer.concat(got));
      });
      ours.resume();
    });
    assert.ok(rest.equals(data.subarray(length)));
  } finally {
    closeSync(file);
    peer.destroy();
    ours.destroy();
  }
});

test('a client that closes early: ECONNRESET, and what arrived is in the file', async () => {
  const { ours, peer, fd } = await pair();
  const file = openFile('short');
  try {
    let progress = 0;
    peer.end(data.subarray(0, 100_000));
    await assert.rejects(
      spliceFromSocket(addon, fd, file, 0, SIZE, { onProgress: (n) => (progress += n) }),
      (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' && /after 100000 of/.test(e.message),
    );
    assert.equal(progress, 100_000);
    assert.ok(readFileSync(join(dir, 'short')).equals(data.subarray(0, 100_000)));
  } finally {
    closeSync(file);
    peer.destroy();
    ours.destroy();
  }
});

test('a client that stalls: ETIMEDOUT after idleMs; an abort stops it too', async () => {
  const { ours, peer, fd } = await pair();
  const file = openFile('stall');
  try {
    peer.write(data.subarray(0, 1000));
    await assert.rejects(
      spliceFromSocket(addon, fd, file, 0, SIZE, { idleMs: 300 }),
      (e: NodeJS.ErrnoException) => e.code === 'ETIMEDOUT',
    );
    const ac = new AbortController();
    const moving = spliceFromSocket(addon, fd, file, 1000, SIZE, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('shutting down')), 100);
    await assert.rejects(moving, /shutting down/);
  } finally {
    closeSync(file);
    peer.destroy();
    ours.destroy();
  }
});

test('a slow client: every byte arrives, in a few steps (the socket wakes us once a batch is there)', async () => {
  const { ours, peer, fd } = await pair();
  const file = openFile('slow');
  let steps = 0;
  const counting: SendfileAddon = {
    ...addon,
    spliceStep: (...args) => {
      steps++;
      addon.spliceStep!(...args);
    },
  };
  try {
    const bursts = 12;
    const piece = 64 * 1024;
    const moving = spliceFromSocket(counting, fd, file, 0, bursts * piece);
    for (let i = 0; i < bursts; i++) {
      // The pause lets the previous burst be moved: the splice then waits on an empty socket.
      await new Promise((r) => setTimeout(r, 40));
      peer.write(data.subarray(i * piece, (i + 1) * piece));
    }
    await moving;
    assert.ok(readFileSync(join(dir, 'slow')).equals(data.subarray(0, bursts * piece)));
    // The whole body is less than one wake-up batch: only the sweeps (every 250 ms) and the end
    // cost steps, not each burst or pause.
    assert.ok(steps <= bursts / 2, `${steps} steps for ${bursts} bursts`);
  } finally {
    closeSync(file);
    peer.destroy();
    ours.destroy();
  }
});

test('a trickle below the wake-up batch still arrives as it comes (the sweep takes it)', async () => {
  const { ours, peer, fd } = await pair();
  const file = openFile('trickle');
  try {
    const length = 64 * 1024;
    let progress = 0;
    let seen: () => void = () => {};
    const firstBytes = new Promise<void>((resolve) => (seen = resolve));
    const moving = spliceFromSocket(addon, fd, file, 0, length, {
      idleMs: 800, // sweeps every 100 ms
      onProgress: (n) => {
        progress += n;
        seen();
      },
    });
    peer.write(data.subarray(0, 1000));
    await firstBytes; // before the rest is sent: never waiting for the whole body
    assert.equal(progress, 1000);
    peer.write(data.subarray(1000, length));
    await moving;
    assert.ok(readFileSync(join(dir, 'trickle')).equals(data.subarray(0, length)));
  } finally {
    closeSync(file);
    peer.destroy();
    ours.destroy();
  }
});

test('waitReadable: calls back once bytes arrive or the peer hangs up, ECANCELED on stopWaiting; one wait per descriptor', async () => {
  const { ours, peer, fd } = await pair();
  const copy = addon.dup(fd);
  try {
    assert.equal(addon.stopWaiting!(copy), false, 'no wait to stop');
    const cancelled = new Promise<number>((resolve) => addon.waitReadable!(copy, resolve));
    assert.throws(() => addon.waitReadable!(copy, () => {}), /already waited for/);
    assert.equal(addon.stopWaiting!(copy), true);
    assert.equal(await cancelled, osConstants.errno.ECANCELED);

    const readable = new Promise<number>((resolve) => addon.waitReadable!(copy, resolve));
    peer.write('x');
    assert.equal(await readable, 0);
    assert.throws(() => addon.waitReadable!(copy, 'no' as never), /waitReadable\(fd, callback\)/);
  } finally {
    closeSync(copy);
    peer.destroy();
    ours.destroy();
  }
  const quiet = await pair();
  const other = addon.dup(quiet.fd);
  try {
    const hangUp = new Promise<number>((resolve) => addon.waitReadable!(other, resolve));
    quiet.peer.end(); // no byte, only the end
    assert.equal(await hangUp, 0);
  } finally {
    closeSync(other);
    quiet.peer.destroy();
    quiet.ours.destroy();
  }
});

test('a file that splice cannot write (EINVAL) gets the bytes all the same, copied', async () => {
  const { ours, peer, fd } = await pair();
  // splice(2) refuses an O_APPEND file with EINVAL, as it does on a file system without splice
  // support; pwrite appends there, which at offset 0 of an empty file is the same.
  const file = openSync(join(dir, 'append'), 'a+');
  try {
    const length = 5 * 1024 * 1024 + 123;
    const sending = send(peer, data.subarray(0, length));
    await spliceFromSocket(addon, fd, file, 0, length);
    await sending;
    assert.ok(readFileSync(join(dir, 'append')).equals(data.subarray(0, length)));
  } finally {
    closeSync(file);
    peer.destroy();
    ours.destroy();
  }
});

test('a file that cannot be written: the errno of splice', async () => {
  const { ours, peer, fd } = await pair();
  const readOnly = openSync(join(dir, 'exact'), 'r');
  try {
    peer.write(data.subarray(0, 1000));
    await assert.rejects(
      spliceFromSocket(addon, fd, readOnly, 0, 1000),
      (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'splice',
    );
    // The pool thread's pipe was dropped with what it held: the next move starts clean.
    const file = openFile('after-error');
    try {
      peer.write(data.subarray(0, 5000));
      await spliceFromSocket(addon, fd, file, 0, 5000);
      const got = readFileSync(join(dir, 'after-error'));
      assert.equal(got.length, 5000);
    } finally {
      closeSync(file);
    }
  } finally {
    closeSync(readOnly);
    peer.destroy();
    ours.destroy();
  }
});
