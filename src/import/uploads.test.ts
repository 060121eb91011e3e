import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../storage/fs/index.ts';
import { FsIndexStore } from '../inventory/index-store/fs.ts';
import { Ledger } from '../inventory/ledger.ts';
import { importPluginUploads } from './uploads.ts';

const SECURE = '-q3W0n7V4uXy1Z2a_bC-dEfGhIj';
const UUID = '9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c';
const PNG = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(100, 7)]);

async function bodyOf(store: FsStore, id: string): Promise<Buffer> {
  const got = await store.read(id);
  assert.ok(got, id);
  const chunks: Uint8Array[] = [];
  for await (const c of got.body) chunks.push(c);
  return Buffer.concat(chunks);
}

test('each plugin file becomes an upload under its id with size, mtime, sniffed type and no uploader; a re-run skips it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'import-uploads-'));
  try {
    const plugin = join(dir, 'plugin');
    const repo = join(dir, 'repo');
    await mkdir(plugin);
    await mkdir(repo);
    await writeFile(join(plugin, SECURE), PNG);
    await writeFile(join(plugin, UUID), '');
    await writeFile(join(plugin, 'README'), 'not an upload');
    const mtime = new Date('2024-03-01T10:00:00Z');
    await utimes(join(plugin, SECURE), mtime, mtime);
    const store = new FsStore(repo, { durable: false });
    await store.open();
    const ledger = new Ledger(new FsIndexStore(join(repo, 'index')));

    const dry = await importPluginUploads({ source: plugin, store, ledger: undefined, mode: 'copy', dryRun: true });
    assert.deepEqual([dry.found, dry.imported, dry.importedBytes, dry.already], [2, 2, PNG.length, 0]);
    assert.equal(await store.stat(SECURE), undefined, 'a dry run imports nothing');

    const r = await importPluginUploads({ source: plugin, store, ledger, mode: 'copy', dryRun: false });
    assert.deepEqual([r.found, r.imported, r.already, r.failed.length], [2, 2, 0, 0]);
    assert.deepEqual(
      r.skipped.map((s) => s.name),
      ['README'],
    );
    const meta = await store.stat(SECURE);
    assert.deepEqual(
      { ...meta },
      {
        id: SECURE,
        filename: SECURE,
        size: PNG.length,
        contentType: 'image/png',
        uploader: '',
        issuedAt: mtime.getTime(),
        storedAt: mtime.getTime(),
        purpose: 'message',
      },
    );
    assert.deepEqual(await bodyOf(store, SECURE), PNG);
    assert.equal((await store.stat(UUID))?.size, 0);
    assert.deepEqual((await readdir(plugin)).sort(), ['README', SECURE, UUID].sort(), 'copy leaves the plugin files');
    assert.deepEqual(
      (await ledger.userEntries('')).stored.map((e) => [e.id, e.storedAt]).sort(),
      [
        [SECURE, mtime.getTime()],
        [UUID, (await store.stat(UUID))?.storedAt],
      ].sort(),
      'indexed at once, under the empty uploader (slots ls lists them from the index)',
    );

    const again = await importPluginUploads({ source: plugin, store, ledger, mode: 'copy', dryRun: false });
    assert.deepEqual([again.imported, again.already], [0, 2]);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('move removes each plugin file once its copy is published; a size clash is reported, never overwritten', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'import-move-'));
  try {
    const plugin = join(dir, 'plugin');
    const repo = join(dir, 'repo');
    await mkdir(plugin);
    await mkdir(repo);
    await writeFile(join(plugin, SECURE), 'abc');
    await writeFile(join(plugin, UUID), 'hello');
    const store = new FsStore(repo, { durable: false });
    await store.open();
    await store.write(
      { id: UUID, filename: UUID, size: 2, contentType: 'text/plain', uploader: '', issuedAt: 1, purpose: 'message' },
      (async function* () {
        yield Buffer.from('hi');
      })(),
    );
    const ledger = new Ledger(new FsIndexStore(join(repo, 'index')));
    const dry = await importPluginUploads({ source: plugin, store, ledger: undefined, mode: 'move', dryRun: true });
    assert.deepEqual([dry.imported, dry.removed, dry.failed.length], [1, 1, 1]);
    assert.deepEqual((await readdir(plugin)).sort(), [SECURE, UUID].sort(), 'a dry run removes nothing');
    const r = await importPluginUploads({ source: plugin, store, ledger, mode: 'move', dryRun: false });
    assert.deepEqual([r.imported, r.removed], [1, 1]);
    assert.equal(r.failed.length, 1);
    assert.match(r.failed[0]!.reason, /already holds .* 2 bytes, the plugin's file has 5/);
    assert.deepEqual(await readdir(plugin), [UUID]);
    assert.deepEqual(await bodyOf(store, SECURE), Buffer.from('abc'));
    assert.deepEqual(await bodyOf(store, UUID), Buffer.from('hi'));
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
