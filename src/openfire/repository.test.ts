import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPluginUploadId, scanPluginRepository, type PluginUpload, type SkippedEntry } from './repository.ts';

const SECURE = 'q3W0n7V4uXy1Z2a_bC-dEfGhIjA'; // 27
const DASHED = '-3W0n7V4uXy1Z2a_bC-dEfGhIjQ';
const LEGACY = '9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c';

test('ids: 27 base64url characters, possibly leading with -, or a lower-case UUID', () => {
  for (const id of [SECURE, DASHED, LEGACY]) assert.ok(isPluginUploadId(id), id);
  for (const id of [
    SECURE.slice(1),
    SECURE + 'A',
    'q3W0n7V4uXy1Z2a/bC-dEfGhIjA',
    LEGACY.toUpperCase(),
    'a'.repeat(24),
    '.DS_Store',
  ])
    assert.ok(!isPluginUploadId(id), id);
});

test('a plugin repository: raw files by id with size, mtime and sniffed type; the rest skipped with a reason', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'openfire-repo-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const repo = join(root, 'httpfileupload');
  mkdirSync(repo);
  const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(100, 7)]);
  writeFileSync(join(repo, SECURE), png);
  writeFileSync(join(repo, DASHED), '%PDF-1.4\n...');
  writeFileSync(join(repo, LEGACY), ''); // an empty upload is an upload
  writeFileSync(join(repo, LEGACY.toUpperCase()), 'x');
  writeFileSync(join(repo, '.DS_Store'), 'x');
  mkdirSync(join(repo, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA'));
  writeFileSync(join(root, 'outside'), 'GIF89a');
  symlinkSync(join(root, 'outside'), join(repo, 'BBBBBBBBBBBBBBBBBBBBBBBBBBB'));
  symlinkSync(join(root, 'gone'), join(repo, 'CCCCCCCCCCCCCCCCCCCCCCCCCCC'));
  const when = new Date('2024-03-01T12:00:00Z');
  utimesSync(join(repo, SECURE), when, when);

  const uploads = new Map<string, PluginUpload>();
  const skipped = new Map<string, SkippedEntry>();
  for await (const e of scanPluginRepository(repo)) {
    if (e.kind === 'upload') uploads.set(e.id, e);
    else skipped.set(e.name, e);
  }
  assert.deepEqual([...uploads.keys()].sort(), ['BBBBBBBBBBBBBBBBBBBBBBBBBBB', DASHED, LEGACY, SECURE].sort());
  assert.deepEqual(uploads.get(SECURE), {
    kind: 'upload',
    id: SECURE,
    path: join(repo, SECURE),
    size: 108,
    mtimeMs: when.getTime(),
    contentType: 'image/png',
  });
  assert.equal(uploads.get(DASHED)?.contentType, 'application/pdf');
  assert.equal(uploads.get(LEGACY)?.size, 0);
  assert.equal(uploads.get(LEGACY)?.contentType, 'application/octet-stream');
  assert.equal(
    uploads.get('BBBBBBBBBBBBBBBBBBBBBBBBBBB')?.contentType,
    'image/gif',
    'a link is followed, as by the plugin',
  );

  assert.deepEqual(
    [...skipped.keys()].sort(),
    ['.DS_Store', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA', 'CCCCCCCCCCCCCCCCCCCCCCCCCCC', LEGACY.toUpperCase()].sort(),
  );
  assert.match(skipped.get(LEGACY.toUpperCase())?.reason ?? '', /upper-case UUID/);
  assert.match(skipped.get('.DS_Store')?.reason ?? '', /not a plugin upload id/);
  assert.match(skipped.get('AAAAAAAAAAAAAAAAAAAAAAAAAAA')?.reason ?? '', /a directory/);
  assert.match(skipped.get('CCCCCCCCCCCCCCCCCCCCCCCCCCC')?.reason ?? '', /cannot be read: .*ENOENT/);

  const plain = [];
  for await (const e of scanPluginRepository(repo, { sniff: false }))
    if (e.kind === 'upload') plain.push(e.contentType);
  assert.ok(plain.every((c) => c === 'application/octet-stream'));
});

test('a missing repository folder is an ENOENT error', async () => {
  await assert.rejects(
    async () => {
      for await (const _ of scanPluginRepository(join(tmpdir(), 'no-such-openfire-repo-' + process.pid))) void _;
    },
    { code: 'ENOENT' },
  );
});
