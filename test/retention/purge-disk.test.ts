/**
 * The seed's rule on a real, small filesystem: an 8 MiB tmpfs mounted by the test (root only).
 * While the repository is larger than the free space of its filesystem, the oldest uploads go.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAY, MIN, idsByRule, makeRepo } from './fixtures.ts';

const isRoot = process.getuid?.() === 0;
let mountPoint: string | undefined;

before(() => {
  if (!isRoot) return;
  mountPoint = mkdtempSync(join(tmpdir(), 'fileupload-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
});

after(() => {
  if (!mountPoint) return;
  execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

const free = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

test(
  'disk rule on an 8 MiB tmpfs: oldest first until the repository fits the free space',
  { skip: !isRoot && 'needs root to mount a tmpfs' },
  async () => {
    const dir = join(mountPoint as string, 'repo');
    execFileSync('mkdir', [dir]);
    const repo = await makeRepo({}, dir);
    try {
      const size = 512 * 1024;
      const uploads = [];
      for (let i = 0; i < 10; i++) uploads.push(await repo.add({ ageMs: (20 - i) * DAY, size }));
      // One upload younger than the size rules' grace: never taken, even though it is here.
      const fresh = await repo.add({ ageMs: 1000, size });
      const repoBytes = 11 * size;
      const freeBefore = free(dir);
      assert.ok(
        repoBytes > freeBefore,
        `the test needs a repository (${repoBytes}) larger than the free space (${freeBefore})`,
      );

      // What the rule must do: delete k oldest with repo − k·size ≤ free + k·size.
      let k = 0;
      while (repoBytes - k * size > freeBefore + k * size) k++;
      assert.ok(k > 0 && k < 10);

      const dry = await repo.cli('--json', 'purge', '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      const r = await repo.cli('--json', 'purge');
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { deletions: Array<{ id: string; rule: string }> };
      assert.deepEqual(idsByRule(doc), {
        disk: uploads
          .slice(0, k)
          .map((u) => u.id)
          .sort(),
      });
      assert.deepEqual(idsByRule(JSON.parse(dry.stdout)), idsByRule(doc), 'the dry run announced the same');
      const left = readdirSync(join(dir, 'files'));
      assert.equal(left.length, 11 - k);
      assert.ok(left.includes(fresh.id));
      assert.ok((11 - k) * size <= free(dir), 'the repository now fits the free space');

      // Nothing more to do: a second purge deletes nothing.
      const again = await repo.cli('--json', 'purge');
      assert.deepEqual(JSON.parse(again.stdout).deletions, []);
    } finally {
      await repo.remove();
    }
  },
);

test(
  'without the disk rule pressure nothing goes (roomy tmpfs repository)',
  { skip: !isRoot && 'needs root to mount a tmpfs' },
  async () => {
    const dir = join(mountPoint as string, 'small');
    execFileSync('mkdir', [dir]);
    const repo = await makeRepo({}, dir);
    try {
      for (let i = 0; i < 3; i++) await repo.add({ ageMs: 10 * MIN, size: 64 * 1024 });
      const r = await repo.cli('--json', 'purge');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).deletions, []);
    } finally {
      await repo.remove();
    }
  },
);
