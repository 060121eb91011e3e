import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  byReason,
  fit,
  formatByteRate,
  formatEventRate,
  formatSnapshotText,
  formatSpan,
  progressBar,
  sparkline,
} from './format.ts';
import { LiveState } from './live.ts';
import { withoutUploadDetails } from './snapshot.ts';

test('progress bars fill in eighths and keep their width', () => {
  assert.equal(progressBar(0, 4), '░░░░');
  assert.equal(progressBar(1, 4), '████');
  assert.equal(progressBar(0.5, 4), '██░░');
  assert.equal(progressBar(0.5625, 4), '██▎░', '2 full cells and 2 eighths');
  assert.equal(progressBar(7, 4), '████', 'clamped');
  assert.equal(progressBar(Number.NaN, 3), '░░░');
  for (let f = 0; f <= 1; f += 0.01) assert.equal([...progressBar(f, 17)].length, 17);
});

test('sparklines scale to the largest value and merge to the width', () => {
  assert.equal(sparkline([0, 1, 2, 4, 8], 5), '▁▂▃▅█');
  assert.equal(sparkline([0, 0, 0], 3), '▁▁▁');
  assert.equal(sparkline([1, 9, 1, 1], 2), '█▂', 'a peak survives merging');
  assert.equal([...sparkline(new Array(60).fill(3), 20)].length, 20);
});

test('words for rates, spans and reasons', () => {
  assert.equal(formatByteRate(1536), '1.5 KiB/s');
  assert.equal(formatEventRate(0), '0/s');
  assert.equal(formatEventRate(0.25), '0.25/s');
  assert.equal(formatEventRate(2.5), '2.5/s');
  assert.equal(formatEventRate(12.4), '12/s');
  assert.equal(formatSpan(42_000), '42s');
  assert.equal(formatSpan(3_725_000), '1h 02m');
  assert.equal(formatSpan(90_000_000), '1d 01h');
  assert.equal(byReason({ quota: 1, 'too-large': 2 }, 'refused'), '3 refused (too-large 2, quota 1)');
  assert.equal(byReason({}, 'failed'), '0 failed');
  assert.equal(fit('holiday-photo.jpeg', 10), 'holiday-p…');
  assert.equal(fit('short', 10), 'short');
});

test('the text snapshot names every topic', () => {
  let t = 1_700_000_000_000;
  const live = new LiveState({
    now: () => t,
    node: 'node-a',
    version: '1.2.3',
    thresholds: { maxRepoSize: 1000, purgeInterval: 300_000 },
  });
  live.xmppState('online');
  live.uploadStarted({ id: 'abc', filename: 'cat.jpg', size: 200, uploader: 'alice@example.org' });
  live.uploadProgress('abc', 50);
  live.repoStats({ bytes: 250, files: 2, freeBytes: 4096 });
  live.slotRefused('quota');
  live.purgeRun({ deleted: 1, bytes: 10, failed: 0, durationMs: 1500 });
  live.error('disk is slow');
  live.watchConnections('http', () => ({
    open: 12,
    max: 4936,
    perAddressMax: 256,
    refused: { global: 0, address: 80, forwarded: 0 },
    evicted: 3,
  }));
  t += 65_000;
  const text = formatSnapshotText(live.snapshot());
  assert.match(text, /^fileupload 1\.2\.3 on node-a \(pid \d+\), up 1m 05s$/m);
  assert.match(text, /^xmpp: online for 1m 05s, 0 reconnects$/m);
  assert.match(text, /^uploads in flight: 1$/m);
  assert.match(text, /^ {2}cat\.jpg from alice@example\.org: 25% \(50 B of 200 B\), started 1m 05s ago$/m);
  assert.match(text, /^repository: 250 B in 2 files; filesystem 4 KiB free; measured 1m 05s ago$/m);
  assert.match(text, /maxRepoSize 1000 B \(25% used\)/);
  assert.match(
    text,
    /^purge: every 5m; 1 run, 1 deleted \(10 B\), 0 failed; last 1m 05s ago: 1 deleted \(10 B\) in 1\.5 s$/m,
  );
  assert.match(text, /1 refused \(quota 1\)/);
  assert.match(
    text,
    /^connections: http 12 open \(max 4936, per address 256\), 80 refused \(address 80\), 3 idle closed$/m,
  );
  assert.match(text, /^ {2}\d{4}-\d\d-\d\dT[\d:.]+Z disk is slow$/m);
});

test('without the admin credential the text names no upload and says who may see them', () => {
  const live = new LiveState({ node: 'node-a' });
  live.uploadStarted({ id: 'abc', filename: 'cat.jpg', size: 200, uploader: 'alice@example.org' });
  live.uploadProgress('abc', 50);
  const text = formatSnapshotText(withoutUploadDetails(live.snapshot()));
  assert.doesNotMatch(text, /abc|cat\.jpg|alice/);
  assert.match(text, /^uploads in flight: 1$/m);
  assert.match(text, /^ {2}\(file names and uploaders need the admin credential: run as the service user or root/m);
  assert.match(text, /^ {2}an upload: 25% \(50 B of 200 B\), started /m);
});

test('the text names the component, its server and repository, the verdict, and counts internal errors', () => {
  const live = new LiveState({
    node: 'node-a',
    domain: 'upload.example.org',
    xmppServer: 'xmpp.example.org:5347',
    repository: 's3://uploads/',
  });
  live.xmppState('auth-failed', 'the server refused the handshake');
  live.slotRefused('internal-error');
  const text = formatSnapshotText(live.snapshot());
  assert.match(
    text,
    /^health: degraded: xmpp is auth-failed \(the server refused the handshake\); 1 internal error in the last 5 minutes$/m,
  );
  assert.match(text, /^component: upload\.example\.org, xmpp server xmpp\.example\.org:5347$/m);
  assert.match(text, /^repository location: s3:\/\/uploads\/$/m);
  assert.match(text, /^internal errors: 1 \(1 in the last 5 minutes\)$/m);
  assert.doesNotMatch(text, /errors: none/, 'never "none" beside an internal error');
  assert.match(text, /internal error: a slot request was refused with internal-error/);
});
