import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { newSlotId } from '../src/slots/id.ts';
import { readFile } from 'node:fs/promises';
import type { Store, UploadInspector, UploadMeta } from '../src/storage/store.ts';
import {
  InvalidIdError,
  SizeMismatchError,
  UploadAbortedError,
  UploadExistsError,
  UploadRefusedError,
  UploadRemovedError,
} from '../src/storage/errors.ts';

/**
 * The storage contract: every Store backend (fs now, s3 later) must pass this suite unchanged.
 * A backend's test file calls it with a factory for a fresh, empty, opened store.
 *
 * @example
 * storeContract('fs', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'fu-'));
 *   const store = new FsStore(dir);
 *   await store.open();
 *   return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
 * });
 */
export function storeContract(
  name: string,
  makeStore: () => Promise<{ store: Store; cleanup(): Promise<void> }>,
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    before(async () => {
      ({ store, cleanup } = await makeStore());
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    test('a written upload reads back byte-identical with its metadata', async () => {
      for (const size of [0, 1, 1000, 200 * 1024, 3 * 1024 * 1024 + 17]) {
        const data = randomBytes(size);
        const input = meta({ size, filename: `f ü ${size}.bin` });
        const before = Date.now();
        const stored = await store.write(input, chunked(data, [1, 65536, 7, 300_000]));
        assert.ok(stored.storedAt >= before && stored.storedAt <= Date.now(), 'storedAt is the publish time');
        assert.deepEqual(stored, { ...input, storedAt: stored.storedAt });
        assert.deepEqual(await store.stat(input.id), stored);
        const got = await store.read(input.id);
        assert.ok(got);
        assert.deepEqual(got.meta, stored);
        const body = await collect(got.body);
        assert.equal(body.length, size);
        assert.equal(sha(body), sha(data));
        const again = await store.read(input.id);
        if (again?.pipeTo) {
          const sink = collectingSink();
          await again.pipeTo(sink.writable);
          assert.equal(sha(sink.bytes()), sha(data), 'pipeTo writes the same bytes as body');
          assert.equal(sink.writable.writableEnded, false, 'pipeTo leaves ending to the caller');
        } else if (again) {
          await collect(again.body);
        }
      }
    });

    test('every metadata field round-trips', async () => {
      const input = meta({
        filename: 'Grüße «2026».tar.gz',
        contentType: 'application/x-tar',
        uploader: 'zoë@example.org',
        purpose: 'ephemeral',
        expireBefore: Date.now() + 3_600_000,
        size: 3,
      });
      await store.write(input, chunked(Buffer.from('abc')));
      const got = await store.stat(input.id);
      assert.deepEqual(got && { ...got, storedAt: 0 }, { ...input, storedAt: 0 });
      const plain = meta({ size: 1 });
      await store.write(plain, chunked(Buffer.from('x')));
      assert.equal('expireBefore' in ((await store.stat(plain.id)) ?? {}), false);
    });

    test('a body shorter than the size is refused and leaves nothing', async () => {
      const input = meta({ size: 1000 });
      await assert.rejects(store.write(input, chunked(randomBytes(999))), (err: unknown) => {
        assert.ok(err instanceof SizeMismatchError);
        assert.equal(err.expected, 1000);
        assert.equal(err.received, 999);
        return true;
      });
      await assertNothingOf(store, input.id);
    });

    test('an inspector sees exactly the body before it is published; its refusal publishes nothing', async () => {
      for (const size of [0, 5, 200 * 1024, 3 * 1024 * 1024 + 17]) {
        for (const refuse of [false, true]) {
          const data = randomBytes(size);
          const input = meta({ size });
          const seen: { bytes?: Buffer; publishedYet?: boolean } = {};
          const verdict = async (id: string, bytes: Buffer): Promise<void> => {
            seen.bytes = bytes;
            seen.publishedYet = (await store.stat(id)) !== undefined;
            if (refuse) throw new UploadRefusedError(422, 'refused by the inspector');
          };
          const inspect: UploadInspector = {
            inspectFile: async (m, path, start) => verdict(m.id, (await readFile(path)).subarray(start)),
            inspectStream: (m) => {
              const chunks: Buffer[] = [];
              return {
                push: async (chunk) => void chunks.push(Buffer.from(chunk)),
                end: () => verdict(m.id, Buffer.concat(chunks)),
                abort: () => {},
              };
            },
          };
          const writing = store.write(input, chunked(data, [1, 65536, 7, 300_000]), { inspect });
          if (refuse) {
            await assert.rejects(writing, (err: unknown) => err instanceof UploadRefusedError && err.status === 422);
            await assertNothingOf(store, input.id);
          } else {
            await writing;
            const got = await store.read(input.id);
            assert.equal(sha(await collect(got!.body)), sha(data));
          }
          assert.equal(seen.bytes && sha(seen.bytes), sha(data), `the inspector saw the body (${size} bytes)`);
          assert.equal(seen.publishedYet, false, 'inspected before it was published');
        }
      }
    });

    test('a body longer than the size is refused as soon as it passes the size', async () => {
      const input = meta({ size: 100_000 });
      let pulled = 0;
      async function* endless(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 10_000; i++) {
          pulled++;
          yield Buffer.alloc(40_000, 1);
        }
      }
      await assert.rejects(store.write(input, endless()), SizeMismatchError);
      assert.equal(pulled, 3, 'reading stops at the chunk that passes the size');
      await assertNothingOf(store, input.id);
    });

    test('an abort in the middle of a stalled body rejects at once and leaves nothing', async () => {
      const input = meta({ size: 10 * 1024 * 1024 });
      const ac = new AbortController();
      let returned = false;
      const stalled: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]() {
          let n = 0;
          return {
            next: () => {
              n++;
              if (n <= 3) return Promise.resolve({ done: false, value: Buffer.alloc(256 * 1024, 2) });
              if (n === 4) setImmediate(() => ac.abort(new Error('client went away')));
              return new Promise<IteratorResult<Uint8Array>>(() => {}); // never delivers
            },
            return: () => {
              returned = true;
              return Promise.resolve({ done: true, value: undefined });
            },
          };
        },
      };
      await assert.rejects(store.write(input, stalled, { signal: ac.signal }), UploadAbortedError);
      assert.ok(returned, 'the body iterator is told to stop');
      await assertNothingOf(store, input.id);
    });

    test('a body that fails mid-stream (connection reset) leaves nothing', async () => {
      const input = meta({ size: 5 * 1024 * 1024 });
      async function* reset(): AsyncGenerator<Uint8Array> {
        yield Buffer.alloc(2 * 1024 * 1024, 3);
        throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
      }
      await assert.rejects(store.write(input, reset()), /aborted/);
      await assertNothingOf(store, input.id);
    });

    test('an already aborted signal refuses before reading', async () => {
      const input = meta({ size: 1 });
      let pulled = false;
      async function* body(): AsyncGenerator<Uint8Array> {
        pulled = true;
        yield Buffer.from('x');
      }
      await assert.rejects(store.write(input, body(), { signal: AbortSignal.abort() }), UploadAbortedError);
      assert.equal(pulled, false);
      await assertNothingOf(store, input.id);
    });

    test('a second write of a published id fails without reading its body and keeps the first', async () => {
      const input = meta({ size: 5 });
      await store.write(input, chunked(Buffer.from('first')));
      let pulled = false;
      async function* second(): AsyncGenerator<Uint8Array> {
        pulled = true;
        yield Buffer.from('other');
      }
      await assert.rejects(store.write(input, second()), UploadExistsError);
      assert.equal(pulled, false, 'the second body is never read');
      const got = await store.read(input.id);
      assert.equal(Buffer.from(await collect(got!.body)).toString(), 'first');
    });

    test('concurrent writes of one id: exactly one wins, the others get UploadExistsError', async () => {
      const id = newSlotId();
      const size = 300 * 1024;
      const bodies = Array.from({ length: 6 }, () => randomBytes(size));
      const results = await Promise.allSettled(bodies.map((b) => store.write(meta({ id, size }), chunked(b, [65536]))));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one write wins');
      for (const r of results)
        if (r.status === 'rejected') assert.ok(r.reason instanceof UploadExistsError, String(r.reason));
      const winner = bodies[results.indexOf(won[0]!)]!;
      const got = await store.read(id);
      assert.equal(sha(await collect(got!.body)), sha(winner), 'what is served is the winner, whole');
      assert.equal(await count(store.listPartial()), 0, 'the losers left no partial files');
    });

    test('ranges return exactly the selected bytes', async () => {
      for (const size of [10, 300 * 1024, 2 * 1024 * 1024 + 5]) {
        const data = randomBytes(size);
        const input = meta({ size });
        await store.write(input, chunked(data));
        const cases: [number, number][] = [
          [0, 0],
          [0, size - 1],
          [size - 1, size - 1],
          [Math.floor(size / 3), Math.floor((2 * size) / 3)],
          [Math.max(0, size - 5), size - 1],
        ];
        for (const [start, end] of cases) {
          const got = await store.read(input.id, { start, end });
          assert.equal(sha(await collect(got!.body)), sha(data.subarray(start, end + 1)), `${size}: ${start}-${end}`);
        }
        const viaFn = await store.read(input.id, (m) => ({ start: m.size - 3, end: m.size - 1 }));
        assert.equal(sha(await collect(viaFn!.body)), sha(data.subarray(size - 3)));
        await assert.rejects(store.read(input.id, { start: 0, end: size }), RangeError);
        await assert.rejects(store.read(input.id, { start: 5, end: 4 }), RangeError);
      }
    });

    test('pipeTo (when offered) writes ranges exactly and fails when the destination closes', async () => {
      const size = 3 * 1024 * 1024 + 11;
      const data = randomBytes(size);
      const input = meta({ size });
      await store.write(input, chunked(data));
      for (const [start, end] of [
        [0, 9],
        [5, size - 1],
        [size - 100, size - 1],
        [0, size - 1],
      ] as const) {
        const got = await store.read(input.id, { start, end });
        if (!got?.pipeTo) return; // optional fast path
        const sink = collectingSink();
        await got.pipeTo(sink.writable);
        assert.equal(sha(sink.bytes()), sha(data.subarray(start, end + 1)), `${start}-${end}`);
      }
      for (let i = 0; i < 20; i++) {
        const got = await store.read(input.id);
        let written = 0;
        const dest = new Writable({
          highWaterMark: 1,
          write(chunk: Buffer, _enc, cb) {
            written += chunk.length;
            if (written > 1024 * 1024) dest.destroy();
            setImmediate(cb);
          },
        });
        await assert.rejects(got!.pipeTo!(dest));
      }
      // Still readable afterwards (handles and buffers were released properly).
      const again = await store.read(input.id);
      assert.equal(sha(await collect(again!.body)), sha(data));
    });

    test('a null selection returns the metadata and no body', async () => {
      const input = meta({ size: 4 });
      await store.write(input, chunked(Buffer.from('data')));
      let seen: UploadMeta | undefined;
      const got = await store.read(input.id, (m) => {
        seen = m;
        return null;
      });
      assert.equal(seen?.id, input.id);
      assert.equal(got?.meta.id, input.id);
      assert.equal((await collect(got!.body)).length, 0);
    });

    test('a large body can be abandoned after its first chunk', async () => {
      const size = 4 * 1024 * 1024;
      const input = meta({ size });
      await store.write(input, chunked(randomBytes(size)));
      for (let i = 0; i < 20; i++) {
        const got = await store.read(input.id);
        for await (const chunk of got!.body) {
          assert.ok(chunk.length > 0);
          break;
        }
      }
    });

    test('unknown and malformed ids are simply absent; writes refuse malformed ids', async () => {
      for (const id of [
        newSlotId(),
        '',
        '..',
        '../files',
        'a/b',
        '%2e%2e',
        'A'.repeat(25),
        'AAAAAAAAAAAAAAAAAAAAAAA\\',
      ]) {
        assert.equal(await store.stat(id), undefined, id);
        assert.equal(await store.read(id), undefined, id);
        assert.equal(await store.delete(id), false, id);
      }
      await assert.rejects(
        store.write(meta({ id: '../../etc/passwd', size: 1 }), chunked(Buffer.from('x'))),
        InvalidIdError,
      );
    });

    test('uploads imported from the Openfire plugin keep their ids and their publish time', async () => {
      const storedAt = Date.parse('2023-05-04T10:00:00Z');
      const ids = [`-${randomBytes(20).toString('base64url').slice(1)}`, crypto.randomUUID()];
      for (const id of ids) {
        const input = meta({ id, filename: id, uploader: '', size: 5, issuedAt: storedAt });
        const stored = await store.write(input, chunked(Buffer.from('hello')), { storedAt });
        assert.deepEqual(stored, { ...input, storedAt });
        assert.deepEqual(await store.stat(id), stored);
        const got = await store.read(id);
        assert.equal(got && sha(await collect(got.body)), sha(Buffer.from('hello')));
      }
      const listed = new Set<string>();
      for await (const m of store.list()) listed.add(m.id);
      for (const id of ids) assert.ok(listed.has(id), `${id} is listed`);
      for (const id of ids) assert.equal(await store.delete(id), true);
      for (const bad of [ids[1]!.toUpperCase(), 'A'.repeat(26), 'A'.repeat(28), `${ids[1]!.slice(0, -1)}g`]) {
        assert.equal(await store.stat(bad), undefined, bad);
        await assert.rejects(store.write(meta({ id: bad, size: 1 }), chunked(Buffer.from('x'))), InvalidIdError, bad);
      }
    });

    test('delete removes a published upload', async () => {
      const input = meta({ size: 2 });
      await store.write(input, chunked(Buffer.from('hi')));
      assert.equal(await store.delete(input.id), true);
      assert.equal(await store.stat(input.id), undefined);
      assert.equal(await store.read(input.id), undefined);
      assert.equal(await store.delete(input.id), false);
    });

    test('a tombstone replaces a published upload: not stat, read or listed, and a write of the id is refused unread', async () => {
      const input = meta({ size: 2 });
      assert.equal(await store.occupant(input.id), undefined);
      const stored = await store.write(input, chunked(Buffer.from('hi')));
      assert.equal(await store.occupant(input.id), 'upload');
      assert.deepEqual(await store.tombstone(input.id), stored, 'resolves to the upload it removed');
      await assertNothingOf(store, input.id, true);
      assert.equal(await store.occupant(input.id), 'tombstone');
      let pulled = false;
      async function* again(): AsyncGenerator<Uint8Array> {
        pulled = true;
        yield Buffer.from('hi');
      }
      await assert.rejects(store.write(input, again()), UploadRemovedError);
      assert.equal(pulled, false, 'the body is never read');
      assert.equal(await store.tombstone(input.id), undefined, 'a second tombstone finds no upload');
      assert.equal(await store.delete(input.id), false, 'delete sees no upload either');
      await assert.rejects(store.write(input, chunked(Buffer.from('hi'))), UploadRemovedError, 'still there');
      assert.equal(await store.dropTombstone(input.id), true);
      assert.equal(await store.dropTombstone(input.id), false);
      await assertNothingOf(store, input.id);
      assert.equal(await store.occupant(input.id), undefined);
    });

    test('a tombstone of an id never uploaded refuses its first write; dropTombstone leaves uploads alone', async () => {
      const input = meta({ size: 1 });
      assert.equal(await store.tombstone(input.id), undefined);
      await assert.rejects(store.write(input, chunked(Buffer.from('x'))), UploadRemovedError);
      await assertNothingOf(store, input.id, true);
      const other = meta({ size: 1 });
      await store.write(other, chunked(Buffer.from('y')));
      assert.equal(await store.dropTombstone(other.id), false);
      assert.ok(await store.stat(other.id), 'an upload is not a tombstone');
      assert.equal(await store.dropTombstone('../files/x'), false);
      assert.equal(await store.dropTombstone(input.id), true);
    });

    test('a write under way when the tombstone lands does not publish', async () => {
      const input = meta({ size: 4 });
      let go!: () => void;
      const gate = new Promise<void>((resolve) => (go = resolve));
      let started!: () => void;
      const pulling = new Promise<void>((resolve) => (started = resolve));
      async function* body(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('ab');
        started();
        await gate;
        yield Buffer.from('cd');
      }
      const writing = store.write(input, body());
      await pulling;
      assert.equal(await store.tombstone(input.id), undefined);
      go();
      await assert.rejects(writing, UploadRemovedError);
      await assertNothingOf(store, input.id, true);
      assert.equal(await store.dropTombstone(input.id), true);
    });

    test('list streams every published upload exactly once, and may be stopped early', async () => {
      const before = new Set<string>();
      for await (const m of store.list()) before.add(m.id);
      const ids = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const input = meta({ size: 1 });
        await store.write(input, chunked(Buffer.from([i])));
        ids.add(input.id);
      }
      const seen: string[] = [];
      for await (const m of store.list()) if (!before.has(m.id)) seen.push(m.id);
      assert.equal(seen.length, ids.size);
      assert.deepEqual(new Set(seen), ids);
      let n = 0;
      for await (const _ of store.list()) if (++n === 3) break;
      assert.equal(n, 3);
    });

    test('partial uploads can be listed and deleted by name', async () => {
      assert.equal(await count(store.listPartial()), 0);
      assert.equal(await store.deletePartial('not-a-partial'), false);
      assert.equal(await store.deletePartial('../files/x'), false);
    });
  });
}

