/**
 * `fileupload slots ls` and `slots rm` as real processes: pending slots from the index and stored
 * uploads, filters, sort order, the JSON shape, removal by id and by user, dry runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newSlotId } from '../../src/slots/id.ts';
import type { Slot } from '../../src/slots/slot.ts';
import { parseBatch, parseOpenSegment, userKey } from '../../src/inventory/names.ts';
import { FsIndexStore } from '../../src/inventory/index-store/fs.ts';
import { Ledger } from '../../src/inventory/ledger.ts';
import { FsStore } from '../../src/storage/fs/index.ts';
import { UploadRemovedError } from '../../src/storage/errors.ts';
import { listTree } from '../support/tree.ts';
import { DAY, HOUR, MIN, makeRepo } from './fixtures.ts';

type Row = {
  id: string;
  filename: string;
  size: number;
  contentType: string | null;
  uploader: string;
  created: string;
  expires: string | null;
  purpose: string;
  state: string;
};

const lines = (stdout: string): Row[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);

function pendingSlot(over: Partial<Slot> = {}): Slot {
  const now = Date.now();
  return {
    id: newSlotId(),
    filename: 'pending.png',
    size: 1234,
    contentType: 'image/png',
    uploader: 'carol@example.org',
    issuedAt: now - MIN,
    expiresAt: now + 4 * MIN,
    purpose: 'message',
    ...over,
  };
}

async function populated() {
  const repo = await makeRepo({ maxAge: '30d' });
  const a1 = await repo.add(
    { uploader: 'alice@example.org', ageMs: 10 * DAY, filename: 'old.txt', size: 10, contentType: 'text/plain' },
    { index: true },
  );
  const a2 = await repo.add(
    { uploader: 'alice@example.org', ageMs: 2 * HOUR, filename: 'new photo.jpg', size: 20, contentType: 'image/jpeg' },
    { index: true },
  );
  const b1 = await repo.add(
    { uploader: 'Bob@Example.org', ageMs: 5 * DAY, filename: 'avatar.png', size: 30, purpose: 'profile' },
    { index: true },
  );
  const pending = pendingSlot();
  await repo.ledger.recordSlotIssued(pending);
  const expiredSlot = pendingSlot({ issuedAt: Date.now() - HOUR, expiresAt: Date.now() - 55 * MIN });
  await repo.ledger.recordSlotIssued(expiredSlot);
  return { repo, a1, a2, b1, pending, expiredSlot };
}

test('slots ls --json: pending and stored, newest first, one object per line with the documented shape', async () => {
  const { repo, a1, a2, b1, pending } = await populated();
  try {
    const r = await repo.cli('--json', 'slots', 'ls');
    assert.equal(r.code, 0, r.stderr);
    const rows = lines(r.stdout);
    assert.deepEqual(
      rows.map((x) => x.id),
      [pending.id, a2.id, b1.id, a1.id],
      'newest first; the expired slot is not listed',
    );
    const p = rows[0] as Row;
    assert.deepEqual(Object.keys(p).sort(), [
      'contentType',
      'created',
      'expires',
      'filename',
      'id',
      'purpose',
      'size',
      'state',
      'uploader',
    ]);
    assert.equal(p.state, 'pending');
    assert.equal(p.expires, new Date(pending.expiresAt).toISOString());
    assert.equal(p.contentType, 'image/png');
    const old = rows[3] as Row;
    assert.equal(old.state, 'stored');
    assert.equal(old.created, new Date(a1.storedAt).toISOString());
    assert.equal(old.expires, new Date(a1.storedAt + 30 * DAY).toISOString(), 'maxAge deadline');
    assert.equal((rows[2] as Row).expires, null, 'profile uploads are not subject to maxAge');
    const asc = lines((await repo.cli('--json', 'slots', 'ls', '--oldest-first')).stdout);
    assert.deepEqual(
      asc.map((x) => x.id),
      [a1.id, b1.id, a2.id, pending.id],
    );
  } finally {
    await repo.remove();
  }
});

test('slots ls filters: --user, --state, --since, --older-than, --limit', async () => {
  const { repo, a1, a2, b1, pending } = await populated();
  try {
    const ids = async (...args: string[]) => {
      const r = await repo.cli('--json', 'slots', 'ls', ...args);
      assert.equal(r.code, 0, r.stderr);
      return lines(r.stdout).map((x) => x.id);
    };
    assert.deepEqual(await ids('--user', 'ALICE@example.org'), [a2.id, a1.id]);
    assert.deepEqual(await ids('--user', 'bob@example.org'), [b1.id], 'JIDs compare case-insensitively');
    assert.deepEqual(await ids('--state', 'pending'), [pending.id]);
    assert.deepEqual(await ids('--state', 'stored'), [a2.id, b1.id, a1.id]);
    assert.deepEqual(await ids('--since', '1d'), [pending.id, a2.id]);
    assert.deepEqual(await ids('--older-than', '1d'), [b1.id, a1.id]);
    assert.deepEqual(await ids('--older-than', new Date(Date.now() - 7 * DAY).toISOString()), [a1.id]);
    assert.deepEqual(await ids('--limit', '2'), [pending.id, a2.id]);
    assert.deepEqual(await ids('--state', 'stored', '--oldest-first', '--limit', '1'), [a1.id]);
    const bad = await repo.cli('slots', 'ls', '--since', 'yesterday-ish');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since "yesterday-ish": expected a duration/);
    assert.equal((await repo.cli('slots', 'ls', '--state', 'gone')).code, 2);
  } finally {
    await repo.remove();
  }
});

test('slots ls human output: a header and one row per slot', async () => {
  const { repo, a2 } = await populated();
  try {
    const r = await repo.cli('slots', 'ls', '--user', 'alice@example.org', '--limit', '1');
    assert.equal(r.code, 0, r.stderr);
    const [header, row, ...rest] = r.stdout.split('\n');
    assert.match(
      header ?? '',
      /^ID\s+STATE\s+SIZE\s+CREATED \(UTC\)\s+EXPIRES \(UTC\)\s+PURPOSE\s+CONTENT TYPE\s+UPLOADER\s+FILENAME$/,
    );
    assert.match(
      row ?? '',
      new RegExp(`^${a2.id}  stored .* 20 B .*image/jpeg .*alice@example.org .*"new photo.jpg"$`),
    );
    assert.deepEqual(rest, ['']);
  } finally {
    await repo.remove();
  }
});

test('slots rm --user: every upload and pending slot of that user goes, with the index; others stay', async () => {
  const { repo, a1, b1 } = await populated();
  try {
    const aliceSlot = pendingSlot({ uploader: 'alice@example.org' });
    await repo.ledger.recordSlotIssued(aliceSlot);
    const before = listTree(repo.dir);
    const dry = await repo.cli('--json', 'slots', 'rm', '--user', 'alice@example.org', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(lines(dry.stdout).length, 3);
    assert.ok(lines(dry.stdout).every((x) => (x as unknown as { outcome: string }).outcome === 'would-remove'));
    assert.deepEqual(
      listTree(repo.dir).filter((f) => !f.startsWith('locks/')),
      before.filter((f) => !f.startsWith('locks/')),
      'dry run changes nothing',
    );

    const r = await repo.cli('slots', 'rm', '--user', 'alice@example.org');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /slots rm: removed 2 uploads \(30 B\), forgot 1 pending slot\n$/);
    const files = await readdir(join(repo.dir, 'files'), { withFileTypes: true });
    assert.deepEqual(
      files.filter((f) => f.isFile()).map((f) => f.name),
      [b1.id],
    );
    assert.deepEqual(
      files.filter((f) => f.isSymbolicLink()).map((f) => f.name),
      [aliceSlot.id],
      'the live pending slot left a tombstone; the uploads, whose slots expired long ago, did not',
    );
    assert.deepEqual(await readdir(join(repo.dir, 'index', 'users', userKey('alice@example.org'), 'stored')), []);
    // No per-user quota here: slots never had a per-user pending entry.
    assert.deepEqual(
      await readdir(join(repo.dir, 'index', 'users', userKey('alice@example.org'), 'pending')).catch(() => []),
      [],
    );
    const left = lines((await repo.cli('--json', 'slots', 'ls')).stdout);
    assert.ok(!left.some((x) => x.uploader === 'alice@example.org'));
    assert.ok(!left.some((x) => x.id === a1.id));
  } finally {
    await repo.remove();
  }
});

test('slots rm ID…: removes the named uploads and pending slots; an unknown id exits 1, a malformed one 2', async () => {
  const { repo, a1, a2, pending } = await populated();
  try {
    const r = await repo.cli('--json', 'slots', 'rm', a1.id, pending.id);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      lines(r.stdout)
        .map((x) => [x.id, x.state, (x as unknown as { outcome: string }).outcome])
        .sort(),
      [
        [a1.id, 'stored', 'removed'],
        [pending.id, 'pending', 'removed'],
      ].sort(),
    );
    assert.equal(await repo.store.stat(a1.id), undefined);
    assert.ok(await repo.store.stat(a2.id));
    const unknown = await repo.cli('slots', 'rm', newSlotId());
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no upload or pending slot/);
    const malformed = await repo.cli('slots', 'rm', '../../etc/passwd');
    assert.equal(malformed.code, 2);
    assert.equal((await repo.cli('slots', 'rm')).code, 2);
  } finally {
    await repo.remove();
  }
});

test('slots rm of pending slots: tombstones hide them from slots ls; the journal entry is not rewritten and serve keeps appending to it', async () => {
  const repo = await makeRepo();
  // serve's journal, with its clock standing still: its segment does not age while the CLI runs.
  const t = Date.now();
  const serve = new Ledger(new FsIndexStore(join(repo.dir, 'index')), { now: () => t });
  try {
    const [x, y, z] = [pendingSlot(), pendingSlot(), pendingSlot({ uploader: 'dave@example.org' })];
    await Promise.all([x, y, z].map((s) => serve.recordSlotIssued(s)));
    const pendingDir = join(repo.dir, 'index', 'pending');
    const entries = await readdir(pendingDir);
    assert.equal(entries.length, 1, 'recorded together: one journal entry');
    assert.ok(parseOpenSegment(entries[0] as string), `an open segment: ${entries[0]}`);
    const body = await readFile(join(pendingDir, entries[0] as string));
    const r = await repo.cli('--json', 'slots', 'rm', x.id, y.id);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      lines(r.stdout)
        .map((row) => row.id)
        .sort(),
      [x.id, y.id].sort(),
    );
    assert.deepEqual(await readdir(pendingDir), entries, 'same entry');
    assert.deepEqual(await readFile(join(pendingDir, entries[0] as string)), body, 'not rewritten');
    assert.equal(
      (await readdir(join(repo.dir, 'index', 'pending-forgotten'))).length,
      2,
      'one tombstone per forgotten slot',
    );
    assert.deepEqual(
      lines((await repo.cli('--json', 'slots', 'ls')).stdout).map((row) => row.id),
      [z.id],
    );
    // The writer's next batch goes into the very file slots ls reads.
    const later = pendingSlot({ issuedAt: x.issuedAt });
    await serve.recordSlotIssued(later);
    assert.deepEqual(await readdir(pendingDir), entries);
    assert.deepEqual(
      lines((await repo.cli('--json', 'slots', 'ls')).stdout)
        .map((row) => row.id)
        .sort(),
      [z.id, later.id].sort(),
    );
    const again = await repo.cli('slots', 'rm', x.id);
    assert.equal(again.code, 1, 'a forgotten slot is gone');
    const last = await repo.cli('slots', 'rm', '--user', 'dave@example.org');
    assert.equal(last.code, 0, last.stderr);
    assert.match(last.stdout, /forgot 1 pending slot\n$/);
    assert.deepEqual(
      lines((await repo.cli('--json', 'slots', 'ls')).stdout).map((row) => row.id),
      [later.id],
    );
    await serve.close();
    const sealed = await readdir(pendingDir);
    assert.equal(parseBatch(sealed[0] as string)?.count, 4, 'sealed on close with every slot it holds');
    assert.deepEqual(
      lines((await repo.cli('--json', 'slots', 'ls')).stdout).map((row) => row.id),
      [later.id],
      'tombstones still apply after sealing',
    );
  } finally {
    await serve.close();
    await repo.remove();
  }
});

test('slots rm of an upload whose slot is still live: not listed again (neither stored nor pending), its id refused', async () => {
  const repo = await makeRepo();
  const store = new FsStore(repo.dir, { durable: false });
  try {
    await store.open();
    const slot = pendingSlot({ uploader: 'erin@example.org', size: 5 });
    await repo.ledger.recordSlotIssued(slot);
    const { expiresAt: _expiresAt, ...fields } = slot;
    const meta = await store.write(
      { ...fields, contentType: 'image/png' },
      (async function* () {
        yield Buffer.from('hello');
      })(),
    );
    await repo.ledger.recordUploadStored(meta);
    const before = lines((await repo.cli('--json', 'slots', 'ls')).stdout);
    assert.deepEqual(
      before.map((r) => [r.id, r.state]),
      [[slot.id, 'stored']],
    );

    const r = await repo.cli('slots', 'rm', '--user', 'erin@example.org');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed 1 upload \(5 B\), forgot 0 pending slots\n$/);
    const ls = await repo.cli('--json', 'slots', 'ls');
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(lines(ls.stdout), [], 'the slot of a removed upload is not listed as pending');
    assert.equal(await store.stat(slot.id), undefined);
    assert.ok((await lstat(join(repo.dir, 'files', slot.id))).isSymbolicLink(), 'a tombstone in its place');
    await assert.rejects(
      store.write(
        { ...fields, contentType: 'image/png' },
        (async function* () {
          yield Buffer.from('again');
        })(),
      ),
      UploadRemovedError,
    );
    assert.equal((await repo.cli('slots', 'rm', slot.id)).code, 1, 'gone: nothing left to remove');
  } finally {
    await store.close();
    await repo.remove();
  }
});

test('purge drops a tombstone with the index record of its slot once the slot and its uploads are over', async () => {
  const repo = await makeRepo();
  const store = new FsStore(repo.dir, { durable: false });
  try {
    await store.open();
    const old = pendingSlot({ issuedAt: Date.now() - 3 * DAY, expiresAt: Date.now() - 3 * DAY + 5 * MIN });
    const live = pendingSlot();
    for (const s of [old, live]) {
      await repo.ledger.forgetPending([{ ...s, contentType: s.contentType }]);
      await store.tombstone(s.id);
    }
    const r = await repo.cli('purge');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(join(repo.dir, 'files')), [live.id], 'the live slot keeps its tombstone');
    assert.deepEqual(
      (await readdir(join(repo.dir, 'index', 'pending-forgotten'))).map((n) => n.endsWith(live.id)),
      [true],
    );
  } finally {
    await store.close();
    await repo.remove();
  }
});

test('slots rm refuses ids together with --user, and --user with a resource: exit 2, nothing removed', async () => {
  const { repo, a1, b1 } = await populated();
  try {
    // b1 is Bob's: with ids and --user alice both given, it must not go as a side effect.
    const both = await repo.cli('slots', 'rm', '--user', 'alice@example.org', b1.id);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /not both/);
    const full = await repo.cli('slots', 'rm', '--user', 'alice@example.org/phone');
    assert.equal(full.code, 2, full.stderr);
    assert.match(full.stderr, /--user "alice@example\.org\/phone": expected a bare JID/);
    assert.ok(await repo.store.stat(a1.id));
    assert.ok(await repo.store.stat(b1.id));
    const ls = await repo.cli('slots', 'ls', '--user', 'alice@example.org/phone');
    assert.equal(ls.code, 2, ls.stderr);
  } finally {
    await repo.remove();
  }
});
