import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProperty } from '../../config/openfire-xml.ts';
import { FsSharedConfigStore, sharedConfigPath } from './fs.ts';
import { lastReadVersion } from './store.ts';

async function withRepo(f: (repo: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shared-config-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const P = 'plugin.httpfileupload.';

test('set, read, unset; the version changes with every write and is "absent" without a document', async () => {
  await withRepo(async (repo) => {
    const store = new FsSharedConfigStore(repo);
    assert.equal(store.location, sharedConfigPath(repo));
    assert.equal(await store.version(), 'absent');
    assert.equal((await store.read()).doc, undefined);
    assert.equal(lastReadVersion(store.location), 'absent');

    await store.set(P + 'maxFileSize', '5M');
    const v1 = await store.version();
    assert.notEqual(v1, 'absent');
    const { doc, version } = await store.read();
    assert.equal(version, v1);
    assert.equal(lastReadVersion(store.location), v1);
    assert.equal(readProperty(doc!, P + 'maxFileSize'), '5M');

    await store.set(P + 'maxFileSize', '6M');
    assert.notEqual(await store.version(), v1);
    assert.equal(await store.unset(P + 'maxFileSize'), true);
    assert.equal(await store.unset(P + 'maxFileSize'), false);
    assert.equal(readProperty((await store.read()).doc!, P + 'maxFileSize'), undefined);
    assert.deepEqual(await readdir(join(repo, 'cluster')), ['openfire.xml'], 'no lock or temp file left behind');
  });
});

test('concurrent writers from several nodes lose no change', async () => {
  await withRepo(async (repo) => {
    // One store object per "node": nothing is shared in memory, only the folder.
    const names = [
      'maxFileSize',
      'slotLifetime',
      'corsOrigins',
      'maxAge',
      'userQuota',
      'dailyQuota',
      'globalQuota',
      'maxRepoSize',
    ];
    await Promise.all(names.map((n, i) => new FsSharedConfigStore(repo).set(P + n, String(i + 1))));
    const { doc } = await new FsSharedConfigStore(repo).read();
    for (const [i, n] of names.entries()) assert.equal(readProperty(doc!, P + n), String(i + 1), n);
  });
});

test('setIfAbsent keeps an existing value', async () => {
  await withRepo(async (repo) => {
    const store = new FsSharedConfigStore(repo);
    assert.equal(await store.setIfAbsent(P + 'slotSecret', 'first'), 'first');
    assert.equal(await store.setIfAbsent(P + 'slotSecret', 'second'), 'first');
  });
});

test(
  'the shared document is created 0600 with the owner of the repository',
  { skip: process.geteuid?.() !== 0 ? 'needs root' : false },
  async () => {
    await withRepo(async (repo) => {
      await chown(repo, 4321, 4322);
      await new FsSharedConfigStore(repo).set(P + 'maxFileSize', '5M');
      const file = await stat(sharedConfigPath(repo));
      assert.equal(file.mode & 0o777, 0o600);
      assert.deepEqual([file.uid, file.gid], [4321, 4322]);
      const dir = await stat(join(repo, 'cluster'));
      assert.deepEqual([dir.uid, dir.gid, dir.mode & 0o777], [4321, 4322, 0o700]);
      // A later write keeps them.
      await new FsSharedConfigStore(repo).set(P + 'maxFileSize', '6M');
      const again = await stat(sharedConfigPath(repo));
      assert.deepEqual([again.uid, again.gid, again.mode & 0o777], [4321, 4322, 0o600]);
    });
  },
);

test('a shared document that gets a secret loses its "other" bits, keeps its group bits', async () => {
  await withRepo(async (repo) => {
    const store = new FsSharedConfigStore(repo);
    await store.set(P + 'maxFileSize', '5M');
    await chmod(sharedConfigPath(repo), 0o664);
    await store.set(P + 'maxFileSize', '6M');
    assert.equal((await stat(sharedConfigPath(repo))).mode & 0o777, 0o664, 'no secret: the mode is kept');
    assert.equal(await store.setIfAbsent(P + 'slotSecret', 'generated'), 'generated');
    assert.equal((await stat(sharedConfigPath(repo))).mode & 0o777, 0o660);
  });
});

test('a malformed shared document is never overwritten', async () => {
  await withRepo(async (repo) => {
    await mkdir(join(repo, 'cluster'));
    await writeFile(sharedConfigPath(repo), '<jive><broken></jive>');
    await assert.rejects(new FsSharedConfigStore(repo).set(P + 'maxFileSize', '5M'), /malformed/);
    assert.equal((await stat(sharedConfigPath(repo))).size, '<jive><broken></jive>'.length);
  });
});

test('writing into a repository that does not exist says so', async () => {
  await withRepo(async (dir) => {
    await assert.rejects(
      new FsSharedConfigStore(join(dir, 'missing')).set(P + 'maxFileSize', '5M'),
      /repository folder \(fileRepo\) does not exist/,
    );
  });
});
