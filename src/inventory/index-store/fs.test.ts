import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsIndexStore } from './fs.ts';

async function temp() {
  const dir = await mkdtemp(join(tmpdir(), 'index-store-'));
  return { dir, index: new FsIndexStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

test('entries 0600 and the folders made for them 0700, whatever the umask', async () => {
  const t = await temp();
  const old = process.umask(0);
  try {
    await t.index.put('users/ab/stored/x.1', 'data');
    await t.index.put('users/ab/stored/empty');
    await t.index.append('pending/seg.open', Buffer.from('line\n'));
    await t.index.closeAppend('pending/seg.open');
    const mode = async (p: string) => (await stat(join(t.dir, p))).mode & 0o777;
    for (const entry of ['users/ab/stored/x.1', 'users/ab/stored/empty', 'pending/seg.open'])
      assert.equal(await mode(entry), 0o600, entry);
    for (const folder of ['users', 'users/ab', 'users/ab/stored', 'pending'])
      assert.equal(await mode(folder), 0o700, folder);
  } finally {
    process.umask(old);
    await t.cleanup();
  }
});

test('append: creates the entry and its folder, concurrent appends land whole and none is lost', async () => {
  const t = await temp();
  try {
    const chunks = Array.from(
      { length: 300 },
      (_, i) => `${String(i).padStart(3, '0')}:${'x'.repeat(1 + ((i * 997) % 5000))}\n`,
    );
    await Promise.all(chunks.map((c) => t.index.append('seg/a.open', Buffer.from(c))));
    const lines = (await readFile(join(t.dir, 'seg', 'a.open'), 'utf8')).split('\n').filter(Boolean);
    assert.equal(lines.length, chunks.length);
    assert.deepEqual(lines.map((l) => `${l}\n`).sort(), [...chunks].sort(), 'every chunk whole, none interleaved');
    assert.deepEqual(await readdir(join(t.dir, 'seg')), ['a.open'], 'one file, no temp files');
    await t.index.closeAppend('seg/a.open');
  } finally {
    await t.cleanup();
  }
});

test('append keeps its descriptor open between calls until closeAppend', async () => {
  const t = await temp();
  try {
    await t.index.append('p/s.open', Buffer.from('one\n'));
    // Renamed behind its back: the cached descriptor still points at the same file.
    await rename(join(t.dir, 'p', 's.open'), join(t.dir, 'p', 'moved'));
    await t.index.append('p/s.open', Buffer.from('two\n'));
    assert.deepEqual(await readdir(join(t.dir, 'p')), ['moved'], 'no new file for the second append');
    assert.equal(await readFile(join(t.dir, 'p', 'moved'), 'utf8'), 'one\ntwo\n');
    await t.index.closeAppend('p/s.open');
    await t.index.closeAppend('p/s.open'); // nothing open: a no-op
    await t.index.append('p/s.open', Buffer.from('three\n'));
    assert.equal(await readFile(join(t.dir, 'p', 's.open'), 'utf8'), 'three\n', 'a fresh descriptor after closeAppend');
    await t.index.closeAppend('p/s.open');
  } finally {
    await t.cleanup();
  }
});

test('append holds a bounded number of descriptors however many keys it writes', async () => {
  const t = await temp();
  try {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 40; i++) await t.index.append(`k/${i}`, Buffer.from(`${i}\n`));
    for (let i = 0; i < 40; i++) await t.index.append(`k/${i}`, Buffer.from(`${i}\n`));
    // Evicted descriptors close asynchronously.
    for (let i = 0; i < 100 && fds() - before > 8; i++) await new Promise((r) => setTimeout(r, 1));
    assert.ok(fds() - before <= 8, `${fds() - before} descriptors kept`);
    for (let i = 0; i < 40; i++) assert.equal(await readFile(join(t.dir, 'k', String(i)), 'utf8'), `${i}\n${i}\n`);
    for (let i = 0; i < 40; i++) await t.index.closeAppend(`k/${i}`);
    assert.ok(fds() - before <= 0, 'all closed');
  } finally {
    await t.cleanup();
  }
});

test('rename: atomic, false when the entry is gone; keys are checked', async () => {
  const t = await temp();
  try {
    await t.index.put('p/a', 'body');
    assert.equal(await t.index.rename('p/a', 'p/b'), true);
    assert.equal((await t.index.get('p/b'))?.toString(), 'body');
    assert.equal(await t.index.get('p/a'), undefined);
    assert.equal(await t.index.rename('p/a', 'p/c'), false);
    await assert.rejects(t.index.rename('p/b', '../x'), RangeError);
    await assert.rejects(t.index.append('../x', Buffer.from('x')), RangeError);
  } finally {
    await t.cleanup();
  }
});

test("names: a folder's entries in one call, as list() gives them; none for a missing folder", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'index-names-'));
  try {
    const index = new FsIndexStore(dir);
    assert.deepEqual(await index.names('users/nobody/stored'), []);
    await index.put('users/a/stored/x.1');
    await index.put('users/a/stored/y.2', 'data');
    await index.put('users/a/stored/sub/z.3');
    // What a put writes aside before its rename: never an entry.
    await writeFile(join(dir, 'users/a/stored/.aside.tmp'), 'half');
    const listed: string[] = [];
    for await (const n of index.list('users/a/stored')) listed.push(n);
    assert.deepEqual((await index.names('users/a/stored')).sort(), listed.sort());
    assert.deepEqual(listed.sort(), ['sub', 'x.1', 'y.2']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
