import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freeSpaceVerdict,
  gatherRepositoryFacts,
  repositoryVerdict,
  repositoryVerdicts,
  sameFilesystemVerdict,
  type RepositoryFacts,
} from './repository.ts';

const MiB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'doctor-repo-'));
const mounts: string[] = [];
const isRoot = process.getuid?.() === 0;

function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
}

after(() => {
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  rmSync(root, { recursive: true, force: true });
});

const statuses = (facts: RepositoryFacts) => repositoryVerdicts(facts).map((r) => `${r.check}:${r.status}`);

describe('repository checks on real folders', () => {
  test('raw uploads of the Openfire plugin that were not imported are warned about, imported ones are not', async () => {
    const repo = join(root, 'openfire');
    mkdirSync(join(repo, 'files'), { recursive: true });
    mkdirSync(join(repo, 'tmp'));
    const secure = '-q3W0n7V4uXy1Z2a_bC-dEfGhIj';
    const uuid = '9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c';
    writeFileSync(join(repo, secure), 'raw');
    writeFileSync(join(repo, uuid), 'raw');
    writeFileSync(join(repo, 'notes.txt'), 'not an upload');
    let r = repositoryVerdict(await gatherRepositoryFacts(repo, 1024));
    assert.equal(r.status, 'warn');
    assert.match(r.message, /holds 2 uploads of the Openfire plugin that are not imported .*old URLs answer 404/);
    assert.match(r.fix ?? '', /import openfire/);
    writeFileSync(join(repo, 'files', uuid), 'imported');
    r = repositoryVerdict(await gatherRepositoryFacts(repo, 1024));
    assert.match(r.message, new RegExp(`holds 1 upload of the Openfire plugin that is not imported \\(${secure}\\)`));
    writeFileSync(join(repo, 'files', secure), 'imported');
    assert.equal(repositoryVerdict(await gatherRepositoryFacts(repo, 1024)).status, 'pass');
  });

  test('a writable folder passes all three and the probe file is gone afterwards', async () => {
    const repo = join(root, 'good');
    mkdirSync(join(repo, 'tmp'), { recursive: true });
    mkdirSync(join(repo, 'files'));
    const facts = await gatherRepositoryFacts(repo, 1024);
    assert.deepEqual(statuses(facts), ['repository:pass', 'same-filesystem:pass', 'free-space:pass']);
    assert.equal(facts.probedIn, join(repo, 'tmp'));
    assert.deepEqual(readdirSync(join(repo, 'tmp')), []);
  });

  test('a missing folder fails (serve does not create it) and the others are skipped', async () => {
    const repo = join(root, 'missing');
    const facts = await gatherRepositoryFacts(repo, 1024);
    const r = repositoryVerdict(facts);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /does not exist/);
    assert.match(r.fix ?? '', new RegExp(`mkdir -p ${repo}`));
    assert.deepEqual(statuses(facts).slice(1), ['same-filesystem:skip', 'free-space:skip']);
  });

  test('a file instead of a folder fails', async () => {
    const path = join(root, 'a-file');
    writeFileSync(path, 'x');
    assert.match(repositoryVerdict(await gatherRepositoryFacts(path, 1024)).message, /is not a folder/);
  });

  test('an unset fileRepo warns: uploads would be lost when serve stops', async () => {
    const r = repositoryVerdict(await gatherRepositoryFacts(undefined, 1024));
    assert.equal(r.status, 'warn');
    assert.match(r.message, /private temporary folder/);
  });

  test(
    'a read-only filesystem fails as read-only (even for root)',
    { skip: !isRoot && 'needs root to mount' },
    async () => {
      const repo = join(root, 'ro');
      mountTmpfs(repo, 'ro,size=1m');
      const r = repositoryVerdict(await gatherRepositoryFacts(repo, 1024));
      assert.equal(r.status, 'fail');
      assert.match(r.message, /read-only filesystem/);
    },
  );

  test('tmp/ on another filesystem fails same-filesystem', { skip: !isRoot && 'needs root to mount' }, async () => {
    const repo = join(root, 'split');
    mkdirSync(join(repo, 'files'), { recursive: true });
    mountTmpfs(join(repo, 'tmp'), 'size=1m');
    const r = sameFilesystemVerdict(await gatherRepositoryFacts(repo, 1024));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /tmp is on another filesystem/);
  });

  test(
    'free space on a small filesystem: fail when maxFileSize does not fit, warn when few fit',
    { skip: !isRoot && 'needs root to mount' },
    async () => {
      const repo = join(root, 'small');
      mountTmpfs(repo, 'size=8m');
      const tooBig = freeSpaceVerdict(await gatherRepositoryFacts(repo, 50 * MiB));
      assert.equal(tooBig.status, 'fail');
      assert.match(tooBig.message, /an upload of maxFileSize \(50 MiB\) does not fit/);
      assert.equal(freeSpaceVerdict(await gatherRepositoryFacts(repo, 1 * MiB)).status, 'warn');
      assert.equal(freeSpaceVerdict(await gatherRepositoryFacts(repo, 100 * 1024)).status, 'pass');
    },
  );
});

describe('verdicts on facts', () => {
  const base: RepositoryFacts = {
    path: '/srv/up',
    isDirectory: true,
    marker: true,
    writable: { ok: true },
    probedIn: '/srv/up/tmp',
    canLink: true,
    dev: { root: 1, files: 1, tmp: 1 },
    space: { available: 50 * 1024 * MiB, size: 100 * 1024 * MiB },
    maxFileSize: 50 * MiB,
  };

  test('permission problems point at chown', () => {
    const r = repositoryVerdict({ ...base, writable: { ok: false, code: 'EACCES', message: 'permission denied' } });
    assert.equal(r.status, 'fail');
    assert.match(r.fix ?? '', /chown -R fileupload: \/srv\/up/);
  });

  test("the chown fix names the folder's owner when it is not root", () => {
    const r = repositoryVerdict({
      ...base,
      owner: { uid: 998, user: 'uploads', group: 'www' },
      writable: { ok: false, code: 'EACCES', message: 'permission denied' },
    });
    assert.match(r.fix ?? '', /^chown -R uploads:www \/srv\/up /);
  });

  test('a filesystem without hard links warns', () => {
    assert.equal(sameFilesystemVerdict({ ...base, canLink: false }).status, 'warn');
  });

  test('files/ on another filesystem fails', () => {
    assert.match(
      sameFilesystemVerdict({ ...base, dev: { root: 1, files: 2, tmp: 1 } }).message,
      /\/srv\/up\/files is on another filesystem/,
    );
  });

  test('less than 5% free warns even with room for many uploads; unlimited size looks at the share only', () => {
    const r = freeSpaceVerdict({ ...base, space: { available: 4 * 1024 * MiB, size: 100 * 1024 * MiB } });
    assert.equal(r.status, 'warn');
    assert.match(r.message, /less than 5%/);
    assert.equal(freeSpaceVerdict({ ...base, maxFileSize: -1 }).status, 'pass');
    assert.equal(freeSpaceVerdict({ ...base, maxFileSize: -1, space: { available: 0, size: 1 } }).status, 'fail');
  });
});
