import { test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { render } from 'ink-testing-library';
import { LiveState } from './live.ts';
import { createMetricsRegistry } from './metrics.ts';
import { startAdminServer, type AdminServer } from './admin-server.ts';
import { fetchStatus, parseAdminUrl } from './admin-client.ts';
import { StatusApp, StatusView } from './tui.ts';
import { adminToken } from './admin-auth.ts';
import { withoutUploadDetails, type StatusSnapshot } from './snapshot.ts';

const h = React.createElement;

/** Waits (bounded) until `frame()` satisfies `ok`; returns the frame. */
async function until(frame: () => string | undefined, ok: (f: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 250; i++) {
    const f = frame() ?? '';
    if (ok(f)) return f;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`the TUI never showed ${what}; last frame:\n${frame()}`);
}

async function realServe(): Promise<{
  live: LiveState;
  admin: AdminServer;
  load: () => Promise<StatusSnapshot>;
  loads: () => number;
}> {
  const live = new LiveState({ node: 'node-a', thresholds: { maxRepoSize: 1000 << 20, purgeInterval: 300_000 } });
  const token = adminToken('tui-test-slot-secret');
  const admin = await startAdminServer({
    live,
    registry: createMetricsRegistry(live, { processMetrics: false }),
    port: 0,
    token,
  });
  const target = parseAdminUrl(admin.url);
  let count = 0;
  return {
    live,
    admin,
    load: () => {
      count++;
      return fetchStatus(target, { token });
    },
    loads: () => count,
  };
}

test('the live view shows the connection state and an upload in flight with its progress bar', async () => {
  const { live, admin, load } = await realServe();
  const ui = render(h(StatusApp, { load, initial: await load(), intervalMs: 30, source: admin.url }));
  try {
    let frame = await until(ui.lastFrame, (f) => f.includes('connecting'), 'the initial state');
    assert.match(frame, /In flight 0/);
    assert.match(frame, /no uploads running/);

    live.xmppState('online');
    live.slotIssued();
    live.uploadStarted({ id: 'slot-1', filename: 'holiday.jpg', size: 1000, uploader: 'alice@example.org' });
    live.uploadProgress('slot-1', 250);
    live.repoStats({ bytes: 300 << 20, files: 3, freeBytes: 600 << 20, totalBytes: 1 << 30 });
    live.error('disk is slow');
    frame = await until(ui.lastFrame, (f) => f.includes('holiday.jpg'), 'the upload');
    assert.match(frame, /● online/);
    assert.match(frame, /In flight 1/);
    const row = frame.split('\n').find((l) => l.includes('holiday.jpg')) ?? '';
    assert.match(row, /█+[▏▎▍▌▋▊▉]?░+\s+25% /, 'a progress bar filled to 25%');
    assert.match(row, /alice@example\.org/);
    assert.match(frame, /maxRepoSize\s+█+.*30% of 1000 MiB/);
    assert.match(frame, /disk is slow/);
    assert.match(frame, /Throughput\s+in /);

    live.uploadProgress('slot-1', 750);
    frame = await until(ui.lastFrame, (f) => / 75% /.test(f), 'the progress advancing');

    live.uploadFinished('slot-1', 1000);
    live.xmppState('offline', 'connection refused');
    frame = await until(ui.lastFrame, (f) => f.includes('● offline'), 'the state change');
    assert.match(frame, /connection refused/);
    assert.match(frame, /uploads 1 stored/);
    assert.doesNotMatch(frame, /holiday\.jpg/);
  } finally {
    ui.unmount();
    await admin.close();
  }
});

test('p pauses polling, q quits', async () => {
  const { live, admin, load, loads } = await realServe();
  const ui = render(h(StatusApp, { load, initial: await load(), intervalMs: 20, source: admin.url }));
  try {
    await until(ui.lastFrame, () => loads() > 2, 'polling');
    ui.stdin.write('p');
    await until(ui.lastFrame, (f) => f.includes('PAUSED'), 'the pause marker');
    live.xmppState('online');
    const before = loads();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(loads() <= before + 1, 'no polling while paused (one request may have been under way)');
    assert.doesNotMatch(ui.lastFrame() ?? '', /● online/);
    ui.stdin.write('p');
    await until(ui.lastFrame, (f) => f.includes('● online') && !f.includes('PAUSED'), 'resumed polling');
    ui.stdin.write('q');
    await new Promise((r) => setTimeout(r, 100));
    const afterQuit = loads();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(loads(), afterQuit, 'no polling after q');
  } finally {
    ui.unmount();
    await admin.close();
  }
});

test('serve going away mid-view is shown, not a crash', async () => {
  const { admin, load } = await realServe();
  const ui = render(h(StatusApp, { load, initial: await load(), intervalMs: 20, source: admin.url }));
  try {
    await admin.close();
    const frame = await until(ui.lastFrame, (f) => f.includes('serve is not running'), 'the unreachable message');
    assert.match(frame, /connection refused/);
  } finally {
    ui.unmount();
  }
});

test('the view fits narrow and wide terminals and lists many uploads briefly', () => {
  const live = new LiveState();
  for (let i = 0; i < 12; i++)
    live.uploadStarted({
      id: `u${i}`,
      filename: `a-very-long-file-name-number-${i}.tar.gz`,
      size: 100,
      uploader: 'someone.with.a.long.name@example.org',
    });
  const snapshot = live.snapshot();
  for (const width of [60, 100, 200]) {
    const ui = render(h(StatusView, { snapshot, source: 'x', paused: false, width }));
    const frame = ui.lastFrame() ?? '';
    ui.unmount();
    assert.match(frame, /… and 2 more/);
    const rows = frame.split('\n').filter((l) => l.includes('a-very-'));
    assert.equal(rows.length, 10, `one line per upload at width ${width}`);
  }
});

test('without the admin credential the view shows progress but no file name or uploader, and says who sees them', () => {
  const live = new LiveState();
  live.uploadStarted({ id: 'slot-9', filename: 'holiday.jpg', size: 1000, uploader: 'alice@example.org' });
  live.uploadProgress('slot-9', 500);
  const ui = render(
    h(StatusView, { snapshot: withoutUploadDetails(live.snapshot()), source: 'x', paused: false, width: 200 }),
  );
  const frame = ui.lastFrame() ?? '';
  ui.unmount();
  assert.doesNotMatch(frame, /holiday|alice|slot-9/);
  assert.match(frame, /In flight 1/);
  assert.match(frame, /an upload\s+█+░+\s+50% /);
  assert.match(frame, /need the admin credential: run as the service user or root/);
});

test('the view names the component, its XMPP server and the repository, gives the verdict and counts internal errors', () => {
  const live = new LiveState({
    domain: 'upload.example.org',
    xmppServer: 'xmpp.example.org:5347',
    repository: '/var/lib/fileupload',
  });
  live.xmppState('online');
  live.slotRefused('internal-error');
  const ui = render(h(StatusView, { snapshot: live.snapshot(), source: 'x', paused: false, width: 200 }));
  const frame = ui.lastFrame() ?? '';
  ui.unmount();
  assert.match(frame, /Health\s+degraded · 1 internal error in the last 5 minutes/);
  assert.match(frame, /Component\s+upload\.example\.org, xmpp server xmpp\.example\.org:5347/);
  assert.match(frame, /Repository\s+\/var\/lib\/fileupload/);
  assert.match(frame, /internal errors 1 \(1 in the last 5 minutes\)/);
  assert.doesNotMatch(frame, /Errors\s+none/);
});
