import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../log.ts';
import { UploadRefusedError } from '../storage/errors.ts';
import type { UploadMeta } from '../storage/store.ts';
import { createBlocklistInspector, sha256OfChunks, sha256OfFile } from './inspect.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const meta = (size: number): UploadMeta => ({
  id: 'AAAAAAAAAAAAAAAAAAAAAAAA',
  filename: 'x.bin',
  size,
  contentType: 'application/octet-stream',
  uploader: 'alice@example.org',
  issuedAt: 0,
  storedAt: 0,
  purpose: 'message',
});

function setup(blocked: string[]) {
  const lines: string[] = [];
  const refused: string[] = [];
  const inspector = createBlocklistInspector({
    hashes: async () => new Set(blocked),
    logger: createLogger({}, { write: (l) => lines.push(l) }),
    onBlocked: (_m, s) => refused.push(s),
  });
  return { inspector, lines, refused };
}

test('sha256 of a file from an offset and of chunks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blocklist-'));
  try {
    const body = Buffer.from('hello world');
    await writeFile(join(dir, 'f'), Buffer.concat([Buffer.from('HEADER'), body]));
    assert.equal(await sha256OfFile(join(dir, 'f'), 6), sha(body));
    async function* chunks() {
      yield body.subarray(0, 3);
      yield body.subarray(3);
    }
    assert.equal(await sha256OfChunks(chunks()), sha(body));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file with blocked bytes is refused with 403 "blocked content", logged with id and hash only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blocklist-'));
  try {
    const bad = Buffer.from('bad bytes');
    const good = Buffer.from('good bytes');
    await writeFile(join(dir, 'bad'), Buffer.concat([Buffer.from('HD'), bad]));
    await writeFile(join(dir, 'good'), Buffer.concat([Buffer.from('HD'), good]));
    const { inspector, lines, refused } = setup([sha(bad)]);
    await assert.rejects(inspector.inspectFile(meta(bad.length), join(dir, 'bad'), 2), (err: unknown) => {
      assert.ok(err instanceof UploadRefusedError);
      assert.equal(err.status, 403);
      assert.equal(err.message, 'blocked content');
      return true;
    });
    await inspector.inspectFile(meta(good.length), join(dir, 'good'), 2);
    assert.deepEqual(refused, [sha(bad)]);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.id, 'AAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(logged[0]!.sha256, sha(bad));
    assert.doesNotMatch(lines[0]!, /x\.bin|alice/, 'no filename, no uploader');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('with an empty blocklist the file is not read at all', async () => {
  const { inspector } = setup([]);
  // A path that does not exist: reading it would fail.
  await inspector.inspectFile(meta(1), '/nonexistent/blocklist-test', 0);
});

test('a stream is hashed as it passes and refused at its end; other bytes pass', async () => {
  const bad = Buffer.from('bad bytes');
  const { inspector } = setup([sha(bad)]);
  const feed = inspector.inspectStream(meta(bad.length));
  await feed.push(bad.subarray(0, 4));
  await feed.push(bad.subarray(4));
  await assert.rejects(feed.end(), (err: unknown) => err instanceof UploadRefusedError && err.status === 403);
  const ok = inspector.inspectStream(meta(3));
  await ok.push(Buffer.from('abc'));
  await ok.end();
});
