import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs, { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { receive } from './receive.ts';
import { SizeMismatchError, UploadAbortedError } from '../errors.ts';
import type { UploadMeta } from '../store.ts';

/**
 * The race of a failed upload against its own background write: receive() must not settle (and
 * so let the store close the descriptor) while a writev it started is still queued. The thread
 * pool is made to hold writes on the test's descriptor until the test lets them go; when receive
 * settles, the test does what the store does (close the descriptor) and then opens another file,
 * which gets the same descriptor number: a write let go after that would land in it.
 */

const dir = mkdtempSync(join(tmpdir(), 'fileupload-receive-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const realWritev = fs.writev;
after(() => {
  fs.writev = realWritev;
  syncBuiltinESMExports();
});

/** Holds every writev on `fd` until `letGo()`; `done` resolves once the held ones completed. */
function holdWrites(fd: number): { held: () => number; letGo: () => Promise<void>; log: string[] } {
  const queue: (() => void)[] = [];
  const completions: Promise<void>[] = [];
  const log: string[] = [];
  let holding = true;
  fs.writev = ((
    wfd: number,
    buffers: NodeJS.ArrayBufferView[],
    position: number,
    cb: (err: NodeJS.ErrnoException | null, n: number) => void,
  ) => {
    if (wfd !== fd) return realWritev(wfd, buffers, position, cb);
    const run = (): void => {
      let finished!: () => void;
      completions.push(new Promise((resolve) => (finished = resolve)));
      realWritev(wfd, buffers, position, (err, n) => {
        log.push('write done');
        finished();
        cb(err, n);
      });
    };
    if (holding) queue.push(run);
    else run();
  }) as typeof fs.writev;
  syncBuiltinESMExports();
  return {
    held: () => queue.length,
    log,
    letGo: async () => {
      holding = false;
      for (const run of queue.splice(0)) run();
      await Promise.all(completions);
    },
  };
}

const meta = (size: number): UploadMeta => ({
  id: 'AAAAAAAAAAAAAAAAAAAAAAAA',
  filename: 'a.bin',
  size,
  contentType: 'application/octet-stream',
  uploader: 'a@example.org',
  issuedAt: 1,
  storedAt: 1,
  purpose: 'message',
});

/**
 * Runs receive() on a fresh temp file with writes held, lets them go after `turns` event-loop
 * turns, and returns what happened: the error receive failed with, the event order, and what
 * the file opened after the close (the "victim") holds.
 */
async function race(
  size: number,
  body: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
  onHeld?: () => void,
): Promise<{ err: unknown; log: string[]; victim: Buffer; heldAtFailure: number }> {
  const file = join(dir, `up-${Math.random().toString(36).slice(2)}.part`);
  const fd = openSync(file, 'w');
  const hold = holdWrites(fd);
  const victimPath = `${file}.victim`;
  let victimFd: number | undefined;
  let heldAtFailure = -1;
  const settled = receive(fd, meta(size), body, signal, false).then(
    () => assert.fail('receive should fail'),
    (err: unknown) => {
      hold.log.push('receive failed');
      heldAtFailure = hold.held();
      // What the store does next: close the descriptor. The next open reuses the number.
      closeSync(fd);
      victimFd = openSync(victimPath, 'w');
      return err;
    },
  );
  // Bounded in turns, not time: receive gets every chance to fail early.
  for (let i = 0; i < 50 && hold.held() === 0; i++) await nextTurn();
  assert.ok(hold.held() > 0, 'a write is in flight');
  onHeld?.();
  for (let i = 0; i < 20; i++) await nextTurn();
  await hold.letGo();
  const err = await settled;
  assert.ok(victimFd !== undefined);
  closeSync(victimFd);
  return { err, log: hold.log, victim: readFileSync(victimPath), heldAtFailure };
}

test('a body that overflows while a write is in flight: the write settles before receive fails', async () => {
  const size = 300 * 1024;
  async function* body(): AsyncGenerator<Uint8Array> {
    yield Buffer.alloc(256 * 1024, 0x61); // > SMALL_BODY and > SYNC_WRITE_MAX: an async writev
    yield Buffer.alloc(100 * 1024, 0x62); // past the slot size while that write is held
  }
  const { err, log, victim, heldAtFailure } = await race(size, body());
  assert.ok(err instanceof SizeMismatchError, String(err));
  assert.equal(heldAtFailure, 0, 'no write was still queued when receive failed');
  assert.deepEqual(log, ['write done', 'receive failed']);
  assert.equal(victim.length, 0, 'nothing landed in the file that reused the descriptor');
});

test('an abort during a large write: the write settles before receive fails', async () => {
  const size = 4 * 1024 * 1024;
  const ac = new AbortController();
  async function* body(): AsyncGenerator<Uint8Array> {
    yield Buffer.alloc(1024 * 1024, 0x61); // a whole batch: written at once
    await new Promise(() => {}); // the client stalls; the abort ends the wait
  }
  const { err, log, victim, heldAtFailure } = await race(size, body(), ac.signal, () => ac.abort(new Error('cut off')));
  assert.ok(err instanceof UploadAbortedError, String(err));
  assert.equal(heldAtFailure, 0);
  assert.deepEqual(log, ['write done', 'receive failed']);
  assert.equal(victim.length, 0);
});

test('a large body in small chunks (TLS: 16 KiB) is written in whole batches, not chunk by chunk; the bytes in order', async () => {
  const chunk = 16 * 1024;
  const size = 8 * 1024 * 1024 + 5;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7) % 251;
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < size; at += chunk) {
      yield Buffer.from(data.subarray(at, at + chunk));
      if (at % (4 * chunk) === 0) await nextTurn(); // arriving over several turns, as from a socket
    }
  }
  const file = join(dir, 'batched.part');
  const fd = openSync(file, 'w');
  let writes = 0;
  const realWritevSync = fs.writevSync;
  fs.writev = ((...args: Parameters<typeof fs.writev>) => {
    writes++;
    return (realWritev as (...a: unknown[]) => void)(...args);
  }) as typeof fs.writev;
  fs.writevSync = ((...args: Parameters<typeof fs.writevSync>) => {
    writes++;
    return realWritevSync(...args);
  }) as typeof fs.writevSync;
  syncBuiltinESMExports();
  try {
    const final = await receive(fd, meta(size), body(), undefined, false);
    assert.equal(final.size, size);
  } finally {
    fs.writev = realWritev;
    fs.writevSync = realWritevSync;
    syncBuiltinESMExports();
    closeSync(fd);
  }
  // 512 chunks: a batch is 1 MiB (one upload running), so about 9 body writes and the header.
  assert.ok(writes <= 16, `${writes} writes`);
  const stored = readFileSync(file);
  assert.ok(stored.subarray(stored.length - size).equals(data));
});
