/**
 * The blocklist against a real repository, the same for a folder (blocklist.test.ts) and a
 * bucket (blocklist-s3.test.ts, on a throw-away radosgw): concurrent additions from several
 * writers all land; the store's inspection hook refuses blocked bytes before anything is
 * published (the fs store hashes its temp file, the S3 store the passing stream); a takedown
 * removes every stored copy of the bytes — and reads only the uploads of the same size.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { newSlotId } from '../src/slots/id.ts';
import type { Slot } from '../src/slots/slot.ts';
import { Ledger } from '../src/inventory/ledger.ts';
import type { IndexStore } from '../src/inventory/index-store/store.ts';
import { UploadRefusedError, UploadRemovedError } from '../src/storage/errors.ts';
import type { Store, UploadMeta } from '../src/storage/store.ts';
import { createLogger } from '../src/log.ts';
import { createBlocklistInspector } from '../src/blocklist/inspect.ts';
import { addToBlocklist, BlocklistView, removeFromBlocklist, type BlocklistStore } from '../src/blocklist/store.ts';
import { NoSuchUploadError, takeDown } from '../src/blocklist/takedown.ts';

/** One repository to run the suite on; `close` removes it. */
export interface BlocklistRepository {
  store: Store;
  index: IndexStore;
  /** A store object of the same list, as another node would open it. */
  blocklist(): BlocklistStore;
  close(): Promise<void>;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const quiet = createLogger({}, { write: () => {} });

/**
 * Registers the suite for one storage; `open` is called in before() (a fixture may start there).
 *
 * @example
 * blocklistSuite('fs', async () => openFsRepository());
 */
export function blocklistSuite(storage: string, open: () => Promise<BlocklistRepository>): void {
  describe(`blocklist (${storage})`, () => {
    let repo: BlocklistRepository;
    let ledger: Ledger;
    before(async () => {
      repo = await open();
      ledger = new Ledger(repo.index);
    });
    after(() => repo?.close());

    const slotFor = (size: number): Slot => {
      const now = Date.now();
      return {
        id: newSlotId(),
        filename: 'f.bin',
        size,
        uploader: 'alice@example.org',
        issuedAt: now,
        expiresAt: now + 300_000,
        purpose: 'message',
      };
    };
    /** Issues a slot (live in the ledger) and stores `bytes` under it. */
    const upload = async (bytes: Buffer): Promise<UploadMeta> => {
      const slot = slotFor(bytes.length);
      await ledger.recordSlotIssued(slot);
      const meta = await repo.store.write(
        { ...slot, contentType: 'application/octet-stream' },
        (async function* () {
          yield bytes;
        })(),
      );
      await ledger.recordUploadStored(meta);
      return meta;
    };

    it('additions from several writers at once all land; rm takes one off', async () => {
      const hashes = Array.from({ length: 6 }, () => sha(randomBytes(8)));
      await Promise.all(
        hashes.map((h) => addToBlocklist(repo.blocklist(), { sha256: h, added: '', by: 'test', note: '' })),
      );
      const { entries, version } = await repo.blocklist().read();
      assert.deepEqual(entries.map((e) => e.sha256).sort(), [...hashes].sort());
      assert.equal(await repo.blocklist().version(), version);
      for (const h of hashes) assert.ok(await removeFromBlocklist(repo.blocklist(), h));
      assert.deepEqual((await repo.blocklist().read()).entries, []);
      assert.notEqual(await repo.blocklist().version(), version);
    });

    it('the store refuses blocked bytes before publishing them; other bytes are stored', async () => {
      const bad = randomBytes(70_000);
      const list = repo.blocklist();
      await addToBlocklist(list, { sha256: sha(bad), added: '', by: 'test', note: '' });
      const view = new BlocklistView(list, { maxAge: 0 });
      const inspect = createBlocklistInspector({ hashes: () => view.hashes(), logger: quiet });
      const slot = slotFor(bad.length);
      const chunks = async function* (b: Buffer) {
        for (let i = 0; i < b.length; i += 16_384) yield b.subarray(i, i + 16_384);
      };
      await assert.rejects(
        repo.store.write({ ...slot, contentType: 'application/octet-stream' }, chunks(bad), { inspect }),
        (err: unknown) => err instanceof UploadRefusedError && err.status === 403,
      );
      assert.equal(await repo.store.stat(slot.id), undefined, 'nothing published');
      for await (const p of repo.store.listPartial()) assert.ok(!p.name.startsWith(slot.id), 'no temp file left');
      const good = Buffer.from(bad);
      good[0] = good[0]! ^ 1;
      const other = slotFor(good.length);
      await repo.store.write({ ...other, contentType: 'application/octet-stream' }, chunks(good), { inspect });
      assert.equal((await repo.store.stat(other.id))?.size, good.length);
      await removeFromBlocklist(list, sha(bad));
    });

    it('a takedown by id removes every stored copy and reads only the uploads of the same size', async () => {
      const bytes = randomBytes(1234);
      const first = await upload(bytes);
      const copy = await upload(bytes);
      const sameSize = await upload(randomBytes(1234));
      const otherSize = await upload(randomBytes(99));
      let sizeMatches = 0;
      for await (const m of repo.store.list()) if (m.size === 1234) sizeMatches++;

      const result = await takeDown(
        { store: repo.store, ledger, blocklist: repo.blocklist(), logger: quiet },
        { id: first.id },
        { by: 'test', note: 'case 1' },
      );
      assert.equal(result.sha256, sha(bytes));
      assert.equal(result.added, true);
      assert.deepEqual(result.removed.map((m) => m.id).sort(), [first.id, copy.id].sort());
      assert.equal(result.hashed, sizeMatches, 'the uploads of that size, and no other');
      assert.deepEqual(result.failed, []);
      for (const id of [first.id, copy.id]) {
        assert.equal(await repo.store.stat(id), undefined);
        await assert.rejects(repo.store.read(id), UploadRemovedError, 'a live slot leaves a tombstone: 410');
      }
      assert.ok(await repo.store.stat(sameSize.id), 'same size, other bytes: kept');
      assert.ok(await repo.store.stat(otherSize.id), 'other size: kept');
      const entry = (await repo.blocklist().read()).entries.find((e) => e.sha256 === sha(bytes));
      assert.equal(entry?.note, 'case 1');
      assert.equal(entry?.by, 'test');

      await assert.rejects(
        takeDown({ store: repo.store, ledger, blocklist: repo.blocklist() }, { id: first.id }, { by: 'test' }),
        NoSuchUploadError,
        'taken down already',
      );
      await removeFromBlocklist(repo.blocklist(), sha(bytes));
    });

    it('a takedown by sha256 (with its size) removes the copies; an unknown id changes nothing', async () => {
      const bytes = randomBytes(4321);
      const a = await upload(bytes);
      const result = await takeDown(
        { store: repo.store, ledger, blocklist: repo.blocklist() },
        { sha256: sha(bytes), size: bytes.length },
        { by: 'test' },
      );
      assert.deepEqual(
        result.removed.map((m) => m.id),
        [a.id],
      );
      const before = (await repo.blocklist().read()).entries.length;
      await assert.rejects(
        takeDown({ store: repo.store, ledger, blocklist: repo.blocklist() }, { id: newSlotId() }, { by: 'test' }),
        NoSuchUploadError,
      );
      assert.equal((await repo.blocklist().read()).entries.length, before);
      await removeFromBlocklist(repo.blocklist(), sha(bytes));
    });
  });
}
