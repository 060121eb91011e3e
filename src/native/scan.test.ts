import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNative } from '../../scripts/build/native.ts';
import { loadSendfile } from './sendfile.ts';
import { dirScanFor, errnoName, type DirScan } from './scan.ts';

function scanner(): DirScan {
  ensureNative();
  const got = loadSendfile();
  assert.ok(got.addon, got.addon ? '' : got.reason);
  const scan = dirScanFor(got.addon);
  assert.ok(scan, 'the addon has scanDir');
  return scan;
}

/** name → its first bytes as text, or its errno's name, over every batch. */
async function scanAll(scan: DirScan, dir: string, headBytes: number, jobs: number): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  for await (const b of scan(dir, headBytes, jobs)) {
    for (let i = 0; i < b.count; i++) {
      const r = b.result(i);
      const name = b.name(i);
      assert.equal(seen.has(name), false, `${name} listed once`);
      seen.set(name, r < 0 ? errnoName(r) : b.buf.toString('utf8', b.start(i), b.start(i) + r));
    }
  }
  return seen;
}

test('scanDir: every regular file once with its first bytes, across batches and jobs; links, folders, FIFOs and dot names left out', async () => {
  const scan = scanner();
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-scan-'));
  try {
    const want = new Map<string, string>();
    // More files than one job takes (256), with names of every length up to 255 bytes.
    for (let i = 0; i < 1000; i++) {
      const name = i === 7 ? 'n'.repeat(255) : i === 8 ? 'é'.repeat(100) : `f${i}`;
      const body = i % 3 === 0 ? '' : `body of ${i} `.repeat(i % 5);
      await writeFile(join(dir, name), body);
      want.set(name, body.slice(0, 32));
    }
    await writeFile(join(dir, '.hidden'), 'x');
    await symlink(join(dir, 'f1'), join(dir, 'link'));
    await mkdir(join(dir, 'sub'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    for (const jobs of [1, 4]) assert.deepEqual(await scanAll(scan, dir, 32, jobs), want, `${jobs} job(s) at once`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('scanDir: a missing folder lists nothing; a file instead of a folder rejects like node:fs; an early stop closes the folder', async () => {
  const scan = scanner();
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-scan-'));
  try {
    assert.equal((await scanAll(scan, join(dir, 'nope'), 16, 2)).size, 0);
    await writeFile(join(dir, 'file'), 'x');
    await assert.rejects(scanAll(scan, join(dir, 'file'), 16, 2), { code: 'ENOTDIR' });
    for (let i = 0; i < 600; i++) await writeFile(join(dir, `f${i}`), 'x');
    // Whatever else the process opens meanwhile (libuv may set up io_uring), none may be the folder.
    const openOnFolder = (): string[] =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === dir;
        } catch {
          return false; // closed meanwhile
        }
      });
    let stopped = false;
    for await (const _ of scan(dir, 16, 3)) {
      assert.equal(openOnFolder().length, 1, 'the folder is open while it is listed');
      stopped = true;
      break;
    }
    assert.ok(stopped);
    assert.deepEqual(openOnFolder(), [], 'no descriptor left open on the folder');
    await assert.rejects(async () => {
      for await (const _ of scan(dir, 4, 1));
    }, /headBytes/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
