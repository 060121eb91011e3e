/**
 * Maintenance commands run as root on a repository the service user owns: serve runs as an
 * unprivileged user (nobody, through setpriv) against a real Prosody; `doctor --as`, `config set`,
 * `slots rm`, `blocklist` and `purge` run as root, as an admin types them. Afterwards the service user still
 * owns every entry of the repository and its slot requests still work with userQuota set. Then a
 * root-owned index folder, as older versions left it, makes slot requests fail: status counts
 * the internal errors and doctor names the entries and the chown that repairs them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import { trackDir } from '../../scripts/testservers/processes.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { http } from '../support/http.ts';
import {
  openfireXml,
  runFileupload,
  serveConfigFor,
  startServe,
  type ServeConfig,
  type ServeProcess,
} from '../support/serve.ts';
import { putToSlot } from '../support/stack.ts';
import { connectUser, NS_UPLOAD_0, type UserSession } from '../support/xmpp-client.ts';

const isRoot = process.geteuid?.() === 0;
/** The service user: nobody, which every Linux has. */
const SERVICE_UID = 65534;
const SERVICE_GID = 65534;

/** Every entry under `dir` whose owner is not the service user, as "path uid". */
function notOwnedByService(dir: string): string[] {
  const out: string[] = [];
  const visit = (path: string): void => {
    const st = lstatSync(path);
    if (st.uid !== SERVICE_UID) out.push(`${relative(dir, path) || '.'} ${st.uid}`);
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return out;
}

describe('maintenance as root on a repository the service user owns', { skip: !isRoot && 'needs root' }, () => {
  let prosody: XmppTestServer;
  let config: ServeConfig;
  let configFile: string;
  let repo: string;
  let serve: ServeProcess | undefined;
  let alice: UserSession | undefined;

  before(async () => {
    prosody = await startProsody({ users: [{ user: 'alice', password: 'alice-pw' }] });
    config = await serveConfigFor(prosody);
    repo = String(config.fileRepo);
    chownSync(repo, SERVICE_UID, SERVICE_GID);
    // As packaged: the folder of the configuration is root's, the file root:fileupload 0640.
    const etc = mkdtempSync(join(tmpdir(), 'fileupload-etc-'));
    trackDir(etc);
    chmodSync(etc, 0o755);
    configFile = join(etc, 'openfire.xml');
    writeFileSync(configFile, openfireXml(config), { mode: 0o640 });
    chownSync(configFile, 0, SERVICE_GID);
    serve = await startServe({
      config,
      configFile,
      writeConfig: false,
      waitFor: 'xmpp online',
      prefix: ['setpriv', `--reuid=${SERVICE_UID}`, `--regid=${SERVICE_GID}`, '--clear-groups'],
    });
    alice = await connectUser({ port: prosody.c2sPort, domain: 'localhost', username: 'alice', password: 'alice-pw' });
  });

  after(async () => {
    await alice?.close();
    await serve?.stop();
    await prosody?.stop();
  });

  const requestSlot = (name: string) =>
    alice!.requestSlot(prosody.componentDomain, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: name,
      size: 5,
    });

  const doctorAs = () =>
    runFileupload(
      [
        '--config',
        configFile,
        '--json',
        'doctor',
        '--as',
        'alice@localhost',
        '--password',
        'alice-pw',
        '--xmpp-c2s-host',
        '127.0.0.1',
        '--xmpp-c2s-port',
        String(prosody.c2sPort),
      ],
      { timeoutMs: 60_000 },
    );
  const checkOf = (stdout: string, name: string) => {
    const report = JSON.parse(stdout) as {
      checks: Array<{ check: string; status: string; message: string; fix?: string }>;
    };
    const c = report.checks.find((x) => x.check === name);
    assert.ok(c, `no ${name} check in ${stdout}`);
    return c;
  };

  test('doctor --as as root, then userQuota set and reloaded: the user uploads, root owns nothing', async () => {
    const doctor = await doctorAs();
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.equal(checkOf(doctor.stdout, 'user-upload').status, 'pass');
    assert.match(checkOf(doctor.stdout, 'ownership').message, /owned by nobody \(uid 65534\)/);
    assert.match(doctor.stderr, new RegExp(`^running as nobody \\(uid 65534\\), the owner of ${repo}\\n`));
    assert.deepEqual(notOwnedByService(repo), []);

    const set = await runFileupload(['--config', configFile, 'config', 'set', 'userQuota', '100M']);
    assert.equal(set.code, 0, set.stderr);
    const from = serve!.logLines().length;
    process.kill(serve!.pid, 'SIGHUP');
    await serve!.waitForLog('configuration reloaded', { from });

    const slot = await requestSlot('after-doctor.txt');
    assert.ok(slot.ok, `slot refused: ${JSON.stringify(!slot.ok && slot.error)}`);
    assert.equal((await putToSlot(slot, Buffer.from('hello'))).status, 201);
    const got = await http(slot.get);
    assert.equal(got.status, 200);
    assert.equal(got.body.toString(), 'hello');
    assert.deepEqual(notOwnedByService(repo), []);
  });

  test('slots rm, blocklist add/rm and purge as root leave no entry the service user does not own', async () => {
    const slot = await requestSlot('to-remove.txt');
    assert.ok(slot.ok);
    assert.equal((await putToSlot(slot, Buffer.from('bye!!'))).status, 201);
    const id = new URL(slot.get).pathname.split('/').at(-2)!;
    // Root's alone: the commands read it before they become the service user.
    chmodSync(configFile, 0o600);
    try {
      const rm = await runFileupload(['--config', configFile, 'slots', 'rm', id]);
      assert.equal(rm.code, 0, rm.stdout + rm.stderr);
      assert.match(rm.stderr, /running as nobody \(uid 65534\)/);
      assert.equal((await http(slot.get)).status, 410);
      const blocked = await requestSlot('to-block.txt');
      assert.ok(blocked.ok);
      assert.equal((await putToSlot(blocked, Buffer.from('block'))).status, 201);
      const add = await runFileupload(['--config', configFile, 'blocklist', 'add', blocked.get]);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal((await http(blocked.get)).status, 410);
      const sha = /^blocked sha256 ([0-9a-f]{64})$/m.exec(add.stdout)?.[1];
      assert.ok(sha, add.stdout);
      const unblock = await runFileupload(['--config', configFile, 'blocklist', 'rm', sha]);
      assert.equal(unblock.code, 0, unblock.stdout + unblock.stderr);
      const purge = await runFileupload(['--config', configFile, 'purge']);
      assert.equal(purge.code, 0, purge.stdout + purge.stderr);
    } finally {
      chmodSync(configFile, 0o640);
    }
    assert.deepEqual(notOwnedByService(repo), []);
  });

  test('a root-owned index folder: slot requests fail, status counts them, doctor names the owner and the fix', async () => {
    // What a maintenance command run as root used to leave.
    const users = join(repo, 'index', 'users');
    execFileSync('chown', ['-R', 'root:root', users]);
    chmodSync(users, 0o700);
    const refused = await requestSlot('refused.txt');
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.error.condition, 'internal-server-error');

    const status = await runFileupload(['--config', configFile, '--json', 'status']);
    assert.equal(status.code, 1, 'degraded: an internal error in the last 5 minutes');
    const snapshot = JSON.parse(status.stdout) as { internalErrors?: { lastFiveMinutes: number } };
    assert.ok((snapshot.internalErrors?.lastFiveMinutes ?? 0) >= 1, status.stdout);
    const text = await runFileupload(['--config', configFile, 'status', '--once']);
    assert.match(text.stdout, /internal errors: [1-9]/);
    assert.doesNotMatch(text.stdout, /errors: none/);

    const doctor = await runFileupload(['--config', configFile, '--json', 'doctor', '--timeout', '3s']);
    assert.equal(doctor.code, 1);
    const ownership = checkOf(doctor.stdout, 'ownership');
    assert.equal(ownership.status, 'fail');
    assert.match(
      ownership.message,
      /is owned by nobody \(uid 65534\), but \d+ entr(y|ies) under it (is|are) not: index\/users \(root \(uid 0\)\)/,
    );
    assert.match(ownership.fix ?? '', new RegExp(`^chown -R nobody:(nogroup|nobody) ${repo}$`));

    execFileSync('sh', ['-c', ownership.fix!]);
    const again = await requestSlot('repaired.txt');
    assert.ok(again.ok, `slot refused after the fix: ${JSON.stringify(!again.ok && again.error)}`);
    assert.deepEqual(notOwnedByService(repo), []);
  });
});

describe('config set as root in cluster mode', { skip: !isRoot && 'needs root' }, () => {
  test('the shared configuration it writes in the repository belongs to the repository owner', async () => {
    const work = mkdtempSync(join(tmpdir(), 'fileupload-cluster-set-'));
    trackDir(work);
    const repo = join(work, 'repo');
    mkdirSync(repo);
    // A repository serve has initialised: maintenance refuses a folder without the marker.
    writeFileSync(join(repo, '.fileupload-repository'), '');
    execFileSync('chown', ['-R', `${SERVICE_UID}:${SERVICE_GID}`, repo]);
    const file = join(work, 'openfire.xml');
    writeFileSync(file, openfireXml({ domain: 'upload.localhost', fileRepo: repo, cluster: 'true' }), { mode: 0o600 });
    for (const [name, value] of [
      ['maxFileSize', '20M'],
      ['userQuota', '100M'],
    ]) {
      const r = await runFileupload(['--config', file, 'config', 'set', name!, value!]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /cluster/);
    }
    assert.deepEqual(notOwnedByService(repo), []);
  });
});