/** A slot's metadata with defaults for a test. */
function meta(over: Partial<Omit<UploadMeta, 'storedAt'>> = {}): Omit<UploadMeta, 'storedAt'> {
  return {
    id: newSlotId(),
    filename: 'test.bin',
    size: 0,
    contentType: 'application/octet-stream',
    uploader: 'alice@example.org',
    issuedAt: Date.now() - 1000,
    purpose: 'message',
    ...over,
  };
}

/** Yields `data` in pieces of the given sizes (cycled), like a network stream would. */
async function* chunked(data: Uint8Array, sizes: number[] = [65536]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const n = sizes[i++ % sizes.length]!;
    yield data.subarray(at, at + n);
    at += n;
  }
}

/** A Writable that keeps copies of what it is given. */
function collectingSink(): { writable: Writable; bytes(): Buffer } {
  const parts: Buffer[] = [];
  const writable = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk)); // a copy: the writer may reuse its buffer after cb
      cb();
    },
  });
  return { writable, bytes: () => Buffer.concat(parts) };
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

async function count(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Nothing of `id` is visible; `removed`: a tombstone is there, which a read tells apart (410). */
async function assertNothingOf(store: Store, id: string, removed = false): Promise<void> {
  assert.equal(await store.stat(id), undefined, 'nothing is visible');
  if (removed) {
    await assert.rejects(store.read(id), UploadRemovedError, 'a read says removed');
    await assert.rejects(store.read(id, null), UploadRemovedError, 'a read of the metadata only too');
  } else assert.equal(await store.read(id), undefined, 'nothing is readable');
  for await (const m of store.list()) assert.notEqual(m.id, id, 'nothing is listed');
  for await (const p of store.listPartial()) assert.ok(!p.name.startsWith(id), `no partial left: ${p.name}`);
}
