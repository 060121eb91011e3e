import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNative } from '../../scripts/build/native.ts';
import { loadSendfile } from './sendfile.ts';
import { renamerFor } from './rename.ts';

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
    await assert.rejects(rename(join(dir, 'missing'), join(dir, 'b')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && err.syscall === 'renameat2');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without the addon there is no renamer (the store links instead)', () => {
  assert.equal(renamerFor(undefined), undefined);
});
