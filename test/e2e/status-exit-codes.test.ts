/**
 * `fileupload status` as monitoring reads it, against a real serve and a real Prosody: exit 0
 * healthy, 1 degraded (XMPP offline or auth-failed, a restart pending) with the reasons, 4 not
 * running; the snapshot names the component, its XMPP server and the repository.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { freePort, run, waitFor } from '../../scripts/testservers/processes.ts';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { FILEUPLOAD_BIN, openfireXml, serveConfigFor, startServe, type ServeProcess } from '../support/serve.ts';
import type { StatusSnapshot } from '../../src/status/snapshot.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';

/** `fileupload status` in its three non-interactive forms (output is not a terminal). */
async function status(configFile: string) {
  const opts = { timeoutMs: 20_000 };
  const [plain, once, json] = await Promise.all([
    run(FILEUPLOAD_BIN, ['--config', configFile, 'status'], opts),
    run(FILEUPLOAD_BIN, ['--config', configFile, 'status', '--once'], opts),
    run(FILEUPLOAD_BIN, ['--config', configFile, '--json', 'status'], opts),
  ]);
  return {
    codes: [plain.code, once.code, json.code],
    text: once.stdout,
    stderr: plain.stderr,
    snapshot: json.code === 0 || json.code === 1 ? (JSON.parse(json.stdout) as StatusSnapshot) : undefined,
  };
}

/** The xmpp state serve reports, once it is `state`. */
async function xmppStateBecomes(serve: ServeProcess, state: string): Promise<void> {
  await waitFor(
    async () => {
      const r = await run(FILEUPLOAD_BIN, ['--config', serve.configFile, '--json', 'status'], { timeoutMs: 20_000 });
      return r.stdout !== '' && (JSON.parse(r.stdout) as StatusSnapshot).xmpp.state === state;
    },
    { timeoutMs: 30_000, describe: `xmpp ${state}` },
  );
}

describe('status exit codes for monitoring', () => {
  let prosody: XmppTestServer;
  const serves: ServeProcess[] = [];
  before(async () => {
    prosody = await startProsody();
  });
  after(async () => {
    await Promise.all(serves.map((s) => s.stop()));
    await prosody?.stop();
  });

  it('not running: 4', async () => {
    const config = await serveConfigFor(prosody);
    const serve = await startServe({ config, waitFor: 'ready' });
    serves.push(serve);
    await serve.stop();
    const r = await status(serve.configFile);
    assert.deepEqual(r.codes, [ExitCode.Unavailable, ExitCode.Unavailable, ExitCode.Unavailable], r.stderr);
    assert.match(r.stderr, /serve is not running/);
  });

  it('online: 0 and healthy, naming the component, its server and the repository; a pending restart: 1', async () => {
    const config = await serveConfigFor(prosody);
    const serve = await startServe({ config, waitFor: 'xmpp online' });
    serves.push(serve);
    let r = await status(serve.configFile);
    assert.deepEqual(r.codes, [0, 0, 0], r.stderr);
    assert.deepEqual(r.snapshot?.health, { status: 'healthy', reasons: [] });
    assert.equal(r.snapshot?.domain, prosody.componentDomain);
    assert.equal(r.snapshot?.xmppServer, `127.0.0.1:${prosody.componentPort}`);
    assert.equal(r.snapshot?.repository, config.fileRepo);
    assert.deepEqual(r.snapshot?.restartPending, []);
    assert.deepEqual(r.snapshot?.internalErrors, { total: 0, lastFiveMinutes: 0 });
    assert.match(r.text, /^health: healthy$/m);
    assert.match(
      r.text,
      new RegExp(
        `^component: ${prosody.componentDomain.replace(/\./g, '\\.')}, xmpp server 127\\.0\\.0\\.1:${prosody.componentPort}$`,
        'm',
      ),
    );
    assert.match(r.text, /^repository location: \//m);

    // xmppHost takes effect only after a restart: serve keeps the old one and says so.
    writeFileSync(serve.configFile, openfireXml({ ...config, xmppHost: 'localhost' }));
    const from = serve.logLines().length;
    process.kill(serve.pid, 'SIGHUP');
    await serve.waitForLog('configuration reloaded', { from });
    r = await status(serve.configFile);
    assert.deepEqual(r.codes, [1, 1, 1], r.stderr);
    assert.deepEqual(r.snapshot?.restartPending, ['plugin.httpfileupload.xmppHost']);
    assert.deepEqual(r.snapshot?.health, {
      status: 'degraded',
      reasons: ['restart pending: plugin.httpfileupload.xmppHost changed'],
    });
    assert.match(r.text, /^health: degraded: restart pending: plugin\.httpfileupload\.xmppHost changed$/m);
  });

  it('XMPP offline (nothing listens on the component port): 1', async () => {
    const config = await serveConfigFor(prosody, { xmppPort: await freePort() });
    const serve = await startServe({ config, waitFor: 'ready' });
    serves.push(serve);
    await xmppStateBecomes(serve, 'offline');
    const r = await status(serve.configFile);
    assert.deepEqual(r.codes, [1, 1, 1], r.stderr);
    assert.equal(r.snapshot?.health?.status, 'degraded');
    assert.match(r.snapshot?.health?.reasons[0] ?? '', /^xmpp is offline/);
    assert.match(r.text, /^health: degraded: xmpp is offline/m);
  });

  it('XMPP auth-failed (wrong sharedSecret): 1', async () => {
    const config = await serveConfigFor(prosody, { sharedSecret: 'not-the-secret' });
    const serve = await startServe({ config, waitFor: 'ready' });
    serves.push(serve);
    await xmppStateBecomes(serve, 'auth-failed');
    const r = await status(serve.configFile);
    assert.deepEqual(r.codes, [1, 1, 1], r.stderr);
    assert.match(r.snapshot?.health?.reasons[0] ?? '', /^xmpp is auth-failed/);
  });
});
