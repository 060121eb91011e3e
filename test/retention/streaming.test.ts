/**
 * Purge while an upload is streaming: the temp file being written is not touched (it is not
 * idle), an idle one is, and the upload completes and is served afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FsStore } from '../../src/storage/fs/index.ts';
import { newSlotId } from '../../src/slots/id.ts';
import { DAY, idsByRule, makeRepo } from './fixtures.ts';

test('a temp file that is being written survives purge; an idle one goes; size rules never take temp files', async () => {
  // A 1-byte cap: the size rule must act, and may take only the published upload.
  const repo = await makeRepo({ slotLifetime: '1s', maxRepoSize: '1' });
  const store = new FsStore(repo.dir, { durable: false });
  await store.open();
  try {
    const old = await repo.add({ ageMs: 2 * DAY, size: 100 });
    const idle = await repo.addPartial(5000, 600_000);
    const chunk = Buffer.alloc(32 * 1024, 0x62);
    // Up to 20 s of streaming at 10 chunks/s: far longer than a purge takes.
    const chunks = 200;
    let sent = 0;
    let purgeDone = false;
    async function* slowBody(): AsyncGenerator<Uint8Array> {
      // Keeps writing (every 100 ms) until purge has finished, then sends the rest at once.
      while (sent < chunks) {
        yield chunk;
        sent++;
        if (!purgeDone) await new Promise((r) => setTimeout(r, 100));
      }
    }
    const id = newSlotId();
    const writing = store.write(
      {
        id,
        filename: 'big.bin',
        size: chunks * chunk.length,
        contentType: 'application/octet-stream',
        uploader: 'alice@example.org',
        issuedAt: Date.now(),
        purpose: 'message',
      },
      slowBody(),
    );
    // Wait until the upload's temp file exists and has data on disk.
    for (let i = 0; i < 100 && sent < 4; i++) await new Promise((r) => setTimeout(r, 50));
    const tmpBefore = await readdir(join(repo.dir, 'tmp'));
    assert.ok(
      tmpBefore.some((n) => n.startsWith(id)),
      'the streaming upload has a temp file',
    );

    const r = await repo.cli('--json', 'purge');
    purgeDone = true;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(sent < chunks, 'the upload was still streaming during the purge');
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(idsByRule(doc), { abandoned: [idle.split('.')[0]], maxRepoSize: [old.id] });

    const meta = await writing;
    assert.equal(meta.size, chunks * chunk.length);
    assert.equal((await store.stat(id))?.size, chunks * chunk.length, 'the upload was published intact');
    assert.deepEqual(await readdir(join(repo.dir, 'tmp')), []);
  } finally {
    await store.close();
    await repo.remove();
  }
});
