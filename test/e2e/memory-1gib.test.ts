/**
 * [1GiB] Acceptance of issue 3: a 1 GiB upload keeps the RSS of `serve` below 150 MiB.
 * Runs the single binary (dist/fileupload). The body streams from a generator (the test holds 1 MiB at a time); serve's peak RSS is read
 * from /proc/PID/status (VmHWM) after the upload. Select or skip it with
 * `--test-name-pattern` / `--test-skip-pattern` "\[1GiB\]".
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBinary } from '../../scripts/build/freshness.ts';

// The figure that matters is the shipped binary's (running the TypeScript sources adds the
// type-stripping loader's memory), so this test runs dist/fileupload, building it when stale.
process.env.FILEUPLOAD_E2E_BIN ??= await ensureBinary();
const { http, generatedBody } = await import('../support/http.ts');
const { mustGetSlot, putToSlot, startStack } = await import('../support/stack.ts');
const { NS_UPLOAD_0 } = await import('../support/xmpp-client.ts');

const GiB = 1024 * 1024 * 1024;
const LIMIT_KIB = 150 * 1024;

describe('[1GiB] memory', () => {
  it('[1GiB] a 1 GiB upload keeps serve below 150 MiB RSS', { timeout: 300_000 }, async (t) => {
    const stack = await startStack('prosody', { maxFileSize: 2 * GiB });
    try {
      const slot = await mustGetSlot(stack.alice, stack.service, {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename: 'big.bin',
        size: GiB,
      });
      const before = stack.serve.memory();
      let peakRss = before.rssKiB;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, stack.serve.memory().rssKiB);
      }, 100);
      const started = performance.now();
      let put;
      try {
        put = await putToSlot(slot, generatedBody(GiB), { headers: { 'content-length': GiB } });
      } finally {
        clearInterval(sampler);
      }
      const seconds = (performance.now() - started) / 1000;
      assert.equal(put.status, 201, `${put.status} ${put.error ?? ''}`);
      const after = stack.serve.memory();
      const head = await http(slot.get, { method: 'HEAD' });
      assert.equal(head.headers['content-length'], String(GiB));
      t.diagnostic(
        `1 GiB upload in ${seconds.toFixed(1)} s (${(1024 / seconds).toFixed(0)} MiB/s); serve RSS before ${(before.rssKiB / 1024).toFixed(1)} MiB, ` +
          `peak sampled ${(peakRss / 1024).toFixed(1)} MiB, VmHWM ${(after.hwmKiB / 1024).toFixed(1)} MiB (limit 150 MiB)`,
      );
      assert.ok(after.hwmKiB < LIMIT_KIB, `peak RSS ${(after.hwmKiB / 1024).toFixed(1)} MiB ≥ 150 MiB`);
    } finally {
      await stack.stop();
    }
  });
});
