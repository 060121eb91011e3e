import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveState, thresholdsFromSettings } from './live.ts';
import { isStatusSnapshot } from './snapshot.ts';
import { refusalReason, uploadFailureReason } from './reasons.ts';
import { badRequest, fileTooLarge, forbidden, internalError, notImplemented, quotaExceeded } from '../xmpp/refusal.ts';
import { refuse } from '../xmpp/policy.ts';
import { testSettings } from '../../test/support/http-kit.ts';

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('uploads: in flight with progress, then finished or failed; bytes counted once', () => {
  const c = clock();
  const live = new LiveState({ now: c.now, node: 'n1', version: '9.9.9' });
  live.uploadStarted({ id: 'a', filename: 'cat.jpg', size: 1000, uploader: 'alice@example.org' });
  live.uploadStarted({ id: 'b', size: 50, uploader: 'bob@example.org' });
  live.uploadProgress('a', 400);
  live.uploadProgress('a', 300); // out of order: never counts backwards
  live.uploadProgress('unknown', 999);
  let s = live.snapshot();
  assert.equal(s.inFlightCount, 2);
  assert.deepEqual(
    s.inFlight.map((u) => [u.id, u.filename, u.received, u.size, u.uploader]),
    [
      ['a', 'cat.jpg', 400, 1000, 'alice@example.org'],
      ['b', null, 0, 50, 'bob@example.org'],
    ],
  );
  assert.equal(s.totals.bytesReceived, 400);

  live.uploadFinished('a', 1000);
  live.uploadProgress('b', 20);
  live.uploadFailed('b', 'client-gone');
  s = live.snapshot();
  assert.equal(s.inFlightCount, 0);
  assert.deepEqual(s.inFlight, []);
  assert.equal(s.totals.uploadsCompleted, 1);
  assert.deepEqual(s.totals.uploadsFailed, { 'client-gone': 1 });
  assert.equal(s.totals.bytesReceived, 1020, 'received bytes of a failed upload still arrived');
  assert.equal(s.version, '9.9.9');
  assert.equal(s.node, 'n1');
  assert.ok(isStatusSnapshot(JSON.parse(JSON.stringify(s))));
});

test('an upload finished without progress reports still counts its bytes', () => {
  const live = new LiveState();
  live.uploadFinished('x', 123);
  assert.equal(live.counters.bytesReceived, 123);
  assert.equal(live.counters.uploadsCompleted, 1);
});

test('rates come from the per-second buckets', () => {
  const c = clock();
  const live = new LiveState({ now: c.now, rateAverageSeconds: 10 });
  c.advance(60_000);
  for (let i = 0; i < 10; i++) {
    live.slotIssued();
    live.slotIssued();
    live.uploadFinished(`u${i}`, 1024);
    live.bytesOut(4096);
    c.advance(1000);
  }
  const r = live.snapshot().rates;
  assert.equal(r.slotsPerSecond, 2);
  assert.equal(r.uploadsPerSecond, 1);
  assert.equal(r.bytesInPerSecond, 1024);
  assert.equal(r.bytesOutPerSecond, 4096);
  assert.equal(r.history.stepSeconds, 5);
  assert.equal(r.history.bytesIn.length, 59);
  assert.deepEqual(r.history.bytesOut.slice(-2), [4096, 4096]);
  assert.equal(r.history.bytesOut[0], 0);
});

test('xmpp state keeps its "since" while the state stays; reconnects count', () => {
  const c = clock();
  const live = new LiveState({ now: c.now });
  assert.equal(live.snapshot().xmpp.state, 'connecting');
  c.advance(1000);
  live.xmppState('online');
  const since = live.snapshot().xmpp.since;
  c.advance(5000);
  live.xmppState('online');
  assert.equal(live.snapshot().xmpp.since, since);
  live.xmppState('offline', 'connection refused');
  live.xmppReconnect();
  const x = live.snapshot().xmpp;
  assert.deepEqual([x.state, x.detail, x.since, x.reconnects], ['offline', 'connection refused', since + 5000, 1]);
});

