/**
 * The admin API of a real `serve` (Prosody, real users, real uploads): the metrics change after
 * a real upload, `fileupload status` reads it, the Ink TUI shows a live upload's progress and the
 * connection state, upload details only with the admin credential (the token derived from
 * slotSecret, or the 0600 unix socket), and the not-running case after serve stops.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, chown, copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import React from 'react';
import { render } from 'ink-testing-library';
import { freePort, run } from '../../scripts/testservers/processes.ts';
import { generatedBody, http, randomFile } from '../support/http.ts';
import { FILEUPLOAD_BIN, openfireXml } from '../support/serve.ts';
import { mustGetSlot, putToSlot, startStack, type SlotOk, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0 } from '../support/xmpp-client.ts';
import { sample } from '../support/prometheus.ts';
import { fetchAdmin, fetchStatus } from '../../src/status/admin-client.ts';
import { adminToken } from '../../src/status/admin-auth.ts';
import { StatusApp } from '../../src/status/tui.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';

const KiB = 1024;

/**
 * An upload of `size` bytes to `slot` that sends `share` of its body and then waits until
 * `release()`: a live upload for the status views to show.
 */
function heldUpload(
  slot: SlotOk,
  size: number,
  share: number,
): { upload: ReturnType<typeof putToSlot>; release: () => void } {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const upload = putToSlot(
    slot,
    generatedBody(size, {
      chunkSize: 256 * KiB,
      onChunk: async (_c, sent) => void (sent >= size * share && (await gate)),
    }),
    { headers: { 'content-length': size } },
  );
  return { upload, release };
}
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const isRoot = process.getuid?.() === 0;
/** An unprivileged account for "another local user" (runs the CLI with its uid). */
const NOBODY = { uid: 65534, gid: 65534 };

