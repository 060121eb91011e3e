/**
 * The single binary (dist/fileupload) carries the sendfile addon as a SEA asset: `serve` loads it
 * from a temp copy that it deletes at once, and large downloads through it arrive intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ensureBinary } from '../../scripts/build/freshness.ts';

process.env.FILEUPLOAD_E2E_BIN ??= await ensureBinary();
const { serveConfigFor, startServe } = await import('../support/serve.ts');
const { http, randomFile, sha256 } = await import('../support/http.ts');
const { signSlot } = await import('../../src/slots/sign.ts');
const { newSlotId } = await import('../../src/slots/id.ts');

test('serve from the binary loads the embedded addon and sends large files with it', async () => {
  const config = await serveConfigFor(undefined);
  const serve = await startServe({ config, waitFor: 'ready', env: { FILEUPLOAD_LOG_LEVEL: 'debug' } });
  try {
    const loaded = serve.logLines().find((l) => l.msg === 'large downloads use sendfile');
    assert.ok(
      loaded,
      `no sendfile log line:\n${serve
        .logLines()
        .map((l) => JSON.stringify(l))
        .join('\n')}`,
    );
    assert.equal(loaded.from, 'executable asset sendfile.node');
    // Mapped into the process, and the temp copy it was loaded from is gone.
    const maps = readFileSync(`/proc/${serve.pid}/maps`, 'utf8');
    const mapped = maps.split('\n').filter((l) => l.includes('fileupload-native-'));
    assert.ok(mapped.length > 0, 'the addon is mapped');
    for (const line of mapped) assert.match(line, /\(deleted\)$/);

    const size = 6 * 1024 * 1024;
    const data = randomFile(size);
    const now = Date.now();
    const slot = {
      id: newSlotId(),
      filename: 'big.bin',
      size,
      uploader: 'a@example.org',
      issuedAt: now,
      expiresAt: now + 300_000,
      purpose: 'message' as const,
    };
    const url = `${serve.baseUrl}/${slot.id}/${slot.filename}`;
    const put = await http(`${url}?t=${signSlot(String(config.slotSecret), slot)}`, { method: 'PUT', body: data });
    assert.equal(put.status, 201, put.body.toString());
    const got = await http(url, { discardBody: true });
    assert.equal(got.status, 200);
    assert.equal(got.bodySha256, sha256(data));
  } finally {
    await serve.stop();
  }
});
