import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeOwner, mustActAsOwner, nameInDatabase, ownerOf, restoreOwnership } from './owner.ts';

const isRoot = process.geteuid?.() === 0;
/** An unprivileged user every Linux has (nobody:nogroup or nobody:nobody). */
const OTHER = 65534;
const work = mkdtempSync(join(tmpdir(), 'repository-owner-'));
// The other user must reach the folders below.
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

describe('names and decisions', () => {
  test('nameInDatabase finds the name of an id in a passwd or group file', () => {
    const passwd =
      '# comment:x:1:\nroot:x:0:0:root:/root:/bin/bash\nfileupload:x:998:998::/var/lib/fileupload:/bin/false\n';
    assert.equal(nameInDatabase(passwd, 998), 'fileupload');
    assert.equal(nameInDatabase(passwd, 0), 'root');
    assert.equal(nameInDatabase(passwd, 1), undefined, 'a comment line is no entry');
    assert.equal(nameInDatabase(passwd, 99), undefined);
    assert.equal(nameInDatabase('fileupload:x:998:\n', 998), 'fileupload', 'a group line');
  });

  test('describeOwner shows the name and the uid, or the uid alone when there is no name', () => {
    assert.equal(describeOwner({ uid: 998, user: 'fileupload' }), 'fileupload (uid 998)');
    assert.equal(describeOwner({ uid: 4711, user: '4711' }), 'uid 4711');
  });

  test('only root acts as the owner, and only of a folder someone else owns', () => {
    assert.equal(mustActAsOwner(0, { uid: 998 }), true);
    assert.equal(mustActAsOwner(0, { uid: 0 }), false);
    assert.equal(mustActAsOwner(998, { uid: 998 }), false);
    assert.equal(mustActAsOwner(1000, { uid: 998 }), false, 'a third user cannot become the owner');
    assert.equal(mustActAsOwner(undefined, { uid: 998 }), false, 'no uids on this platform');
  });
});

describe('on real folders', { skip: !isRoot && 'needs root to give files to another user' }, () => {
  test('ownerOf names the owner from /etc/passwd and /etc/group', async () => {
    const dir = join(work, 'named');
    mkdirSync(dir);
    chownSync(dir, OTHER, OTHER);
    const owner = await ownerOf(dir);
    assert.equal(owner.uid, OTHER);
    assert.equal(owner.gid, OTHER);
    assert.equal(owner.user, 'nobody');
    assert.match(owner.group, /^(nogroup|nobody)$/);
  });

  test("restoreOwnership gives root's entries to the owner; leaves other owners, links and hard links to root's files", async () => {
    const repo = join(work, 'restore');
    mkdirSync(join(repo, 'index', 'users'), { recursive: true });
    writeFileSync(join(repo, 'index', 'users', 'entry'), '');
    writeFileSync(join(repo, 'third'), '');
    chownSync(join(repo, 'third'), 4711, 4711);
    const outside = join(work, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), '');
    symlinkSync(outside, join(repo, 'link'));
    linkSync(join(outside, 'secret'), join(repo, 'hardlink'));
    chownSync(repo, OTHER, OTHER);
    const changed = await restoreOwnership(repo, { uid: OTHER, gid: OTHER });
    assert.equal(changed, 3, 'index, index/users, index/users/entry');
    for (const p of ['index', 'index/users', 'index/users/entry']) {
      const st = lstatSync(join(repo, p));
      assert.deepEqual([st.uid, st.gid], [OTHER, OTHER], p);
    }
    assert.equal(lstatSync(join(repo, 'third')).uid, 4711);
    assert.equal(lstatSync(join(repo, 'link')).uid, 0, 'a link is not followed');
    assert.equal(lstatSync(outside).uid, 0);
    assert.equal(lstatSync(join(outside, 'secret')).uid, 0, "a hard link to root's file is left alone");
  });

  test('restoreOwnership follows fileRepo itself when it is a link', async () => {
    const real = join(work, 'real-repo');
    mkdirSync(join(real, 'files'), { recursive: true });
    chownSync(real, OTHER, OTHER);
    symlinkSync(real, join(work, 'repo-link'));
    assert.equal(await restoreOwnership(join(work, 'repo-link'), { uid: OTHER, gid: OTHER }), 1);
    assert.equal(lstatSync(join(real, 'files')).uid, OTHER);
  });

  /** Runs actAsRepositoryOwner in a child (it changes the process for good) and reports its uids. */
  function actInChild(settings: object): { stdout: string; stderr: string } {
    const script = `
      import { writeFileSync } from 'node:fs';
      import { actAsRepositoryOwner } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'owner.ts')).href)};
      const settings = ${JSON.stringify(settings)};
      const owner = await actAsRepositoryOwner(settings);
      if (settings.fileRepo) writeFileSync(settings.fileRepo + '/written', '');
      console.log(JSON.stringify({ acted: owner !== undefined, uid: process.getuid(), euid: process.geteuid(), gid: process.getgid(), groups: process.getgroups() }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return { stdout: r.stdout, stderr: r.stderr };
  }

  test('actAsRepositoryOwner: root becomes the owner of the folder, says so, and writes as the owner', () => {
    const repo = join(work, 'act');
    mkdirSync(repo);
    chownSync(repo, OTHER, OTHER);
    const { stdout, stderr } = actInChild({ storage: 'fs', fileRepo: repo });
    assert.deepEqual(JSON.parse(stdout), { acted: true, uid: OTHER, euid: OTHER, gid: OTHER, groups: [OTHER] });
    assert.equal(stderr, `running as nobody (uid ${OTHER}), the owner of ${repo}\n`);
    const st = lstatSync(join(repo, 'written'));
    assert.deepEqual([st.uid, st.gid], [OTHER, OTHER]);
  });

  test("actAsRepositoryOwner changes nothing for root's folder, a bucket or a missing folder", () => {
    const repo = join(work, 'root-owned');
    mkdirSync(repo);
    for (const settings of [
      { storage: 'fs', fileRepo: repo },
      { storage: 's3', fileRepo: repo },
      { storage: 'fs', fileRepo: undefined },
    ]) {
      const { stdout, stderr } = actInChild(settings);
      assert.deepEqual(JSON.parse(stdout).euid, 0, JSON.stringify(settings));
      assert.equal(JSON.parse(stdout).acted, false);
      assert.equal(stderr, '');
    }
    const missing = join(work, 'missing');
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { actAsRepositoryOwner } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'owner.ts')).href)};
         console.log(String(await actAsRepositoryOwner({ storage: 'fs', fileRepo: ${JSON.stringify(missing)} })), process.geteuid());`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.stdout, 'undefined 0\n', r.stderr);
  });
});
