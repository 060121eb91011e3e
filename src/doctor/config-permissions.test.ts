import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFilesOf, configPermissionsVerdict, gatherConfigFileFacts } from './config-permissions.ts';

test('a world-readable file with a secret fails with a chmod fix; group access passes', () => {
  const failed = configPermissionsVerdict([
    { path: '/etc/fileupload/openfire.xml', mode: 0o644, secrets: ['sharedSecret', 'slotSecret'] },
  ]);
  assert.equal(failed.status, 'fail');
  assert.match(failed.message, /holds sharedSecret, slotSecret and every user may read it \(mode 0644\)/);
  assert.equal(failed.fix, 'chmod o-rwx /etc/fileupload/openfire.xml');
  assert.equal(
    configPermissionsVerdict([{ path: '/x y.xml', mode: 0o602, secrets: ['slotSecret'] }]).fix,
    "chmod o-rwx '/x y.xml'",
  );
  assert.equal(configPermissionsVerdict([{ path: '/a', mode: 0o640, secrets: ['slotSecret'] }]).status, 'pass');
  assert.equal(configPermissionsVerdict([{ path: '/a', mode: 0o600, secrets: ['slotSecret'] }]).status, 'pass');
  assert.equal(configPermissionsVerdict([{ path: '/a', mode: 0o644, secrets: [] }]).status, 'pass');
  assert.equal(configPermissionsVerdict([{ path: '/a', mode: undefined, secrets: [] }]).status, 'skip');
  const both = configPermissionsVerdict([
    { path: '/a', mode: 0o600, secrets: ['sharedSecret'] },
    { path: '/repo/cluster/openfire.xml', mode: 0o604, secrets: ['slotSecret'] },
  ]);
  assert.equal(both.status, 'fail');
  assert.equal(both.fix, 'chmod o-rwx /repo/cluster/openfire.xml');
});

test('the shared document of a cluster node on a folder is looked at too', () => {
  assert.deepEqual(configFilesOf('/etc/f.xml', { cluster: false, storage: 'fs', fileRepo: '/srv' }), ['/etc/f.xml']);
  assert.deepEqual(configFilesOf('/etc/f.xml', { cluster: true, storage: 'fs', fileRepo: '/srv' }), [
    '/etc/f.xml',
    '/srv/cluster/openfire.xml',
  ]);
  assert.deepEqual(configFilesOf('/etc/f.xml', { cluster: true, storage: 's3', fileRepo: undefined }), ['/etc/f.xml']);
});

test('facts: the mode and the secrets set (general or serverspecific), nothing for a missing file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fu-doctor-perm-'));
  try {
    const file = join(dir, 'openfire.xml');
    await writeFile(
      file,
      '<jive><plugin><httpfileupload><maxFileSize>1M</maxFileSize><serverspecific><slotSecret>k</slotSecret></serverspecific><sharedSecret></sharedSecret></httpfileupload></plugin></jive>\n',
    );
    await chmod(file, 0o644);
    assert.deepEqual(await gatherConfigFileFacts([file, join(dir, 'none.xml')]), [
      { path: file, mode: 0o644, secrets: ['slotSecret'] },
      { path: join(dir, 'none.xml'), mode: undefined, secrets: [] },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
