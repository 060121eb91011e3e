/**
 * The end-to-end machinery itself: throw-away Prosody and ejabberd start on free loopback ports,
 * users log in, a connected component appears in the server's disco#items and is found by the
 * client helper, restart() keeps accounts, stop() leaves no process behind, and the up/down CLI.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import { startEjabberd } from '../../scripts/testservers/ejabberd.ts';
import { portAccepts, processAlive, run } from '../../scripts/testservers/processes.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { connectUser, NS_UPLOAD_0 } from '../support/xmpp-client.ts';
import { startFakeComponent } from '../support/fake-component.ts';
import { REPO_ROOT } from '../support/serve.ts';

const USERS = [
  { user: 'alice', password: 'alice-pw' },
  { user: 'mallory', password: 'mallory-pw', host: 'elsewhere.localhost' },
];

const alive = processAlive;

for (const [name, start] of [
  ['prosody', startProsody],
  ['ejabberd', startEjabberd],
] as const) {
  describe(`test server: ${name}`, () => {
    let server: XmppTestServer;
    before(async () => {
      server = await start({ users: USERS });
    });
    after(() => server?.stop());

    it('serves both hosts and lets users of each log in', async () => {
      assert.deepEqual(server.hosts, ['localhost', 'elsewhere.localhost']);
      const alice = await connectUser({
        port: server.c2sPort,
        domain: 'localhost',
        username: 'alice',
        password: 'alice-pw',
      });
      const mallory = await connectUser({
        port: server.c2sPort,
        domain: 'elsewhere.localhost',
        username: 'mallory',
        password: 'mallory-pw',
      });
      assert.match(alice.jid, /^alice@localhost\//);
      assert.match(mallory.jid, /^mallory@elsewhere\.localhost\//);
      await Promise.all([alice.close(), mallory.close()]);
      await assert.rejects(
        connectUser({ port: server.c2sPort, domain: 'localhost', username: 'alice', password: 'wrong' }),
        /login/,
      );
    });

    it('lists a connected component in disco#items; the client finds it and parses slots and errors', async () => {
      const fake = await startFakeComponent(server, 1234);
      try {
        const alice = await connectUser({
          port: server.c2sPort,
          domain: 'localhost',
          username: 'alice',
          password: 'alice-pw',
        });
        try {
          assert.ok((await alice.discoItems('localhost')).includes('upload.localhost'));
          const service = await alice.findUploadService();
          assert.equal(service?.jid, 'upload.localhost');
          assert.equal(service?.maxFileSize, 1234);
          const slot = await alice.requestSlot('upload.localhost', {
            namespace: NS_UPLOAD_0,
            shape: 'attributes',
            filename: 'a.txt',
            size: 3,
          });
          assert.ok(slot.ok);
          assert.equal(slot.put, 'http://127.0.0.1:1/put');
          assert.equal(slot.get, 'http://127.0.0.1:1/get');
          assert.deepEqual(slot.headers, { Authorization: 'Bearer x' });
          assert.equal(slot.answerShape, 'attributes');
          const refused = await alice.requestSlot('upload.localhost', {
            namespace: NS_UPLOAD_0,
            shape: 'attributes',
            size: 3,
          });
          assert.ok(!refused.ok);
          assert.equal(refused.error.type, 'modify');
          assert.equal(refused.error.condition, 'bad-request');
          assert.equal(refused.error.text, 'fake says no');
          assert.equal(refused.error.maxFileSize, 1234);
          // The component saw the requester's full JID, as serve will.
          const request = fake.received.find((s) => s.getChild('request', NS_UPLOAD_0));
          assert.equal(request?.attrs.from, alice.jid);
        } finally {
          await alice.close();
        }
      } finally {
        await fake.stop();
      }
    });

    it('restart() comes back on the same ports with the same accounts', async () => {
      const oldPid = server.pid();
      await server.restart();
      assert.notEqual(server.pid(), oldPid);
      assert.equal(alive(oldPid), false);
      const alice = await connectUser({
        port: server.c2sPort,
        domain: 'localhost',
        username: 'alice',
        password: 'alice-pw',
      });
      await alice.close();
    });
  });
}

describe('test server cleanup and CLI', () => {
  it('stop() kills the whole process group and removes the temp dir', async () => {
    const server = await startProsody();
    const pid = server.pid();
    await server.stop();
    assert.equal(alive(pid), false);
    assert.equal(existsSync(server.dataDir), false);
    assert.equal(await portAccepts(server.c2sPort), false);
    await server.stop(); // twice is fine
  });

  it('prosody.ts up prints ports and users; down stops it', async () => {
    const script = join(REPO_ROOT, 'scripts/testservers/prosody.ts');
    const node = join(REPO_ROOT, 'scripts/node24');
    // A private state dir, so a human's `up` is not disturbed.
    const env = { ...process.env, TMPDIR: join(tmpdir(), `fileupload-cli-test-${process.pid}`) };
    await run('mkdir', ['-p', env.TMPDIR]);
    try {
      const up = await run(node, [script, 'up', '--json', '--user', 'carol:carol-pw'], { env });
      assert.equal(up.code, 0, up.stderr);
      const state = JSON.parse(up.stdout) as { pid: number; c2sPort: number; dataDir: string; users: unknown[] };
      assert.deepEqual(state.users, [{ user: 'carol', password: 'carol-pw', host: 'localhost' }]);
      // It outlived the CLI process.
      assert.equal(await portAccepts(state.c2sPort), true);
      const carol = await connectUser({
        port: state.c2sPort,
        domain: 'localhost',
        username: 'carol',
        password: 'carol-pw',
      });
      await carol.close();
      const down = await run(node, [script, 'down'], { env });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(alive(state.pid), false);
      assert.equal(existsSync(state.dataDir), false);
      const again = await run(node, [script, 'down'], { env });
      assert.equal(again.code, 1);
    } finally {
      await run('rm', ['-rf', env.TMPDIR]);
    }
  });
});
