import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, readdir, readFile, writeFile, symlink, mkdir, stat } from 'node:fs/promises';
import { closeSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../../../test/storage-contract.ts';
import { FsStore, MARKER_NAME, type FsStoreOptions } from './index.ts';
import { processFinisher, processRenamer, type RenameOutcome } from '../../native/rename.ts';
import { ensureNative } from '../../../scripts/build/native.ts';
import { newSlotId } from '../../slots/id.ts';
import { encodeHeader, CorruptUploadError } from './format.ts';
import { RepositoryError, SizeMismatchError, StorageFullError, UploadRemovedError } from '../errors.ts';
import type { HandOverBody, HandedOverBody, UploadMeta } from '../store.ts';
import { HAND_OVER_MIN_SIZE } from './receive.ts';

const tempRepo = () => mkdtemp(join(tmpdir(), 'fileupload-fs-'));

/** A fresh store in a fresh repository, for the contract; its cleanup closes it and removes both. */
const contractStore =
  (options: FsStoreOptions = {}) =>
  async () => {
    const dir = await tempRepo();
    const store = new FsStore(dir, options);
    await store.open();
    return {
      store,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };

storeContract('fs', contractStore());
storeContract('fs (durable: false)', contractStore({ durable: false }));
// The fallback publish (no addon, or a file system without RENAME_NOREPLACE) keeps every promise.
storeContract('fs (link + unlink publish)', contractStore({ rename: null }));
// The end of an upload as separate thread-pool steps (no addon) keeps every promise too.
storeContract('fs (separate sync, close, publish)', contractStore({ finish: null }));
// Listing one header at a time through node:fs (no addon) keeps every promise too.
storeContract('fs (headers read one at a time)', contractStore({ scanDir: null }));

const meta = (over: Partial<UploadMeta> = {}): Omit<UploadMeta, 'storedAt'> => ({
  id: newSlotId(),
  filename: 'a.txt',
  size: 5,
  contentType: 'text/plain',
  uploader: 'a@example.org',
  issuedAt: 1,
  purpose: 'message',
  ...over,
});

/** Each upload reads back as `text`, and the store's tmp/ holds nothing. */
async function assertPublishedWhole(
  store: FsStore,
  dir: string,
  uploads: readonly { id: string }[],
  text: string,
  emptyTmp: string,
): Promise<void> {
  for (const m of uploads) {
    const got = await store.read(m.id);
    assert.ok(got?.bytes, m.id);
    assert.equal(Buffer.from(got.bytes).toString(), text);
  }
  assert.deepEqual(await readdir(join(dir, 'tmp')), [], emptyTmp);
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

describe('fs store specifics', () => {
  test('releaseChunks: each written chunk is freed; without it the caller keeps them', async () => {
    const dir = await tempRepo();
    try {
      const s = new FsStore(dir);
      await s.open();
      for (const release of [true, false]) {
        const size = 300 * 1024; // larger than the small-body hold: written as it comes
        const chunks = [0, 1, 2].map((i) => Buffer.alloc(100 * 1024, 97 + i));
        async function* body(): AsyncGenerator<Uint8Array> {
          yield* chunks;
        }
        const m = meta({ size });
        await s.write(m, body(), release ? { releaseChunks: true } : {});
        assert.deepEqual(
          chunks.map((c) => c.length),
          release ? [0, 0, 0] : [100 * 1024, 100 * 1024, 100 * 1024],
        );
        const got = await s.read(m.id);
        const bytes: Buffer[] = [];
        for await (const b of got!.body) bytes.push(Buffer.from(b));
        const all = Buffer.concat(bytes);
        assert.equal(all.length, size);
        assert.equal(all[0], 97);
        assert.equal(all[size - 1], 99, 'the bytes on disk are the chunks as they were before release');
      }
      await s.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a body larger than the small-body hold is on disk before it ends', async () => {
    const dir = await tempRepo();
    try {
      const s = new FsStore(dir);
      await s.open();
      let go!: () => void;
      const later = new Promise<void>((r) => (go = r));
      let sizeMidway = -1;
      async function* body(): AsyncGenerator<Uint8Array> {
        yield Buffer.alloc(32 * 1024, 1);
        // The upload is paused here (a slow client): the first chunk must not wait in memory.
        const [part] = await readdir(join(dir, 'tmp'));
        sizeMidway = (await stat(join(dir, 'tmp', part!))).size;
        go();
        yield Buffer.alloc(1024 * 1024 - 32 * 1024, 2);
      }
      await Promise.all([s.write(meta({ size: 1024 * 1024 }), body()), later]);
      assert.ok(sizeMidway >= 32 * 1024, `written before the rest arrived (temp file ${sizeMidway} bytes)`);
      await s.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('publish: one renameat2 through the addon; a file system that refuses it means link from then on', async () => {
    ensureNative();
    const real = processRenamer();
    assert.ok(real, 'the native addon loads (npm run build)');
    const dir = await tempRepo();
    const asked: RenameOutcome[] = [];
    let refuse = false;
    const store = new FsStore(dir, {
      rename: async (from, to) => {
        const outcome = refuse ? 'unsupported' : await real(from, to);
        asked.push(outcome);
        return outcome;
      },
    });
    try {
      await store.open();
      const a = meta();
      await store.write(a, once(Buffer.from('hello')));
      // Two uploads of one slot at once both pass the early check; the publish lets one through.
      const d = meta();
      const both = await Promise.allSettled([
        store.write(d, once(Buffer.from('hello'))),
        store.write(d, once(Buffer.from('HELLO'))),
      ]);
      assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.match(String((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason), /already/i);
      refuse = true;
      const b = meta();
      const c = meta();
      await store.write(b, once(Buffer.from('hello')));
      await store.write(c, once(Buffer.from('hello')));
      // The two publishes of d race on the thread pool: their answers come back in either order.
      assert.deepEqual(
        [asked[0], ...asked.slice(1, 3).sort(), ...asked.slice(3)],
        ['renamed', 'exists', 'renamed', 'unsupported'],
        'not asked again once refused',
      );
      await assertPublishedWhole(store, dir, [a, b, c], 'hello', 'no temp file left by either publish');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a large body is handed over before its first chunk: buffered bytes first, the rest moved to the right offset; one that cannot is read on; a small one is never asked', async () => {
    const dir = await tempRepo();
    const store = new FsStore(dir);
    const MiB = 1024 * 1024;
    const data = randomBytes(8 * MiB);
    /** Yields 1 MiB pieces; handOver gives the next piece as buffered and moves the rest itself. */
    const body = (mode: 'hand over' | 'refuse' | 'fail') => {
      let at = 0;
      const asked: Array<{ offset: number; length: number }> = [];
      let handOvers = 0;
      const b: HandOverBody = {
        async *[Symbol.asyncIterator]() {
          while (at < data.length) {
            at += MiB;
            yield data.subarray(at - MiB, at);
          }
        },
        handOver: async (): Promise<HandedOverBody | undefined> => {
          handOvers++;
          if (mode === 'refuse') return undefined;
          const buffered = [data.subarray(at, at + MiB)];
          at += MiB;
          return {
            buffered,
            moveTo: async (fd, offset, length, { onMoved }) => {
              asked.push({ offset, length });
              if (mode === 'fail') throw Object.assign(new Error('splice: ENOSPC'), { code: 'ENOSPC' });
              writeSync(fd, data, at, length, offset);
              onMoved?.(length);
            },
          };
        },
      };
      return { b, asked, handOvers: () => handOvers };
    };
    try {
      await store.open();
      const handing = body('hand over');
      const a = meta({ size: data.length });
      await store.write(a, handing.b);
      assert.equal(handing.handOvers(), 1);
      const stored = await readFile(join(dir, 'files', a.id));
      assert.ok(stored.subarray(stored.length - data.length).equals(data), 'header, then the body in order');
      assert.equal(handing.asked.length, 1);
      const moved = handing.asked[0]!;
      assert.equal(moved.offset + moved.length, stored.length, 'the rest ends where the body ends');
      assert.equal(moved.length, data.length - MiB, 'nothing was read through the iterator first');

      const refusing = body('refuse');
      const b = meta({ size: data.length });
      await store.write(b, refusing.b);
      assert.equal(refusing.handOvers(), 1, 'not asked again');
      const read = await readFile(join(dir, 'files', b.id));
      assert.ok(read.subarray(read.length - data.length).equals(data));

      // Below the threshold the body is only iterated (here it is too long for its size: 413).
      const small = body('hand over');
      await assert.rejects(store.write(meta({ size: HAND_OVER_MIN_SIZE - 1 }), small.b), SizeMismatchError);
      assert.equal(small.handOvers(), 0);

      const failing = body('fail');
      const c = meta({ size: data.length });
      await assert.rejects(store.write(c, failing.b), StorageFullError);
      assert.equal(await store.stat(c.id), undefined);
      assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('open() refuses a missing repository and a file in its place', async () => {
    const dir = await tempRepo();
    try {
      await assert.rejects(
        new FsStore(join(dir, 'missing')).open(),
        (e: unknown) => e instanceof RepositoryError && /does not exist/.test(e.message),
      );
      await writeFile(join(dir, 'file'), 'x');
      await assert.rejects(
        new FsStore(join(dir, 'file')).open(),
        (e: unknown) => e instanceof RepositoryError && /not a directory/.test(e.message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('open() creates files/, tmp/ and the marker, and is idempotent', async () => {
    const dir = await tempRepo();
    try {
      const s = new FsStore(dir);
      await s.open();
      await s.open();
      assert.deepEqual((await readdir(dir)).sort(), [MARKER_NAME, 'files', 'tmp']);
      assert.match(await readFile(join(dir, MARKER_NAME), 'utf8'), /fileupload/);
      assert.deepEqual(await readdir(join(dir, 'tmp')), [], 'the probe file is gone');
      await s.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('uploads 0600 and folders 0700 whatever the umask; open() closes top-level folders left open, of this user only', async () => {
    const dir = await tempRepo();
    const old = process.umask(0);
    const s = new FsStore(dir);
    const after: Array<() => Promise<void>> = [];
    try {
      await mkdir(join(dir, 'index', 'users'), { recursive: true, mode: 0o755 });
      await writeFile(join(dir, 'index', 'users', 'entry'), 'x', { mode: 0o644 });
      await mkdir(join(dir, 'locks'), { mode: 0o775 });
      // A folder outside the repository, reached through a symlink in it.
      const outside = await mkdtemp(join(tmpdir(), 'fileupload-outside-'));
      after.push(() => rm(outside, { recursive: true, force: true }));
      await chmod(outside, 0o755);
      await symlink(outside, join(dir, 'elsewhere'));
      await s.open();
      const m = meta();
      await s.write(m, once(Buffer.from('hello')));
      const mode = async (p: string) => (await stat(join(dir, p))).mode & 0o777;
      assert.equal(await mode(`files/${m.id}`), 0o600);
      for (const folder of ['files', 'tmp', 'index', 'locks']) assert.equal(await mode(folder), 0o700, folder);
      assert.equal(await mode('index/users'), 0o755, 'below the top level nothing is changed…');
      assert.equal(await mode('index/users/entry'), 0o644, '…it is closed by its top-level folder');
      assert.equal((await stat(join(dir, 'elsewhere'))).mode & 0o777, 0o755, 'a symlink is not followed');
    } finally {
      process.umask(old);
      for (const f of after) await f();
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an upload is ONE file: FUP1, header length, JSON metadata, body; tmp/ is empty after', async () => {
    const dir = await tempRepo();
    const s = new FsStore(dir);
    try {
      await s.open();
      const m = meta();
      const stored = await s.write(m, once(Buffer.from('hello')));
      const raw = await readFile(join(dir, 'files', m.id));
      assert.equal(raw.subarray(0, 4).toString(), 'FUP1');
      const len = raw.readUInt32BE(4);
      assert.deepEqual(JSON.parse(raw.subarray(8, 8 + len).toString()), stored);
      assert.equal(raw.subarray(8 + len).toString(), 'hello');
      assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('symlinks in files/ are never followed', async () => {
    const dir = await tempRepo();
    const s = new FsStore(dir);
    try {
      await s.open();
      const secret = join(dir, 'secret');
      await writeFile(secret, Buffer.concat([encodeHeader({ ...meta(), storedAt: 1 }), Buffer.from('hello')]));
      const id = newSlotId();
      await symlink(secret, join(dir, 'files', id));
      assert.equal(await s.stat(id), undefined);
      // Any symlink there reads as a tombstone (the failed O_NOFOLLOW open tells): 410, never followed.
      await assert.rejects(s.read(id), UploadRemovedError);
      let listed = 0;
      for await (const _ of s.list()) listed++;
      assert.equal(listed, 0);
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a damaged file is not served and is skipped by list()', async () => {
    const dir = await tempRepo();
    const s = new FsStore(dir);
    try {
      await s.open();
      const bad = newSlotId();
      await writeFile(join(dir, 'files', bad), 'not an upload at all');
      const good = meta();
      await s.write(good, once(Buffer.from('hello')));
      await assert.rejects(s.read(bad), CorruptUploadError);
      const truncated = newSlotId();
      const full = Buffer.concat([
        encodeHeader({ ...meta({ id: truncated, size: 10 }), storedAt: 1 }),
        Buffer.from('12345'),
      ]);
      await writeFile(join(dir, 'files', truncated), full);
      await assert.rejects(s.read(truncated), CorruptUploadError, 'a body shorter than its header says is refused');
      const ids: string[] = [];
      for await (const m of s.list()) ids.push(m.id);
      assert.deepEqual(ids.sort(), [good.id, truncated].sort());
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('list(): batched native reads and one-at-a-time reads agree, long headers and damaged files included', async () => {
    const dir = await tempRepo();
    const batched = new FsStore(dir);
    const single = new FsStore(dir, { scanDir: null });
    try {
      await batched.open();
      const written: UploadMeta[] = [];
      // More than one batch, a header longer than what a batch reads of each file, and files
      // that are not uploads (skipped by both).
      for (let i = 0; i < 600; i++) {
        const long = i % 97 === 0;
        const m = meta({
          filename: long ? `${'ü'.repeat(120)}.txt` : `f${i}.txt`,
          uploader: long ? `${'u'.repeat(2500)}@example.org` : 'a@example.org',
        });
        written.push(await batched.write(m, once(Buffer.from('hello'))));
      }
      await writeFile(join(dir, 'files', newSlotId()), 'not an upload');
      await writeFile(join(dir, 'files', newSlotId()), Buffer.from('FUP1\x00\x00\x10\x00{"id":'));
      const collect = async (s: FsStore): Promise<UploadMeta[]> => {
        const out: UploadMeta[] = [];
        for await (const m of s.list()) out.push(m);
        return out.sort((a, b) => (a.id < b.id ? -1 : 1));
      };
      const want = [...written].sort((a, b) => (a.id < b.id ? -1 : 1));
      assert.deepEqual(await collect(batched), want);
      assert.deepEqual(await collect(single), want);
      assert.ok(
        want.some((m) => m.uploader.length > 2048),
        'a header longer than one batch slot is listed whole',
      );
    } finally {
      await batched.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a file under another id's name is not served as that id", async () => {
    const dir = await tempRepo();
    const s = new FsStore(dir);
    try {
      await s.open();
      const m = meta();
      await s.write(m, once(Buffer.from('hello')));
      const other = newSlotId();
      await writeFile(join(dir, 'files', other), await readFile(join(dir, 'files', m.id)));
      await assert.rejects(s.read(other), CorruptUploadError);
      await assert.rejects(s.stat(other), CorruptUploadError);
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('leftover temp files (a crash) are listed and deletable, and never served', async () => {
    const dir = await tempRepo();
    const s = new FsStore(dir);
    try {
      await s.open();
      const id = newSlotId();
      const name = `${id}.abcdefgh.part`;
      await writeFile(join(dir, 'tmp', name), Buffer.alloc(1234));
      await writeFile(join(dir, 'tmp', 'unrelated'), 'x');
      assert.equal(await s.stat(id), undefined);
      const partial = [];
      for await (const p of s.listPartial()) partial.push(p);
      assert.equal(partial.length, 1);
      assert.equal(partial[0]!.name, name);
      assert.equal(partial[0]!.size, 1234);
      assert.ok(Math.abs(partial[0]!.modifiedAt - Date.now()) < 60_000);
      assert.equal(await s.deletePartial(name), true);
      assert.equal(await s.deletePartial(name), false);
      assert.equal(await s.deletePartial('unrelated'), false, 'only partial-upload names are deleted');
      assert.equal((await stat(join(dir, 'tmp', 'unrelated'))).isFile(), true);
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('finish: one native job by default; refused by the file system means link from then on; its failure leaves nothing', async () => {
    ensureNative();
    const real = processFinisher();
    assert.ok(real, 'the native addon loads (npm run build)');
    const dir = await tempRepo();
    const asked: string[] = [];
    const durables: boolean[] = [];
    let mode: 'real' | 'unsupported' | 'full' = 'real';
    const store = new FsStore(dir, {
      finish: async (fd, durable, from, to) => {
        asked.push(mode);
        durables.push(durable);
        if (mode === 'real') return real(fd, durable, from, to);
        closeSync(fd); // the finisher's contract: the descriptor is closed when it settles
        if (mode === 'full')
          throw Object.assign(new Error('ENOSPC: fdatasync'), { code: 'ENOSPC', syscall: 'fdatasync' });
        return 'unsupported';
      },
    });
    try {
      await store.open();
      const a = meta();
      await store.write(a, once(Buffer.from('hello')));
      // Two uploads of one slot at once both pass the early check; the job publishes one.
      const d = meta();
      const both = await Promise.allSettled([
        store.write(d, once(Buffer.from('hello'))),
        store.write(d, once(Buffer.from('HELLO'))),
      ]);
      assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.match(String((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason), /already/i);
      mode = 'full';
      const f = meta();
      await assert.rejects(store.write(f, once(Buffer.from('hello'))), StorageFullError);
      assert.equal(await store.stat(f.id), undefined);
      mode = 'unsupported';
      const b = meta();
      const c = meta();
      await store.write(b, once(Buffer.from('hello')));
      await store.write(c, once(Buffer.from('hello')));
      assert.deepEqual(asked, ['real', 'real', 'real', 'full', 'unsupported'], 'not asked again once refused');
      assert.deepEqual(new Set(durables), new Set([true]), 'a durable store syncs in the job');
      await assertPublishedWhole(store, dir, [a, b, c], 'hello', 'no temp file left');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('finish: a store that is not durable tells the job not to sync', async () => {
    const dir = await tempRepo();
    const real = processFinisher();
    assert.ok(real);
    const durables: boolean[] = [];
    const store = new FsStore(dir, {
      durable: false,
      finish: (fd, durable, from, to) => {
        durables.push(durable);
        return real(fd, durable, from, to);
      },
    });
    try {
      await store.open();
      await store.write(meta(), once(Buffer.from('hello')));
      assert.deepEqual(durables, [false]);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a full disk is StorageFullError and leaves nothing', async (t) => {
    const dir = await tempRepo();
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      await rm(dir, { recursive: true, force: true });
      t.skip('cannot mount a small tmpfs here');
      return;
    }
    const s = new FsStore(mnt);
    try {
      await s.open();
      const m = meta({ size: 1024 * 1024 });
      async function* body(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 16; i++) yield Buffer.alloc(64 * 1024, 7);
      }
      await assert.rejects(s.write(m, body()), StorageFullError);
      assert.equal(await s.stat(m.id), undefined);
      assert.deepEqual(await readdir(join(mnt, 'tmp')), []);
      assert.deepEqual(await readdir(join(mnt, 'files')), []);
    } finally {
      await s.close();
      execFileSync('umount', [mnt]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
