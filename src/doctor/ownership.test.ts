import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatherOwnershipFacts, ownershipVerdict, OWNERSHIP_LISTED, type OwnershipFacts } from './ownership.ts';

const isRoot = process.geteuid?.() === 0;
const OTHER = 65534;
const work = mkdtempSync(join(tmpdir(), 'doctor-ownership-'));
after(() => rmSync(work, { recursive: true, force: true }));

const base: OwnershipFacts = {
  path: '/var/lib/fileupload',
  owner: { uid: 998, gid: 997, user: 'fileupload', group: 'uploaders' },
  strangers: [],
  strangerCount: 0,
  visited: 12,
  complete: true,
};

describe('ownership verdict', () => {
  test('everything owned by the folder owner passes and names that owner', () => {
    const r = ownershipVerdict(base);
    assert.equal(r.status, 'pass');
    assert.match(r.message, /owned by fileupload \(uid 998\)/);
  });

  test('entries of another owner fail, named and counted; the fix gives them to the owner found, not a fixed name', () => {
    const r = ownershipVerdict({
      ...base,
      strangers: [
        { path: 'index', owner: 'root (uid 0)' },
        { path: 'locks', owner: 'root (uid 0)' },
        { path: 'index/users', owner: 'root (uid 0)' },
      ],
      strangerCount: 7,
    });
    assert.equal(r.status, 'fail');
    assert.match(
      r.message,
      /owned by fileupload \(uid 998\), but 7 entries under it are not: index \(root \(uid 0\)\), locks/,
    );
    assert.match(r.message, /and 4 more/);
    assert.equal(r.fix, 'chown -R fileupload:uploaders /var/lib/fileupload');
  });

  test("a folder of root's with entries of another user warns: it does not tell serve's user", () => {
    const r = ownershipVerdict({
      ...base,
      owner: { uid: 0, gid: 0, user: 'root', group: 'root' },
      strangers: [{ path: 'files', owner: 'fileupload (uid 998)' }],
      strangerCount: 1,
    });
    assert.equal(r.status, 'warn');
    assert.match(r.message, /owned by root, 1 entry under it by other users: files \(fileupload \(uid 998\)\)/);
    assert.doesNotMatch(r.fix ?? '', /root:root/);
  });

  test('a walk stopped at the limit says so', () => {
    assert.match(ownershipVerdict({ ...base, complete: false, visited: 100 }).message, /first 100 entries only/);
  });

  test('no folder: skip', () => {
    assert.equal(ownershipVerdict({ ...base, path: undefined, owner: undefined }).status, 'skip');
  });
});

describe('gathering', { skip: !isRoot && 'needs root to give files to another user' }, () => {
  test('finds the entries root owns in a folder another user owns, top folders first', async () => {
    const repo = join(work, 'mixed');
    mkdirSync(join(repo, 'files'), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(repo, 'files', `f${i}`), '');
    mkdirSync(join(repo, 'index', 'users', 'deep'), { recursive: true });
    for (const p of ['', 'files', ...[0, 1, 2, 3, 4].map((i) => `files/f${i}`)]) chownSync(join(repo, p), OTHER, OTHER);
    const f = await gatherOwnershipFacts(repo);
    assert.equal(f.owner?.uid, OTHER);
    assert.equal(f.owner?.user, 'nobody');
    assert.equal(f.visited, 9);
    assert.equal(f.complete, true);
    assert.equal(f.strangerCount, 3);
    assert.deepEqual(
      f.strangers.map((s) => `${s.path} ${s.owner}`),
      ['index root (uid 0)', 'index/users root (uid 0)', 'index/users/deep root (uid 0)'],
    );
    assert.equal(f.strangers.length, Math.min(3, OWNERSHIP_LISTED));
  });

  test('stops at the limit', async () => {
    const repo = join(work, 'many');
    mkdirSync(repo);
    for (let i = 0; i < 20; i++) writeFileSync(join(repo, `f${i}`), '');
    const f = await gatherOwnershipFacts(repo, 10);
    assert.equal(f.visited, 10);
    assert.equal(f.complete, false);
  });
});