test('errors: the latest N are kept, oldest first, long messages cut', () => {
  const live = new LiveState({ errorCapacity: 3 });
  for (let i = 1; i <= 5; i++) live.error(`e${i}`);
  live.error('x'.repeat(2000));
  const s = live.snapshot();
  assert.deepEqual(
    s.errors.slice(0, 2).map((e) => e.message),
    ['e4', 'e5'],
  );
  assert.equal(s.errors[2]?.message.length, 500);
  assert.equal(s.totals.errors, 6);
});

test('refusal and failure reasons: counted, and distinct words are bounded', () => {
  const live = new LiveState();
  live.slotRefused('quota');
  live.slotRefused('quota');
  live.slotRefused('too-large');
  for (let i = 0; i < 100; i++) live.uploadFailed(`id${i}`, `weird-${i}`);
  const s = live.snapshot();
  assert.deepEqual(s.totals.slotsRefused, { quota: 2, 'too-large': 1 });
  assert.ok(Object.keys(s.totals.uploadsFailed).length <= 33);
  assert.equal(
    Object.values(s.totals.uploadsFailed).reduce((a, b) => a + b, 0),
    100,
  );
  assert.ok((s.totals.uploadsFailed.other ?? 0) > 0);
});

test('reason words for refusals and HTTP failures', () => {
  assert.equal(refusalReason(fileTooLarge(10)), 'too-large');
  assert.equal(refusalReason(badRequest('x')), 'bad-request');
  assert.equal(refusalReason(forbidden()), 'forbidden');
  assert.equal(refusalReason(quotaExceeded('x')), 'quota');
  assert.equal(refusalReason(notImplemented()), 'not-implemented');
  assert.equal(refusalReason(internalError()), 'internal-error');
  assert.equal(uploadFailureReason(499), 'client-gone');
  assert.equal(uploadFailureReason(413), 'size-mismatch');
  assert.equal(uploadFailureReason(507), 'storage-full');
  assert.equal(uploadFailureReason(408), 'timeout');
  assert.equal(uploadFailureReason(503), 'unavailable');
  assert.equal(uploadFailureReason(403), 'blocked');
  assert.equal(uploadFailureReason(418), 'http-418');
  assert.equal(uploadFailureReason(12345), 'other');
});

test('repository figures, purge runs and thresholds', () => {
  const c = clock();
  const live = new LiveState({ now: c.now });
  assert.equal(live.snapshot().repo.updatedAt, null);
  live.repoStats({ bytes: 100, files: 2, freeBytes: 900 });
  live.purgeRun({ deleted: 3, bytes: 300, failed: 1, durationMs: 12 });
  c.advance(1000);
  live.purgeRun({ deleted: 1, bytes: 10, failed: 0, durationMs: 5 });
  live.setThresholds(
    thresholdsFromSettings(testSettings({ maxRepoSize: 5000, globalQuota: -1, maxFileSize: -1, purgeInterval: 0 })),
  );
  const s = live.snapshot();
  assert.deepEqual(s.repo, { bytes: 100, files: 2, freeBytes: 900, totalBytes: null, updatedAt: c.now() - 1000 });
  assert.deepEqual(s.purge, {
    runs: 2,
    deleted: 4,
    deletedBytes: 310,
    failed: 1,
    lastRun: { at: c.now(), deleted: 1, bytes: 10, failed: 0, durationMs: 5 },
  });
  assert.equal(s.thresholds.maxRepoSize, 5000);
  assert.equal(s.thresholds.globalQuota, null);
  assert.equal(s.thresholds.maxFileSize, null);
  assert.equal(s.thresholds.purgeInterval, null);
});

test('a snapshot lists at most 100 uploads in flight but counts them all', () => {
  const live = new LiveState();
  for (let i = 0; i < 150; i++) live.uploadStarted({ id: `u${i}`, size: 1, uploader: 'a@b' });
  const s = live.snapshot();
  assert.equal(s.inFlight.length, 100);
  assert.equal(s.inFlightCount, 150);
  assert.equal(s.inFlight[0]?.id, 'u0');
});

