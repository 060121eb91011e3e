/**
 * `fileupload purge` as a real process on real repositories: each rule alone, the rules combined,
 * dry runs, the JSON shape, index maintenance and exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { listTree } from '../support/tree.ts';
import { DAY, HOUR, MIN, idsByRule, makeRepo } from './fixtures.ts';
import { userKey } from '../../src/inventory/names.ts';

type PurgeDoc = {
  dryRun: boolean;
  deletions: Array<{
    id: string;
    filename: string | null;
    size: number;
    age: number;
    rule: string;
    kind: string;
    outcome: string;
  }>;
  summary: {
    deleted: number;
    failed: number;
    rules: Record<string, { count: number; bytes: number }>;
    scanned: { uploads: number };
  };
};

async function purgeJson(repo: Awaited<ReturnType<typeof makeRepo>>, ...args: string[]): Promise<PurgeDoc> {
  const r = await repo.cli('--json', 'purge', ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as PurgeDoc;
}

test('expired: ephemeral uploads past expire-before go, others stay', async () => {
  const repo = await makeRepo();
  try {
    const gone = await repo.add({ purpose: 'ephemeral', expireBefore: Date.now() - 1000, ageMs: HOUR });
    const future = await repo.add({ purpose: 'ephemeral', expireBefore: Date.now() + HOUR, ageMs: HOUR });
    const plain = await repo.add({ ageMs: 300 * DAY });
    const doc = await purgeJson(repo);
    assert.deepEqual(idsByRule(doc), { expired: [gone.id] });
    assert.deepEqual((await readdir(join(repo.dir, 'files'))).sort(), [future.id, plain.id].sort());
  } finally {
    await repo.remove();
  }
});

test('abandoned: temp files idle longer than slotLifetime go; a fresh one stays', async () => {
  const repo = await makeRepo({ slotLifetime: '300s' });
  try {
    const idle = await repo.addPartial(1000, 10 * MIN);
    const fresh = await repo.addPartial(1000, 1000);
    const doc = await purgeJson(repo);
    assert.deepEqual(
      doc.deletions.map((d) => [d.rule, d.kind, d.id]),
      [['abandoned', 'partial', idle.split('.')[0]]],
    );
    assert.deepEqual(await readdir(join(repo.dir, 'tmp')), [fresh]);
  } finally {
    await repo.remove();
  }
});

test('maxAge: old message uploads go; profile and permanent stay unless maxAgePurposes lists them', async () => {
  const repo = await makeRepo({ maxAge: '7d' });
  try {
    const old = await repo.add({ ageMs: 8 * DAY });
    const young = await repo.add({ ageMs: 6 * DAY });
    const profile = await repo.add({ ageMs: 30 * DAY, purpose: 'profile' });
    const permanent = await repo.add({ ageMs: 30 * DAY, purpose: 'permanent' });
    assert.deepEqual(idsByRule(await purgeJson(repo)), { maxAge: [old.id] });
    await repo.configure({ maxAge: '7d', maxAgePurposes: 'message,ephemeral,profile' });
    assert.deepEqual(idsByRule(await purgeJson(repo)), { maxAge: [profile.id] });
    assert.deepEqual((await readdir(join(repo.dir, 'files'))).sort(), [young.id, permanent.id].sort());
  } finally {
    await repo.remove();
  }
});

test('maxRepoSize: the oldest go until the stored bytes are within the cap', async () => {
  const repo = await makeRepo({ maxRepoSize: '2500' });
  try {
    const files = [];
    for (let i = 0; i < 5; i++) files.push(await repo.add({ ageMs: (10 - i) * DAY, size: 1000 }));
    const doc = await purgeJson(repo);
    // 5000 bytes, cap 2500: the three oldest.
    assert.deepEqual(idsByRule(doc), { maxRepoSize: [files[0]!.id, files[1]!.id, files[2]!.id].sort() });
    assert.equal(doc.summary.rules.maxRepoSize?.bytes, 3000);
  } finally {
    await repo.remove();
  }
});

test('dry run: reports every deletion and changes nothing at all', async () => {
  const repo = await makeRepo({ maxAge: '1d', maxRepoSize: '1K' });
  try {
    await repo.add({ ageMs: 2 * DAY, size: 500 }, { index: true });
    await repo.add({ ageMs: 12 * HOUR, size: 800 }, { index: true });
    await repo.add({ ageMs: HOUR, size: 800 }, { index: true });
    await repo.add({ purpose: 'ephemeral', expireBefore: Date.now() - 1, ageMs: HOUR }, { index: true });
    await repo.addPartial(10, DAY);
    const before = listTree(repo.dir);
    const contents = await Promise.all(before.map((f) => readFile(join(repo.dir, f))));
    const dry = await purgeJson(repo, '--dry-run');
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.deletions.map((d) => d.rule).sort(), ['abandoned', 'expired', 'maxAge', 'maxRepoSize']);
    assert.ok(dry.deletions.every((d) => d.outcome === 'planned'));
    assert.deepEqual(listTree(repo.dir), before, 'no file added or removed');
    assert.deepEqual(await Promise.all(before.map((f) => readFile(join(repo.dir, f)))), contents, 'no file changed');
    // The real run deletes exactly what the dry run announced.
    const real = await purgeJson(repo);
    assert.deepEqual(idsByRule(real), idsByRule(dry));
    assert.ok(real.deletions.every((d) => d.outcome === 'deleted'));
  } finally {
    await repo.remove();
  }
});

test('rules combined: each sees what the earlier ones freed; the JSON shape', async () => {
  const repo = await makeRepo({ maxAge: '30d', maxRepoSize: '4000' });
  try {
    const expired = await repo.add({ purpose: 'ephemeral', expireBefore: Date.now() - 1, ageMs: DAY, size: 3000 });
    const aged = await repo.add({ ageMs: 40 * DAY, size: 2000, filename: 'old photo.jpg' });
    const keep = [];
    for (let i = 0; i < 6; i++) keep.push(await repo.add({ ageMs: (20 - i) * DAY, size: 1000 }));
    const doc = await purgeJson(repo);
    // After expired and maxAge, 6000 bytes remain; the cap of 4000 takes the two oldest of them.
    assert.deepEqual(idsByRule(doc), {
      expired: [expired.id],
      maxAge: [aged.id],
      maxRepoSize: [keep[0]!.id, keep[1]!.id].sort(),
    });
    const row = doc.deletions.find((d) => d.id === aged.id);
    assert.deepEqual(Object.keys(row ?? {}).sort(), ['age', 'filename', 'id', 'kind', 'outcome', 'rule', 'size']);
    assert.equal(row?.filename, 'old photo.jpg');
    assert.equal(row?.size, 2000);
    assert.ok(Math.abs((row?.age ?? 0) - 40 * 86400) < 60, 'age in seconds');
    assert.equal(doc.summary.deleted, 4);
    assert.equal(doc.summary.scanned.uploads, 8);
  } finally {
    await repo.remove();
  }
});

test('human output: one summary line; the index follows the deletions', async () => {
  const repo = await makeRepo({ maxAge: '1d' });
  try {
    const old = await repo.add({ ageMs: 2 * DAY, size: 100, uploader: 'bob@example.org' }, { index: true });
    const kept = await repo.add({ ageMs: HOUR, size: 100, uploader: 'bob@example.org' }, { index: true });
    const r = await repo.cli('purge');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^purge: deleted 1 \(100 B\) — maxAge 1; 2 uploads \(200 B\) scanned in [\d.]+ s\n$/);
    const stored = await readdir(join(repo.dir, 'index', 'users', userKey('bob@example.org'), 'stored'));
    assert.deepEqual(
      stored.map((n) => n.split('.')[1]),
      [kept.id],
    );
    assert.ok(!stored.some((n) => n.includes(old.id)));
  } finally {
    await repo.remove();
  }
});

test('--progress: a closing line without a known total; a line per tenth of the last run total after; the summary counts', async () => {
  const repo = await makeRepo({ maxAge: '7d' });
  try {
    for (let i = 0; i < 30; i++) await repo.add({ ageMs: HOUR, size: 10 });
    // No index total yet: the listing's length is unknown, so the one line is the closing one.
    const first = await repo.cli('purge', '--progress');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^purge: 30 uploads listed, 0 deleted, \d+ uploads\/s\n$/);
    // That run recorded 30 uploads; 35 are listed now, so the tenths of 30 come, then the closing line.
    for (let i = 0; i < 5; i++) await repo.add({ ageMs: 8 * DAY, size: 100 });
    const r = await repo.cli('--json', 'purge', '--dry-run', '--progress');
    assert.equal(r.code, 0, r.stderr);
    const reports = r.stderr
      .trim()
      .split('\n')
      .map(
        (l) =>
          (JSON.parse(l) as { progress: { listed: number; total: number | null; percent: number | null } }).progress,
      );
    assert.deepEqual(
      reports.map((p) => p.percent),
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100],
    );
    assert.ok(reports.every((p) => p.total === 30));
    assert.deepEqual(
      reports.map((p) => p.listed),
      [3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 35],
    );
    const doc = JSON.parse(r.stdout) as PurgeDoc & {
      summary: { scanned: { bytes: number }; deletedBytes: number; repoUploadsAfter: number; repoBytesAfter: number };
    };
    assert.equal(doc.summary.scanned.uploads, 35);
    assert.equal(doc.summary.scanned.bytes, 30 * 10 + 5 * 100);
    assert.equal(doc.summary.deleted, 5);
    assert.equal(doc.summary.deletedBytes, 500);
    assert.equal(doc.summary.repoUploadsAfter, 30);
    assert.equal(doc.summary.repoBytesAfter, 300);
  } finally {
    await repo.remove();
  }
});

test('purge repairs the index: missing entries restored, dangling ones removed', async () => {
  const repo = await makeRepo();
  try {
    // Older than the in-flight window (slot lifetime + a 50 MiB upload's deadline at 4 KiB/s,
    // about 3.6 h), during which usage deltas stay.
    const unindexed = await repo.add({ ageMs: 6 * HOUR, size: 10 });
    const vanished = await repo.add({ ageMs: 6 * HOUR, size: 20 }, { index: true });
    await repo.store.delete(vanished.id); // deleted behind the index's back
    const doc = await purgeJson(repo);
    const stored = await readdir(join(repo.dir, 'index', 'users', userKey('alice@example.org'), 'stored'));
    assert.deepEqual(
      stored.map((n) => n.split('.')[1]),
      [unindexed.id],
    );
    // expired: the usage delta written for the vanished upload predates the new total.json.
    assert.deepEqual((doc.summary as unknown as { index: { added: number; dangling: number } }).index, {
      added: 1,
      dangling: 1,
      expired: 1,
    });
    const total = JSON.parse(await readFile(join(repo.dir, 'index', 'usage', 'total.json'), 'utf8')) as {
      bytes: number;
      files: number;
    };
    assert.equal(total.bytes, 10);
    assert.equal(total.files, 1);
  } finally {
    await repo.remove();
  }
});

test('configuration errors exit 2 and touch nothing', async () => {
  const repo = await makeRepo({ maxAge: 'soon' });
  try {
    await repo.add({ ageMs: 300 * DAY });
    const before = listTree(repo.dir);
    const bad = await repo.cli('purge');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /plugin\.httpfileupload\.maxAge/);
    assert.deepEqual(listTree(repo.dir), before);
    // A folder that is not a repository (no marker) is refused, not purged.
    await repo.configure({ fileRepo: join(repo.dir, 'files'), maxRepoSize: '0' });
    const notRepo = await repo.cli('purge');
    assert.equal(notRepo.code, 2);
    assert.match(notRepo.stderr, /not a fileupload repository/);
    assert.deepEqual(listTree(repo.dir), before);
  } finally {
    await repo.remove();
  }
});

test(
  'deletions that fail: exit 1, each failure reported with its error, the files stay',
  { skip: process.getuid?.() !== 0 && 'needs root to mount' },
  async () => {
    const { execFileSync } = await import('node:child_process');
    const repo = await makeRepo({ maxAge: '1d' });
    const files = join(repo.dir, 'files');
    try {
      const old = await repo.add({ ageMs: 2 * DAY });
      // files/ read-only (a bind mount: root ignores permissions), everything else writable.
      execFileSync('mount', ['--bind', files, files]);
      try {
        execFileSync('mount', ['-o', 'remount,bind,ro', files]);
        const r = await repo.cli('--json', 'purge');
        assert.equal(r.code, 1, r.stderr);
        const doc = JSON.parse(r.stdout) as PurgeDoc & { deletions: Array<{ error?: string }> };
        assert.equal(doc.summary.failed, 1);
        assert.equal(doc.summary.deleted, 0);
        assert.deepEqual(
          doc.deletions.map((d) => [d.id, d.outcome]),
          [[old.id, 'failed']],
        );
        assert.match(doc.deletions[0]?.error ?? '', /EROFS/);
        const human = await repo.cli('purge');
        assert.equal(human.code, 1);
        assert.match(human.stderr, new RegExp(`could not delete ${old.id}: EROFS`));
        assert.match(human.stdout, /1 failed/);
      } finally {
        execFileSync('umount', [files]);
      }
      assert.deepEqual(await readdir(files), [old.id]);
    } finally {
      await repo.remove();
    }
  },
);
