/**
 * The repository is the service's alone: after a real serve run (Prosody, an upload, a pending
 * slot, per-user quota entries) and a purge, no file under it has group or other bits and no
 * folder is open to group or others — also in a repository an older version left open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir } from '../../scripts/testservers/processes.ts';
import { mustGetSlot, putToSlot, startStack } from '../support/stack.ts';
import { runFileupload } from '../support/serve.ts';
import { NS_UPLOAD_0 } from '../support/xmpp-client.ts';

/** Every entry under `dir` with its mode bits, folders marked by a trailing '/'. */
function modes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const rel = path.slice(dir.length + 1) + (entry.isDirectory() ? '/' : '');
    out.set(rel, lstatSync(path).mode & 0o7777);
  }
  return out;
}

test('after serve, an upload, a pending slot and a purge: files 0600, folders 0700, old folders closed, whatever the umask', async (t) => {
  // What an older version left: an open index folder with a world-readable entry.
  const repo = mkdtempSync(join(tmpdir(), 'fileupload-repo-'));
  trackDir(repo);
  chmodSync(repo, 0o755);
  mkdirSync(join(repo, 'index', 'old'), { recursive: true, mode: 0o755 });
  chmodSync(join(repo, 'index'), 0o755);
  writeFileSync(join(repo, 'index', 'old', 'entry'), 'alice@localhost', { mode: 0o644 });
  mkdirSync(join(repo, 'files'), { mode: 0o755 });
  chmodSync(join(repo, 'files'), 0o755);

  // serve and purge inherit this umask: with none, only the modes the code asks for protect
  // anything (a file created with the default mode would be 0666).
  const umask = process.umask(0);
  t.after(() => void process.umask(umask));
  const stack = await startStack('prosody', {
    fileRepo: repo,
    userQuota: '1M',
    dailyQuota: '1M',
    maxFileSize: 100_000,
  });
  try {
    const spec = { namespace: NS_UPLOAD_0, shape: 'attributes' as const, filename: 'a.txt', size: 5 };
    const slot = await mustGetSlot(stack.alice, stack.service, spec);
    assert.equal((await putToSlot(slot, Buffer.from('hello'))).status, 201);
    await mustGetSlot(stack.alice, stack.service, { ...spec, filename: 'pending.txt' });
    const purge = await runFileupload(['--config', stack.serve.configFile, 'purge']);
    assert.equal(purge.code, 0, purge.stderr);
  } finally {
    await stack.stop();
  }

  const all = modes(repo);
  const id = (p: string) => p.startsWith('files/') && !p.endsWith('/');
  // The walk saw the store, the index (quota entries, the pending journal) and the lock folder.
  for (const want of [
    (p: string) => id(p),
    (p: string) => p.startsWith('index/users/') && !p.endsWith('/'),
    (p: string) => p.startsWith('index/pending/'),
    (p: string) => p === 'locks/',
  ]) {
    assert.ok([...all.keys()].some(want), `expected entry ${want.toString()} in ${[...all.keys()].join(', ')}`);
  }
  const open: string[] = [];
  for (const [path, mode] of all) {
    // The old folder and entry keep their modes but sit in a closed top-level folder.
    if (path.startsWith('index/old/')) continue;
    if (path === '.fileupload-repository') {
      // It says only "this is a repository": readable by all, writable by nobody else.
      if ((mode & 0o022) !== 0) open.push(`${path} ${mode.toString(8)}`);
      continue;
    }
    if ((mode & 0o077) !== 0) open.push(`${path} ${mode.toString(8)}`);
  }
  assert.deepEqual(open, [], 'nothing below the repository is open to group or others');
  assert.equal(all.get('index/old/entry'), 0o644, 'files made before keep their mode…');
  assert.equal(all.get('index/old/'), 0o755);
  assert.equal(all.get('index/'), 0o700, '…and their top-level folder is closed');
  assert.equal(all.get('files/'), 0o700);
  assert.equal(lstatSync(repo).mode & 0o777, 0o755, "the repository folder itself is the admin's");
});