test('a slot issued here lends its file name to its upload; the memory is bounded', () => {
  const live = new LiveState();
  for (let i = 0; i < 2000; i++) live.slotIssued({ id: `s${i}`, filename: `f${i}.txt` });
  live.uploadStarted({ id: 's1999', size: 1, uploader: 'a@b' });
  live.uploadStarted({ id: 's0', size: 1, uploader: 'a@b' });
  live.uploadStarted({ id: 's1998', filename: 'given.txt', size: 1, uploader: 'a@b' });
  assert.deepEqual(
    live.snapshot().inFlight.map((u) => u.filename),
    ['f1999.txt', null, 'given.txt'],
  );
  assert.equal(live.counters.slotsIssued, 2000);
});

test('connection figures by listener: read at each snapshot, several sources of one listener add up', () => {
  const live = new LiveState({ node: 'n1' });
  assert.deepEqual(live.snapshot().connections, {});
  let open = 3;
  live.watchConnections('http', () => ({
    open,
    max: 100,
    perAddressMax: 25,
    refused: { global: 1, address: 2, forwarded: 0 },
    evicted: 4,
  }));
  const a = { open: 1, max: 32, perAddressMax: 8, refused: { global: 0, address: 1, forwarded: 0 }, evicted: 0 };
  live.watchConnections('admin', () => a);
  const unwatch = live.watchConnections('admin', () => ({
    ...a,
    open: 2,
    refused: { global: 5, address: 0, forwarded: 0 },
  }));
  open = 7;
  const s = live.snapshot();
  assert.equal(s.connections?.http?.open, 7);
  assert.deepEqual(s.connections?.admin, {
    open: 3,
    max: 64,
    perAddressMax: 8,
    refused: { global: 5, address: 1, forwarded: 0 },
    evicted: 0,
  });
  assert.ok(isStatusSnapshot(s));
  unwatch();
  assert.equal(live.snapshot().connections?.admin?.open, 1);
});

test('rate and unused-slot refusals have their own reason word, through the policy chain', () => {
  const through = (slotLimit: 'rate' | 'pending') => {
    const d = refuse({ ...quotaExceeded('too many'), slotLimit });
    assert.ok(!d.ok);
    return refusalReason(d.refusal);
  };
  assert.equal(through('rate'), 'rate');
  assert.equal(through('pending'), 'pending-slots');
  const live = new LiveState();
  live.slotRefused(through('rate'));
  live.slotRefused(refusalReason(quotaExceeded('x')));
  assert.deepEqual(live.snapshot().totals.slotsRefused, { rate: 1, quota: 1 });
});

test('internal errors are counted, listed and judged for five minutes; a pending restart too', () => {
  const c = clock();
  const live = new LiveState({
    now: c.now,
    domain: 'upload.example.org',
    xmppServer: '127.0.0.1:5347',
    repository: '/srv/uploads',
  });
  live.xmppState('online');
  let s = live.snapshot();
  assert.deepEqual([s.domain, s.xmppServer, s.repository], ['upload.example.org', '127.0.0.1:5347', '/srv/uploads']);
  assert.deepEqual(s.health, { status: 'healthy', reasons: [] });
  assert.deepEqual(s.internalErrors, { total: 0, lastFiveMinutes: 0 });

  live.slotRefused('internal-error');
  live.slotRefused('quota');
  live.internalError('PUT answered 500');
  s = live.snapshot();
  assert.deepEqual(s.internalErrors, { total: 2, lastFiveMinutes: 2 }, 'a quota refusal is no internal error');
  assert.equal(s.errors.length, 2, 'internal errors are listed with the errors');
  assert.match(s.errors[1]?.message ?? '', /internal error: PUT answered 500/);
  assert.deepEqual(s.health?.reasons, ['2 internal errors in the last 5 minutes']);

  c.advance(300_000);
  s = live.snapshot();
  assert.deepEqual(s.internalErrors, { total: 2, lastFiveMinutes: 0 });
  assert.equal(s.health?.status, 'healthy', 'five minutes later they no longer degrade');

  live.restartPending(['plugin.httpfileupload.webPort']);
  s = live.snapshot();
  assert.deepEqual(s.restartPending, ['plugin.httpfileupload.webPort']);
  assert.equal(s.health?.status, 'degraded');
  live.restartPending([]);
  assert.equal(live.snapshot().health?.status, 'healthy', 'the property was changed back');
});
