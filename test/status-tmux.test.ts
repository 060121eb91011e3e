/**
 * Acceptance: `fileupload status` in a real terminal (tmux) shows the connection state and a live
 * upload's progress, follows it as it advances, pauses on p and quits on q with exit 0.
 * The admin API is real and fed by a LiveState in this process; the TUI is bin/fileupload in tmux,
 * with a configuration whose slotSecret gives it the admin token (file names, uploaders).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveState } from '../src/status/live.ts';
import { createMetricsRegistry } from '../src/status/metrics.ts';
import { startAdminServer, type AdminServer } from '../src/status/admin-server.ts';
import { adminToken } from '../src/status/admin-auth.ts';
import { FILEUPLOAD_BIN, openfireXml } from './support/serve.ts';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
// A private tmux server (own socket), so nothing of the user's tmux is touched.
const SOCKET = `fileupload-status-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const pane = () => tmux('capture-pane', '-p', '-t', 'status').stdout ?? '';

async function until(ok: (screen: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const screen = pane();
    if (ok(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the terminal never showed ${what}; screen:\n${pane()}`);
}

let live: LiveState;
let admin: AdminServer;
let dir = '';
let config = '';
const SLOT_SECRET = 'status-tmux-test-slot-secret-0123456789';

before(async () => {
  live = new LiveState({ node: 'tmux-node' });
  admin = await startAdminServer({
    live,
    registry: createMetricsRegistry(live, { processMetrics: false }),
    port: 0,
    token: adminToken(SLOT_SECRET),
  });
  dir = await mkdtemp(join(tmpdir(), 'fileupload-status-tmux-'));
  config = join(dir, 'openfire.xml');
  await writeFile(config, openfireXml({ slotSecret: SLOT_SECRET }), { mode: 0o600 });
});

after(async () => {
  if (hasTmux) tmux('kill-server');
  await admin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(
  'the TUI in tmux shows a live upload and the connection state; p pauses, q quits',
  { skip: !hasTmux && 'tmux is not installed' },
  async () => {
    live.xmppState('connecting');
    const command = `${FILEUPLOAD_BIN} --config ${config} status --url ${admin.url} --interval 0.2; echo "status exited $?"; sleep 60`;
    const started = tmux('new-session', '-d', '-s', 'status', '-x', '110', '-y', '40', command);
    assert.equal(started.status, 0, started.stderr);

    await until((s) => s.includes('● connecting'), 'the connecting state');
    live.xmppState('online');
    live.uploadStarted({ id: 'slot-1', filename: 'holiday.jpg', size: 10 << 20, uploader: 'alice@example.org' });
    live.uploadProgress('slot-1', 3 << 20);
    let screen = await until(
      (s) => s.includes('● online') && s.includes('holiday.jpg'),
      'the upload and the online state',
    );
    assert.match(
      screen.split('\n').find((l) => l.includes('holiday.jpg')) ?? '',
      /█+.*░+\s+30% 3 MiB\/10 MiB alice@example\.org/,
    );

    live.uploadProgress('slot-1', 8 << 20);
    await until((s) => / 80% 8 MiB\/10 MiB/.test(s), 'the progress advancing');

    tmux('send-keys', '-t', 'status', 'p');
    await until((s) => s.includes('PAUSED'), 'the pause marker');
    live.uploadFinished('slot-1', 10 << 20);
    await new Promise((r) => setTimeout(r, 600));
    assert.match(pane(), /holiday\.jpg/, 'a paused view keeps the last data');
    tmux('send-keys', '-t', 'status', 'p');
    screen = await until((s) => s.includes('no uploads running'), 'the finished upload after resuming');
    assert.match(screen, /uploads 1 stored/);

    tmux('send-keys', '-t', 'status', 'q');
    await until((s) => s.includes('status exited 0'), 'a clean exit on q');
  },
);