describe('status and metrics of a real serve', () => {
  let stack: Stack;
  let adminPort = 0;
  let dir = '';
  let token = '';
  const target = () => ({ host: '127.0.0.1', port: adminPort });

  before(async () => {
    adminPort = await freePort();
    dir = await mkdtemp(join(tmpdir(), 'fileupload-status-serve-'));
    stack = await startStack('prosody', { adminPort, adminSocket: join(dir, 'admin.sock'), maxFileSize: 8 << 20 });
    token = adminToken(String(stack.config.slotSecret));
  });
  after(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
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
    const slot = await mustGetSlot(stack.alice, stack.service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: 'metrics.bin',
      size: file.length,
    });
    assert.equal((await putToSlot(slot, file)).status, 201);
    assert.equal((await http(slot.get)).bodyLength, file.length);
    const refused = await stack.alice.requestSlot(stack.service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: 'huge.bin',
      size: 100 << 20,
    });
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
    const slot = await mustGetSlot(stack.alice, stack.service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: 'live-upload.bin',
      size,
    });
    const { upload, release } = heldUpload(slot, size, 1 / 4);
    const load = () => fetchStatus(target(), { token });
    const ui = render(
      React.createElement(StatusApp, {
        load,
        initial: await load(),
        intervalMs: 50,
        source: `http://127.0.0.1:${adminPort}`,
      }),
    );
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

  it("an upload in flight: /status names it only with the admin credential; status shows it to the configuration's readers only", async () => {
    const size = 4 << 20;
    const slot = await mustGetSlot(stack.alice, stack.service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: 'private-name.bin',
      size,
    });
    const { upload, release } = heldUpload(slot, size, 1 / 4);
    try {
      let mine;
      for (let i = 0; i < 200 && mine === undefined; i++) {
        mine = (await fetchStatus(target(), { token })).inFlight.find(
          (u) => u.filename === 'private-name.bin' && u.received >= size / 4,
        );
        if (mine === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(mine?.id, 'the upload is in flight');
      const names = [mine.id, 'private-name', 'alice@localhost'];

      // Without a credential over TCP: the counters, no upload named anywhere in the body.
      const anonymous = await fetchAdmin(target(), '/status');
      for (const n of names) assert.ok(!anonymous.includes(n), `${n} in ${anonymous}`);
      const doc = JSON.parse(anonymous);
      assert.equal(doc.uploadDetails, false);
      assert.ok(doc.inFlightCount >= 1);
      assert.ok(
        doc.inFlight.some((u: { size: number; received: number }) => u.size === size && u.received >= size / 4),
      );
      const metrics = await fetchAdmin(target(), '/metrics');
      assert.ok((sample(metrics, 'fileupload_uploads_in_flight') ?? 0) >= 1);
      for (const n of names) assert.ok(!metrics.includes(n), `${n} in /metrics`);
      const index = await fetchAdmin(target(), '/');
      for (const n of names) assert.ok(!index.includes(n));

      // With the token, or over the socket (0600: the service user and root only), it is named.
      const authed = await fetchAdmin(target(), '/status', { token });
      for (const n of names) assert.ok(authed.includes(n), `${n} missing with the token`);
      await assert.rejects(
        fetchAdmin(target(), '/status', { token: `${token}x` }),
        /did not prove it holds the admin token/,
      );
      const socketPath = String(stack.config.adminSocket);
      assert.equal((await stat(socketPath)).mode & 0o777, 0o600);
      const bySocket = await fetchStatus({ socketPath });
      assert.equal(bySocket.inFlight.find((u) => u.id === mine.id)?.uploader, 'alice@localhost');

      // fileupload status as whoever reads the configuration (here root) names the upload.
      const asReader = await run(FILEUPLOAD_BIN, ['--config', stack.serve.configFile, 'status', '--once'], {
        timeoutMs: 20_000,
      });
      assert.equal(asReader.code, 0, asReader.stderr);
      assert.match(asReader.stdout, /private-name\.bin from alice@localhost: 2[5-9]% /);
      const json = await run(FILEUPLOAD_BIN, ['--config', stack.serve.configFile, '--json', 'status'], {
        timeoutMs: 20_000,
      });
      assert.equal(
        JSON.parse(json.stdout).inFlight.find((u: { id: string }) => u.id === mine.id)?.filename,
        'private-name.bin',
      );

      if (isRoot) {
        // Another local user: with a configuration it may read (its own copy, TCP only), it
        // sees the upload; without one, the counters and a word on who sees more.
        const home = await mkdtemp(join(tmpdir(), 'fileupload-status-user-'));
        try {
          await chmod(home, 0o711);
          // The checkout may sit in a folder only root can enter (a mktemp -d clone): the other
          // user runs a copy of the single binary from this folder (the sources' launcher
          // needs the checkout itself).
          const bin = process.env.FILEUPLOAD_E2E_BIN ? join(home, 'fileupload') : FILEUPLOAD_BIN;
          if (bin !== FILEUPLOAD_BIN)
            await copyFile(FILEUPLOAD_BIN, bin, constants.COPYFILE_FICLONE).then(() => chmod(bin, 0o755));
          const readable = join(home, 'readable.xml');
          await writeFile(readable, openfireXml({ ...stack.config, adminSocket: undefined }), { mode: 0o600 });
          await chown(readable, NOBODY.uid, NOBODY.gid);
          const closed = join(home, 'closed.xml');
          await writeFile(closed, openfireXml({ ...stack.config, adminSocket: undefined }), { mode: 0o600 });
          const reader = await run(bin, ['--config', readable, 'status', '--once'], { timeoutMs: 20_000, ...NOBODY });
          assert.equal(reader.code, 0, reader.stderr);
          assert.match(reader.stdout, /private-name\.bin from alice@localhost/);
          const other = await run(
            bin,
            ['--config', closed, 'status', '--once', '--url', `http://127.0.0.1:${adminPort}`],
            { timeoutMs: 20_000, ...NOBODY },
          );
          assert.equal(other.code, 0, other.stderr);
          for (const n of names) assert.ok(!other.stdout.includes(n), `${n} shown to another user`);
          assert.match(other.stdout, /^uploads in flight: [1-9]/m);
          assert.match(other.stdout, /an upload: 2[5-9]% \(1 MiB of 4 MiB\)/);
          assert.match(other.stdout, /need the admin credential: run as the service user or root/);
          assert.match(other.stderr, /cannot be read \(EACCES\).*run as the service user or root/);
          const otherJson = await run(
            bin,
            ['--config', closed, '--json', 'status', '--url', `http://127.0.0.1:${adminPort}`],
            { timeoutMs: 20_000, ...NOBODY },
          );
          assert.equal(otherJson.code, 0, otherJson.stderr);
          for (const n of names) assert.ok(!otherJson.stdout.includes(n));
          // The socket is closed to other users.
          const viaSocket = await run(bin, ['--config', closed, 'status', '--once', '--url', `unix:${socketPath}`], {
            timeoutMs: 20_000,
            ...NOBODY,
          });
          assert.equal(viaSocket.code, ExitCode.Unavailable);
          assert.match(viaSocket.stderr, /permission denied/);
        } finally {
          await rm(home, { recursive: true, force: true });
        }
      }
      release();
      assert.equal((await upload).status, 201);
    } finally {
      release();
    }
  });

  it(
    'in a real terminal (tmux), fileupload status shows the live upload and the connection state',
    { skip: !hasTmux && 'tmux is not installed' },
    async () => {
      const size = 4 << 20;
      const slot = await mustGetSlot(stack.alice, stack.service, {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename: 'in-tmux.bin',
        size,
      });
      const { upload, release } = heldUpload(slot, size, 1 / 2);
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
    },
  );

  it('fileupload status reads serve from its configuration, and says when serve is gone', async () => {
    const r = await run(FILEUPLOAD_BIN, ['--config', stack.serve.configFile, 'status', '--json'], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).xmpp.state, 'online');
    await stack.serve.stop();
    const gone = await run(FILEUPLOAD_BIN, ['--config', stack.serve.configFile, 'status'], { timeoutMs: 20_000 });
    assert.equal(gone.code, ExitCode.Unavailable);
    assert.match(gone.stderr, /serve is not running/);
  });
});
