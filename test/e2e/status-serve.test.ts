/**
 * The admin API of a real `serve` (Prosody, real users, real uploads): the metrics change after
 * a real upload, `fileupload status` reads it, the Ink TUI shows a live upload's progress and the
 * connection state, and the not-running case after serve stops.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import React from 'react';
import { render } from 'ink-testing-library';
import { freePort, run } from '../../scripts/testservers/processes.ts';
import { generatedBody, http, randomFile } from '../support/http.ts';
import { FILEUPLOAD_BIN } from '../support/serve.ts';
import { mustGetSlot, putToSlot, startStack, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0 } from '../support/xmpp-client.ts';
import { sample } from '../support/prometheus.ts';
import { fetchAdmin, fetchStatus } from '../../src/status/admin-client.ts';
import { StatusApp } from '../../src/status/tui.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';

const KiB = 1024;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
describe('status and metrics of a real serve', () => {
  let stack: Stack;
  let adminPort = 0;
  const target = () => ({ host: '127.0.0.1', port: adminPort });

  before(async () => {
    adminPort = await freePort();
    stack = await startStack('prosody', { adminPort, maxFileSize: 8 << 20 });
  });
  after(async () => {
    await stack?.stop();
  });

  it('a real upload, download and refusal change the metrics', async () => {
    const before = await fetchAdmin(target(), '/metrics');
    assert.equal(sample(before, 'fileupload_xmpp_connected'), 1);
    const issued0 = sample(before, 'fileupload_slots_issued_total') ?? 0;
    const completed0 = sample(before, 'fileupload_uploads_completed_total') ?? 0;
    const received0 = sample(before, 'fileupload_bytes_received_total') ?? 0;
    const sent0 = sample(before, 'fileupload_bytes_sent_total') ?? 0;
    const tooLarge0 = sample(before, 'fileupload_slots_refused_total', { reason: 'too-large' }) ?? 0;

    const file = randomFile(100 * KiB);
    const slot = await mustGetSlot(stack.alice, stack.service, { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'metrics.bin', size: file.length });
    assert.equal((await putToSlot(slot, file)).status, 201);
    assert.equal((await http(slot.get)).bodyLength, file.length);
    const refused = await stack.alice.requestSlot(stack.service, { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'huge.bin', size: 100 << 20 });
    assert.equal(refused.ok, false);

    const text = await fetchAdmin(target(), '/metrics');
    assert.equal(sample(text, 'fileupload_slots_issued_total'), issued0 + 1);
    assert.equal(sample(text, 'fileupload_slots_refused_total', { reason: 'too-large' }), tooLarge0 + 1);
    assert.equal(sample(text, 'fileupload_uploads_completed_total'), completed0 + 1);
    assert.equal(sample(text, 'fileupload_bytes_received_total'), received0 + file.length);
    assert.equal(sample(text, 'fileupload_bytes_sent_total'), sent0 + file.length);
    assert.equal(sample(text, 'fileupload_uploads_in_flight'), 0);
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);

    const status = await fetchStatus(target());
    assert.equal(status.xmpp.state, 'online');
    assert.equal(status.totals.uploadsCompleted, completed0 + 1);
  });

  it('the TUI shows a live upload with its progress bar and the connection state', async () => {
    const size = 4 << 20;
    const slot = await mustGetSlot(stack.alice, stack.service, { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'live-upload.bin', size });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Send a quarter, then hold the rest until the TUI has shown it.
    const upload = putToSlot(
      slot,
      generatedBody(size, { chunkSize: 256 * KiB, onChunk: async (_c, sent) => void (sent >= size / 4 && (await gate)) }),
      { headers: { 'content-length': size } },
    );
    const load = () => fetchStatus(target());
    const ui = render(React.createElement(StatusApp, { load, initial: await load(), intervalMs: 50, source: `http://127.0.0.1:${adminPort}` }));
    try {
      let frame = '';
      for (let i = 0; i < 200 && !/live-upload\.bin.*25%/.test(frame); i++) {
        await new Promise((r) => setTimeout(r, 25));
        frame = ui.lastFrame() ?? '';
      }
      assert.match(frame, /● online/);
      assert.match(frame, /live-upload\.bin\s+█+[▏▎▍▌▋▊▉]?░+\s+25% 1 MiB\/4 MiB alice@localhost/, frame);
      release();
      assert.equal((await upload).status, 201);
      for (let i = 0; i < 200 && !frame.includes('no uploads running'); i++) {
        await new Promise((r) => setTimeout(r, 25));
        frame = ui.lastFrame() ?? '';
      }
      assert.match(frame, /no uploads running/);
    } finally {
      release();
      ui.unmount();
    }
  });

  it('in a real terminal (tmux), fileupload status shows the live upload and the connection state', { skip: !hasTmux && 'tmux is not installed' }, async () => {
    const size = 4 << 20;
    const slot = await mustGetSlot(stack.alice, stack.service, { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'in-tmux.bin', size });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const upload = putToSlot(
      slot,
      generatedBody(size, { chunkSize: 256 * KiB, onChunk: async (_c, sent) => void (sent >= size / 2 && (await gate)) }),
      { headers: { 'content-length': size } },
    );
    const socket = `fileupload-status-e2e-${process.pid}`;
    const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-t', 'st').stdout ?? '';
    const until = async (ok: (s: string) => boolean, what: string) => {
      for (let i = 0; i < 150; i++) {
        if (ok(screen())) return screen();
        await new Promise((r) => setTimeout(r, 100));
      }
      return assert.fail(`the terminal never showed ${what}:\n${screen()}`);
    };
    try {
      const cmd = `${FILEUPLOAD_BIN} --config ${stack.serve.configFile} status --interval 0.2; echo "status exited $?"; sleep 60`;
      assert.equal(tmux('new-session', '-d', '-s', 'st', '-x', '110', '-y', '40', cmd).status, 0);
      const shown = await until((s) => /in-tmux\.bin.* 50% 2 MiB\/4 MiB/.test(s), 'the upload at 50%');
      assert.match(shown, /● online/);
      assert.match(shown.split('\n').find((l) => l.includes('in-tmux.bin')) ?? '', /█+.*░+/);
      release();
      assert.equal((await upload).status, 201);
      await until((s) => s.includes('no uploads running'), 'the upload finished');
      tmux('send-keys', '-t', 'st', 'q');
      await until((s) => s.includes('status exited 0'), 'a clean exit on q');
    } finally {
      release();
      tmux('kill-server');
    }
  });

  it('fileupload status reads serve from its configuration, and says when serve is gone', async () => {
    const r = await run(FILEUPLOAD_BIN, ['--config', stack.serve.configFile, 'status', '--json'], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).xmpp.state, 'online');
    await stack.serve.stop();
    const gone = await run(FILEUPLOAD_BIN, ['--config', stack.serve.configFile, 'status'], { timeoutMs: 20_000 });
    assert.equal(gone.code, ExitCode.Unavailable);
    assert.match(gone.stderr, /serve is not running/);
  });
});
