import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, unlink, symlink, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from './index.ts';
import { SmallUploadCache, MAX_CACHED_BODY, ENTRY_BYTES } from './cache.ts';
import { newSlotId } from '../../slots/id.ts';
import type { UploadMeta } from '../store.ts';
import { UploadRemovedError } from '../errors.ts';

const meta = (size: number, over: Partial<UploadMeta> = {}): Omit<UploadMeta, 'storedAt'> => ({
  id: newSlotId(),
  filename: 'a.bin',
  size,
  contentType: 'application/octet-stream',
  uploader: 'a@example.org',
  issuedAt: 1,
  purpose: 'message',
  ...over,
});

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

async function text(store: FsStore, id: string): Promise<string | undefined> {
  const got = await store.read(id);
  if (!got) return undefined;
  const parts: Uint8Array[] = [];
  for await (const c of got.body) parts.push(c);
  return Buffer.concat(parts).toString();
}

async function withRepo(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-cache-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('small-upload cache in the fs store (several processes on one repository)', () => {
  test('an upload removed by another process is gone at once; one published again is served anew', () =>
    withRepo(async (dir) => {
      const a = new FsStore(dir);
      const b = new FsStore(dir); // another serve process / node, or `purge`
      await a.open();
      await b.open();
      try {
        const m = meta(5);
        await b.write(m, once(Buffer.from('first')));
        assert.equal(await text(a, m.id), 'first');
        assert.equal(await text(a, m.id), 'first'); // from the cache
        assert.ok(await b.delete(m.id));
        assert.equal(await a.read(m.id), undefined);
        assert.equal(await a.stat(m.id), undefined);
        await b.write(m, once(Buffer.from('again')));
        assert.equal(await text(a, m.id), 'again');
        assert.equal((await a.stat(m.id))?.size, 5);
      } finally {
        await a.close();
        await b.close();
      }
    }));

  test('a cached upload replaced by a symlink or changed in place is not served from memory', () =>
    withRepo(async (dir) => {
      const store = new FsStore(dir);
      await store.open();
      try {
        const m = meta(5);
        await store.write(m, once(Buffer.from('bytes')));
        assert.equal(await text(store, m.id), 'bytes');
        const path = join(dir, 'files', m.id);
        const saved = await readFile(path);
        // Same inode, other content (nothing does this; the ctime tells).
        await writeFile(path, Buffer.concat([saved.subarray(0, saved.length - 5), Buffer.from('BYTES')]), {
          flag: 'r+',
        });
        assert.equal(await text(store, m.id), 'BYTES');
        await writeFile(join(dir, 'elsewhere'), saved);
        await unlink(path);
        await symlink(join(dir, 'elsewhere'), path);
        // A symlink is never followed, cached or not: it reads as a tombstone (removed).
        await assert.rejects(store.read(m.id), UploadRemovedError);
      } finally {
        await store.close();
      }
    }));

  test('a stat keeps the metadata alone, large or small; a removal by another process is seen at once', () =>
    withRepo(async (dir) => {
      const a = new FsStore(dir);
      const b = new FsStore(dir);
      await a.open();
      await b.open();
      try {
        const large = meta(MAX_CACHED_BODY + 1);
        await b.write(large, once(Buffer.alloc(large.size, 1)));
        const small = meta(5);
        await b.write(small, once(Buffer.from('small')));
        const first = await a.stat(large.id);
        assert.equal(first?.size, large.size);
        assert.strictEqual(await a.stat(large.id), first, 'the second stat is answered from memory');
        assert.ok(await b.delete(large.id));
        assert.equal(await a.stat(large.id), undefined);
        assert.equal((await a.stat(small.id))?.size, 5);
        assert.strictEqual(await a.stat(small.id), await a.stat(small.id), 'the second stat is answered from memory');
        assert.equal(await text(a, small.id), 'small', 'a read after a stat reads the body');
        assert.equal(await text(a, small.id), 'small');
        assert.ok(await b.delete(small.id));
        assert.equal(await a.stat(small.id), undefined);
        assert.equal(await a.read(small.id), undefined);
      } finally {
        await a.close();
        await b.close();
      }
    }));

  test('ranges and null selections of a cached upload', () =>
    withRepo(async (dir) => {
      const store = new FsStore(dir);
      await store.open();
      try {
        const m = meta(10);
        await store.write(m, once(Buffer.from('0123456789')));
        await text(store, m.id);
        const part = await store.read(m.id, { start: 2, end: 4 });
        assert.equal(Buffer.from(part!.bytes!).toString(), '234');
        const none = await store.read(m.id, () => null);
        assert.equal(none!.bytes, undefined);
        await assert.rejects(store.read(m.id, { start: 5, end: 10 }), RangeError);
      } finally {
        await store.close();
      }
    }));
});

describe('SmallUploadCache', () => {
  test('keeps within its byte budget, evicting the least recently used first', () =>
    withRepo(async (dir) => {
      const file = join(dir, 'f');
      await writeFile(file, 'x');
      const id = await stat(file);
      const full = 3 * (100 + ENTRY_BYTES);
      const cache = new SmallUploadCache(full);
      const entry = (n: number) => ({ ...meta(n), storedAt: 1 });
      const [m1, m2, m3] = [entry(100), entry(100), entry(100)];
      cache.set(m1, Buffer.alloc(100), id);
      cache.set(m2, Buffer.alloc(100), id);
      cache.set(m3, Buffer.alloc(100), id);
      assert.equal(cache.bytes, full);
      assert.ok(cache.get(m1.id, file), 'm1 used: it gets a second chance');
      const m4 = entry(100);
      cache.set(m4, Buffer.alloc(100), id);
      assert.equal(cache.bytes, full);
      assert.ok(cache.get(m1.id, file));
      assert.equal(cache.get(m2.id, file), undefined, 'the oldest unused entry went');
      assert.ok(cache.get(m3.id, file));
      assert.ok(cache.get(m4.id, file));
    }));

  test('bodies larger than MAX_CACHED_BODY or the whole budget are not kept; the copy is the cache’s own', () =>
    withRepo(async (dir) => {
      const file = join(dir, 'f');
      await writeFile(file, 'x');
      const id = await stat(file);
      const cache = new SmallUploadCache(1024 * 1024);
      const big = { ...meta(MAX_CACHED_BODY + 1), storedAt: 1 };
      assert.equal(cache.set(big, Buffer.alloc(big.size), id), undefined);
      const small = { ...meta(4), storedAt: 1 };
      const source = Buffer.from('abcd');
      const copy = cache.set(small, source, id);
      source.fill(0);
      assert.equal(copy?.toString(), 'abcd');
      assert.equal(new SmallUploadCache(3).set({ ...meta(4), storedAt: 1 }, Buffer.from('abcd'), id), undefined);
    }));
});
