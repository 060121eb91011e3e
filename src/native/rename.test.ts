import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNative } from '../../scripts/build/native.ts';
import { loadSendfile, type SendfileAddon } from './sendfile.ts';
import { constants as osConstants } from 'node:os';
import { finisherFor, renamerFor } from './rename.ts';

function renamer() {
  ensureNative();
  const got = loadSendfile();
  assert.ok(got.addon, got.addon ? '' : got.reason);
  const rename = renamerFor(got.addon);
  assert.ok(rename, 'the addon has renameNoReplace');
  return rename;
}

test('renameNoReplace moves a file to a free name, and refuses a taken one without touching either', async () => {
  const rename = renamer();
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-rename-'));
  try {
    await writeFile(join(dir, 'a'), 'first');
    assert.equal(await rename(join(dir, 'a'), join(dir, 'b')), 'renamed');
    assert.deepEqual(await readdir(dir), ['b']);
    await writeFile(join(dir, 'c'), 'second');
    assert.equal(await rename(join(dir, 'c'), join(dir, 'b')), 'exists');
    assert.equal(await readFile(join(dir, 'b'), 'utf8'), 'first', 'the taken name keeps its file');
    assert.equal(await readFile(join(dir, 'c'), 'utf8'), 'second', 'the source stays');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('other failures reject with a Node-style error', async () => {
  const rename = renamer();
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-rename-'));
  try {
    await assert.rejects(
      rename(join(dir, 'missing'), join(dir, 'b')),
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && err.syscall === 'renameat2',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without the addon there is no renamer (the store links instead)', () => {
  assert.equal(renamerFor(undefined), undefined);
});

function finisher() {
  ensureNative();
  const got = loadSendfile();
  assert.ok(got.addon, got.addon ? '' : got.reason);
  const finish = finisherFor(got.addon);
  assert.ok(finish, 'the addon has finishUpload');
  return finish;
}

/** Whether `fd` is open in this process. */
const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

test('finishUpload syncs, closes and publishes in one job; a taken name is refused, the source left alone', async () => {
  const finish = finisher();
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-finish-'));
  try {
    for (const durable of [true, false]) {
      const fd = openSync(join(dir, 'tmp'), 'w');
      writeSync(fd, `body ${durable}`);
      assert.equal(await finish(fd, durable, join(dir, 'tmp'), join(dir, `final-${durable}`)), 'renamed');
      assert.equal(isOpen(fd), false, 'the descriptor is closed');
      assert.equal(await readFile(join(dir, `final-${durable}`), 'utf8'), `body ${durable}`);
    }
    const fd = openSync(join(dir, 'tmp'), 'w');
    writeSync(fd, 'second');
    assert.equal(await finish(fd, true, join(dir, 'tmp'), join(dir, 'final-true')), 'exists');
    assert.equal(isOpen(fd), false);
    assert.equal(await readFile(join(dir, 'final-true'), 'utf8'), 'body true', 'the taken name keeps its file');
    assert.equal(await readFile(join(dir, 'tmp'), 'utf8'), 'second', 'the source stays');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('finishUpload failures reject with the failing call named; nothing is published', async () => {
  const finish = finisher();
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-finish-'));
  try {
    await writeFile(join(dir, 'tmp'), 'x');
    // A descriptor that is not open (a number no process gets): fdatasync fails first when
    // durable, close otherwise.
    const closed = 2_000_000_000;
    await assert.rejects(
      finish(closed, true, join(dir, 'tmp'), join(dir, 'a')),
      (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'fdatasync',
    );
    await assert.rejects(
      finish(closed, false, join(dir, 'tmp'), join(dir, 'a')),
      (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'close',
    );
    const fd = openSync(join(dir, 'tmp'), 'r');
    await assert.rejects(
      finish(fd, true, join(dir, 'missing'), join(dir, 'a')),
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'renameat2',
    );
    assert.equal(isOpen(fd), false);
    // Refused before it was queued (a path with NUL): the descriptor is closed all the same.
    const other = openSync(join(dir, 'tmp'), 'r');
    await assert.rejects(finish(other, true, join(dir, 'tmp'), 'a\0b'), TypeError);
    assert.equal(isOpen(other), false);
    assert.deepEqual((await readdir(dir)).sort(), ['tmp']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('finishUpload answers map to outcomes: EEXIST and a refused RENAME_NOREPLACE only at the rename', async () => {
  const fake = (errno: number, stage: number) =>
    finisherFor({
      finishUpload: (_fd: number, _d: boolean, _f: string, _t: string, cb: (e: number, s: number) => void) =>
        cb(errno, stage),
    } as unknown as SendfileAddon)!;
  const [EEXIST, EINVAL, ENOSPC] = [osConstants.errno.EEXIST, osConstants.errno.EINVAL, osConstants.errno.ENOSPC];
  assert.equal(await fake(0, 3)(1, true, 'a', 'b'), 'renamed');
  assert.equal(await fake(EEXIST, 3)(1, true, 'a', 'b'), 'exists');
  assert.equal(await fake(EINVAL, 3)(1, true, 'a', 'b'), 'unsupported');
  // The same errnos before the rename are failures, never a reason to link an unsynced file.
  await assert.rejects(
    fake(EINVAL, 1)(1, true, 'a', 'b'),
    (e: NodeJS.ErrnoException) => e.code === 'EINVAL' && e.syscall === 'fdatasync',
  );
  await assert.rejects(
    fake(EEXIST, 2)(1, true, 'a', 'b'),
    (e: NodeJS.ErrnoException) => e.code === 'EEXIST' && e.syscall === 'close',
  );
  await assert.rejects(fake(ENOSPC, 1)(1, true, 'a', 'b'), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
});
