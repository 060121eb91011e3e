import { test } from 'node:test';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { LiveState } from './live.ts';
import { createMetricsRegistry } from './metrics.ts';
import { liveHttpHooks, recordSlotOutcome } from './hooks.ts';
import { fileTooLarge, quotaExceeded } from '../xmpp/refusal.ts';
import { startKit } from '../../test/support/http-kit.ts';
import { sample } from '../../test/support/prometheus.ts';

test('every metric follows the live state', async () => {
  const live = new LiveState({ node: 'n1' });
  const registry = createMetricsRegistry(live, { processMetrics: false });
  let text = await registry.metrics();
  assert.equal(sample(text, 'fileupload_slots_issued_total'), 0);
  assert.equal(sample(text, 'fileupload_slots_refused_total', { reason: 'quota' }), 0, 'known reasons start at 0');
  assert.equal(sample(text, 'fileupload_xmpp_connected'), 0);
  assert.equal(sample(text, 'fileupload_scans_total', { verdict: 'infected' }), 0, 'every verdict starts at 0');
  assert.equal(sample(text, 'fileupload_xmpp_state', { state: 'connecting' }), 1);
  assert.equal(sample(text, 'fileupload_repository_bytes'), undefined, 'unknown until measured');
  assert.equal(sample(text, 'fileupload_filesystem_free_bytes'), undefined);

  live.xmppState('online');
  live.xmppReconnect();
  recordSlotOutcome(live, { ok: true });
  recordSlotOutcome(live, { ok: true });
  recordSlotOutcome(live, { ok: false, refusal: quotaExceeded('full') });
  recordSlotOutcome(live, { ok: false, refusal: fileTooLarge(10) });
  live.uploadStarted({ id: 'a', size: 100, uploader: 'a@b' });
  live.uploadProgress('a', 60);
  live.uploadStarted({ id: 'b', size: 100, uploader: 'a@b' });
  live.uploadFinished('b', 100);
  live.uploadFailed('c', 'client-gone');
  live.bytesOut(777);
  live.repoStats({ bytes: 5000, files: 7, freeBytes: 1_000_000, totalBytes: 2_000_000 });
  live.purgeRun({ deleted: 2, bytes: 300, failed: 1, durationMs: 4 });
  live.setThresholds({ maxRepoSize: 10_000 });
  live.error('boom');
  live.scanned('clean');
  live.scanned('clean');
  live.scanned('infected');

  text = await registry.metrics();
  const expected: [string, Record<string, string>, number][] = [
    ['fileupload_info', { version: live.version, node: 'n1' }, 1],
    ['fileupload_slots_issued_total', {}, 2],
    ['fileupload_slots_refused_total', { reason: 'quota' }, 1],
    ['fileupload_slots_refused_total', { reason: 'too-large' }, 1],
    ['fileupload_uploads_completed_total', {}, 1],
    ['fileupload_uploads_failed_total', { reason: 'client-gone' }, 1],
    ['fileupload_scans_total', { verdict: 'clean' }, 2],
    ['fileupload_scans_total', { verdict: 'infected' }, 1],
    ['fileupload_scans_total', { verdict: 'error' }, 0],
    ['fileupload_bytes_received_total', {}, 160],
    ['fileupload_bytes_sent_total', {}, 777],
    ['fileupload_uploads_in_flight', {}, 1],
    ['fileupload_xmpp_connected', {}, 1],
    ['fileupload_xmpp_state', { state: 'online' }, 1],
    ['fileupload_xmpp_state', { state: 'connecting' }, 0],
    ['fileupload_xmpp_reconnects_total', {}, 1],
    ['fileupload_repository_bytes', {}, 5000],
    ['fileupload_repository_files', {}, 7],
    ['fileupload_filesystem_free_bytes', {}, 1_000_000],
    ['fileupload_filesystem_size_bytes', {}, 2_000_000],
    ['fileupload_limit_bytes', { limit: 'maxRepoSize' }, 10_000],
    ['fileupload_purge_runs_total', {}, 1],
    ['fileupload_purge_deleted_total', {}, 2],
    ['fileupload_purge_deleted_bytes_total', {}, 300],
    ['fileupload_purge_failed_total', {}, 1],
    ['fileupload_errors_total', {}, 1],
  ];
  for (const [name, labels, value] of expected)
    assert.equal(sample(text, name, labels), value, `${name} ${JSON.stringify(labels)}`);
  assert.equal(sample(text, 'fileupload_limit_bytes', { limit: 'globalQuota' }), undefined, 'unset limits are absent');
  assert.match(text, /# TYPE fileupload_slots_issued_total counter/);
  assert.match(text, /# TYPE fileupload_uploads_in_flight gauge/);
});

test('process metrics are included by default', async () => {
  const text = await createMetricsRegistry(new LiveState()).metrics();
  assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);
  assert.ok(sample(text, 'nodejs_eventloop_lag_seconds') !== undefined);
});

test('a real upload and download through the HTTP endpoint change the metrics', async () => {
  const live = new LiveState();
  const registry = createMetricsRegistry(live, { processMetrics: false });
  const kit = await startKit({ hooks: liveHttpHooks(live) });
  try {
    const body = Buffer.alloc(300_000, 7);
    const slot = kit.slot({ size: body.length, filename: 'big.bin' });
    const put = await fetch(slot.put, { method: 'PUT', body });
    assert.equal(put.status, 201);
    const get = await fetch(slot.get);
    assert.equal((await get.arrayBuffer()).byteLength, body.length);
    // A client that goes away mid-body: the upload started, then failed.
    const partial = kit.slot({ size: 1000 });
    const url = new URL(partial.put);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 1000\r\n\r\n${'z'.repeat(100)}`,
        );
        // Wait until the endpoint has the bytes in hand, then hang up.
        const until = Date.now() + 5000;
        const check = setInterval(() => {
          if (live.counters.bytesReceived >= body.length + 100 || Date.now() > until) {
            clearInterval(check);
            socket.destroy();
            resolve();
          }
        }, 10);
      });
      socket.on('error', reject);
    });
    for (let i = 0; i < 200 && live.counters.uploadsFailed.size === 0; i++) await new Promise((r) => setTimeout(r, 10));

    const text = await registry.metrics();
    assert.equal(sample(text, 'fileupload_uploads_completed_total'), 1);
    assert.equal(sample(text, 'fileupload_uploads_failed_total', { reason: 'client-gone' }), 1);
    assert.equal(sample(text, 'fileupload_bytes_received_total'), body.length + 100);
    assert.equal(sample(text, 'fileupload_bytes_sent_total'), body.length);
    assert.equal(sample(text, 'fileupload_uploads_in_flight'), 0);
  } finally {
    await kit.stop();
  }
});

test('connection metrics: open, caps in force, refusals by reason and evictions, per listener', async () => {
  const live = new LiveState({ node: 'n1' });
  const registry = createMetricsRegistry(live, { processMetrics: false });
  live.watchConnections('http', () => ({
    open: 12,
    max: 4936,
    perAddressMax: null,
    refused: { global: 3, address: 9, forwarded: 1 },
    evicted: 2,
  }));
  const text = await registry.metrics();
  assert.equal(sample(text, 'fileupload_connections_open', { listener: 'http' }), 12);
  assert.equal(sample(text, 'fileupload_connections_limit', { listener: 'http', limit: 'max' }), 4936);
  assert.equal(
    sample(text, 'fileupload_connections_limit', { listener: 'http', limit: 'per_address' }),
    undefined,
    'no cap, no sample',
  );
  assert.equal(sample(text, 'fileupload_connections_refused_total', { listener: 'http', reason: 'address' }), 9);
  assert.equal(sample(text, 'fileupload_connections_refused_total', { listener: 'http', reason: 'forwarded' }), 1);
  assert.equal(sample(text, 'fileupload_connections_evicted_total', { listener: 'http' }), 2);
});
