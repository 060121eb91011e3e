/**
 * `fileupload doctor` end to end: the real binary against a real Prosody and a real serve, then
 * one broken piece at a time — each must make exactly the check that tests it fail, for the
 * reason it names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import { freePort, trackDir } from '../../scripts/testservers/processes.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import {
  openfireXml,
  runFileupload,
  serveConfigFor,
  startServe,
  type ServeConfig,
  type ServeProcess,
} from '../support/serve.ts';
import { runDoctor } from '../../src/doctor/run.ts';
import { makeCa } from './certs.ts';

interface Check {
  check: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  message: string;
  fix?: string;
}
interface Report {
  checks: Check[];
  summary: { pass: number; warn: number; fail: number; skip: number; ok: boolean };
}

const work = mkdtempSync(join(tmpdir(), 'doctor-e2e-'));
trackDir(work);
const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];

let prosody: XmppTestServer;
let serve: ServeProcess;
let good: ServeConfig;
let n = 0;

/** Writes a config file and runs the checks in this process (fast; the CLI tests below cover the binary). */
async function check(config: ServeConfig): Promise<Report> {
  const file = join(work, `config-${++n}.xml`);
  writeFileSync(file, openfireXml(config), { mode: 0o600 });
  const r = await runDoctor({ configFile: file, timeoutMs: 3000 });
  return { checks: r.results, summary: r.summary };
}

/** As check(), with the user path as alice. */
async function checkAs(config: ServeConfig): Promise<Report> {
  const file = join(work, `config-${++n}.xml`);
  writeFileSync(file, openfireXml(config), { mode: 0o600 });
  const as = {
    jid: { local: 'alice', domain: 'localhost' },
    password: 'alice-pw',
    host: '127.0.0.1',
    port: prosody.c2sPort,
  };
  const r = await runDoctor({ configFile: file, timeoutMs: 3000, as });
  return { checks: r.results, summary: r.summary };
}

/** Writes a config file and runs `fileupload --config FILE --json doctor ARGS`. */
async function doctor(
  config: ServeConfig,
  args: string[] = [],
): Promise<{ code: number | null; report: Report; stderr: string }> {
  const file = join(work, `config-${++n}.xml`);
  writeFileSync(file, openfireXml(config), { mode: 0o600 });
  const r = await runFileupload(['--config', file, '--json', 'doctor', '--timeout', '3s', ...args], {
    timeoutMs: 30_000,
  });
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

const byName = (report: Report, name: string): Check => {
  const c = report.checks.find((x) => x.check === name);
  assert.ok(c, `no ${name} check in ${JSON.stringify(report.checks.map((x) => x.check))}`);
  return c;
};
const failed = (report: Report) => report.checks.filter((c) => c.status === 'fail').map((c) => c.check);

/** A second component of the same Prosody, for a serve that is not running (the first one is serve's). */
const SPARE = 'spare.localhost';
const SECRET = 'doctor-e2e-component-secret';

/**
 * A config for a stopped serve: the good one on free web and admin ports (nothing answers
 * there), as the spare component (free for a real handshake).
 */
async function stoppedServe(over: ServeConfig = {}): Promise<ServeConfig> {
  const webPort = await freePort();
  return { ...good, domain: SPARE, webPort, announcedWebPort: webPort, adminPort: 0, ...over };
}

before(async () => {
  prosody = await startProsody({
    users: [{ user: 'alice', password: 'alice-pw' }],
    componentSecret: SECRET,
    extraConfig: `Component "${SPARE}"\n  component_secret = "${SECRET}"\n`,
  });
  good = await serveConfigFor(prosody, { adminPort: await freePort() });
  serve = await startServe({ config: good, waitFor: 'xmpp online' });
});

after(async () => {
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  await serve?.stop();
  await prosody?.stop();
});

describe('a good setup', () => {
  test('every check passes or warns, exit 0; the probe upload is removed', async () => {
    const { code, report } = await doctor(good);
    assert.equal(code, 0, JSON.stringify(report, null, 2));
    assert.deepEqual(failed(report), []);
    assert.equal(report.summary.ok, true);
    assert.deepEqual(
      report.checks.map((c) => c.check),
      [
        'config',
        'repository',
        'same-filesystem',
        'free-space',
        'ownership',
        'slot-secret',
        'config-permissions',
        'tls',
        'xmpp',
        'web-port',
        'announced-url',
        'clock',
        'clamav',
      ],
    );
    for (const name of [
      'config',
      'repository',
      'same-filesystem',
      'ownership',
      'slot-secret',
      'config-permissions',
      'web-port',
      'announced-url',
    ]) {
      assert.equal(byName(report, name).status, 'pass', `${name}: ${byName(report, name).message}`);
    }
    assert.match(
      byName(report, 'announced-url').message,
      /PUT and GET through http:\/\/127\.0\.0\.1:\d+\/httpfileupload work, same bytes/,
    );
    // With serve running, no second handshake: its live state, or only a stream open.
    const xmpp = byName(report, 'xmpp');
    assert.notEqual(xmpp.status, 'fail');
    assert.match(xmpp.message, /serve is connected|secret was not tested/);
    assert.equal(byName(report, 'tls').status, 'warn', 'plain http is announced');
    assert.deepEqual(readdirSync(join(String(good.fileRepo), 'files')), []);
    // serve is still connected: the doctor run did not kick it off.
    assert.equal(serve.logLines().filter((l) => l.msg === 'xmpp online').length, 1);
  });

  test('--as runs the user path through Prosody: login, disco, slot, PUT, GET, same sha256', async () => {
    const { code, report } = await doctor(good, [
      '--as',
      'alice@localhost',
      '--password',
      'alice-pw',
      '--xmpp-c2s-host',
      '127.0.0.1',
      '--xmpp-c2s-port',
      String(prosody.c2sPort),
    ]);
    assert.equal(code, 0, JSON.stringify(report, null, 2));
    const user = byName(report, 'user-upload');
    assert.equal(user.status, 'pass', user.message);
    assert.match(
      user.message,
      /alice@localhost logged in at 127\.0\.0\.1:\d+ .*found upload\.localhost in disco .*got a slot, PUT 201, GET returned the same sha256/,
    );
    // The probe goes the way of `slots rm`: no file left, its slot (serve's) not listed as pending,
    // its id kept only as a tombstone until the slot expires.
    const files = readdirSync(join(String(good.fileRepo), 'files'), { withFileTypes: true });
    assert.deepEqual(
      files.filter((e) => !e.isSymbolicLink()).map((e) => e.name),
      [],
    );
    assert.equal(files.length, 1, 'the probe slot is tombstoned');
    const file = join(work, `config-${++n}.xml`);
    writeFileSync(file, openfireXml(good), { mode: 0o600 });
    const ls = await runFileupload(['--config', file, '--json', 'slots', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, '', 'the probe is listed neither as stored nor as pending');
  });

  test('--as with a wrong password fails the user-upload check only', async () => {
    const { code, report } = await doctor(good, [
      '--as',
      'alice@localhost',
      '--password',
      'nope',
      '--xmpp-c2s-host',
      '127.0.0.1',
      '--xmpp-c2s-port',
      String(prosody.c2sPort),
    ]);
    assert.equal(code, 1);
    assert.deepEqual(failed(report), ['user-upload']);
    assert.match(byName(report, 'user-upload').message, /refused the password of alice@localhost \(not-authorized\)/);
  });

  test("with serve's admin API answering, the xmpp check reports its live state and never handshakes", async () => {
    let state = 'online';
    const admin = createServer((req, res) => {
      if (req.url !== '/status') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          schema: 1,
          now: Date.now(),
          pid: serve.pid,
          xmpp: { state, since: Date.now(), detail: state === 'online' ? null : 'not-authorized', reconnects: 0 },
        }),
      );
    });
    await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
    const adminPort = (admin.address() as { port: number }).port;
    try {
      const online = await check({ ...good, adminPort });
      assert.equal(byName(online, 'xmpp').status, 'pass');
      assert.match(
        byName(online, 'xmpp').message,
        /serve is connected to 127\.0\.0\.1:\d+ as upload\.localhost \(live state from serve\)/,
      );
      assert.match(byName(online, 'clock').message, /agrees with serve's admin API/);
      state = 'auth-failed';
      const refused = await check({ ...good, adminPort });
      assert.deepEqual(failed(refused), ['xmpp']);
      assert.match(
        byName(refused, 'xmpp').message,
        /serve's handshake with 127\.0\.0\.1:\d+ as upload\.localhost was refused \(not-authorized\)/,
      );
    } finally {
      admin.close();
    }
    // Still one connection: serve was never kicked by a doctor handshake.
    assert.equal(serve.logLines().filter((l) => l.msg === 'xmpp online').length, 1);
  });

  test('the text report: one line per check, fixes indented, a summary line', async () => {
    const file = join(work, 'text.xml');
    writeFileSync(file, openfireXml(good), { mode: 0o600 });
    const r = await runFileupload(['--config', file, 'doctor', '--timeout', '3s']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^pass {2}config {10}/);
    assert.ok(
      lines.some((l) => /^ {6}fix: /.test(l)),
      'the tls warning carries its fix',
    );
    assert.match(lines.at(-1) ?? '', /^summary: \d+ pass, \d+ warn, 0 fail, \d+ skip: no problem that stops uploads/);
  });
});

describe('one broken piece at a time', () => {
  test('with serve stopped, the handshake is real and passes; the announced URL is not tested (warn)', async () => {
    const report = await check(await stoppedServe());
    assert.match(byName(report, 'xmpp').message, /accepted the handshake of component spare\.localhost/);
    assert.equal(byName(report, 'announced-url').status, 'warn');
    assert.match(byName(report, 'announced-url').message, /serve is not running/);
    assert.match(byName(report, 'web-port').message, /is free for serve to listen on/);
  });

  test('the component name serve holds: the secret is right, but another component is connected (warn)', async () => {
    const report = await check(await stoppedServe({ domain: String(good.domain) }));
    assert.equal(byName(report, 'xmpp').status, 'warn');
    assert.match(
      byName(report, 'xmpp').message,
      /accepted the secret but another component is already connected as upload\.localhost/,
    );
  });

  test('--as when another upload service comes first in disco: clients would not use this serve (warn)', async () => {
    const report = await checkAs(await stoppedServe());
    const user = byName(report, 'user-upload');
    assert.equal(user.status, 'warn', user.message);
    assert.match(
      user.message,
      /clients pick the first upload service in disco, and that is upload\.localhost, not this serve \(spare\.localhost\)/,
    );
  });

  test('missing repository', async () => {
    const report = await check(await stoppedServe({ fileRepo: join(work, 'no-such-repo') }));
    assert.deepEqual(failed(report), ['repository']);
    assert.match(byName(report, 'repository').message, /no-such-repo does not exist/);
  });

  test(
    'read-only repository (a read-only tmpfs: root ignores chmod)',
    { skip: !isRoot && 'needs root to mount' },
    async () => {
      const dir = join(work, 'ro-repo');
      mkdirSync(dir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
      mounts.push(dir);
      const report = await check(await stoppedServe({ fileRepo: dir, maxFileSize: 1024 }));
      assert.deepEqual(failed(report), ['repository']);
      assert.match(byName(report, 'repository').message, /read-only filesystem/);
    },
  );

  test('wrong component secret', async () => {
    const report = await check(await stoppedServe({ sharedSecret: 'not-the-secret' }));
    assert.deepEqual(failed(report), ['xmpp']);
    assert.match(byName(report, 'xmpp').message, /refused the component secret for spare\.localhost/);
    assert.match(byName(report, 'xmpp').fix ?? '', /config set sharedSecret/);
  });

  test('stopped XMPP server (nothing on the component port)', async () => {
    const report = await check(await stoppedServe({ xmppPort: await freePort() }));
    assert.deepEqual(failed(report), ['xmpp']);
    assert.match(byName(report, 'xmpp').message, /nothing listens on 127\.0\.0\.1:\d+ \(connection refused\)/);
  });

  test('wrong announced host while serve runs', async () => {
    const report = await check({ ...good, announcedWebHost: '127.0.0.2' });
    assert.deepEqual(failed(report), ['announced-url']);
    assert.match(
      byName(report, 'announced-url').message,
      /PUT http:\/\/127\.0\.0\.2:\d+\/httpfileupload: nothing answers/,
    );
  });

  test('weak slotSecret', async () => {
    const report = await check(await stoppedServe({ slotSecret: 'changeme' }));
    assert.deepEqual(failed(report), ['slot-secret']);
    assert.match(byName(report, 'slot-secret').message, /weak/);
  });

  describe('TLS', () => {
    let ca: ReturnType<typeof makeCa>;
    before(() => {
      ca = makeCa(join(work, 'ca'));
    });
    const https = (files: { cert: string; key: string }) =>
      stoppedServe({ announcedWebProtocol: 'https', tlsCertificate: files.cert, tlsKey: files.key });

    test('a valid certificate for the announced host passes', async () => {
      const report = await check(await https(ca.issue('ok', { names: ['127.0.0.1'] })));
      assert.equal(byName(report, 'tls').status, 'pass', byName(report, 'tls').message);
    });

    test('an expired certificate fails', async () => {
      const cert = ca.issue('old', {
        names: ['127.0.0.1'],
        notBefore: Date.now() - 90 * 86_400_000,
        notAfter: Date.now() - 86_400_000,
      });
      const report = await check(await https(cert));
      assert.deepEqual(failed(report), ['tls']);
      assert.match(byName(report, 'tls').message, /expired on/);
    });

    test('a key that does not belong to the certificate fails', async () => {
      const cert = ca.issue('pair', { names: ['127.0.0.1'] });
      const report = await check(await https({ cert: cert.cert, key: ca.strayKey('other') }));
      assert.deepEqual(failed(report), ['tls']);
      assert.match(byName(report, 'tls').message, /is not the private key of the certificate/);
    });
  });

  test('serve with built-in TLS: the round trip verifies the certificate as clients do', async () => {
    const ca = makeCa(join(work, 'tls-ca'));
    const leaf = ca.issue('serve', { names: ['127.0.0.1'] });
    const webPort = await freePort();
    const config: ServeConfig = {
      ...good,
      domain: SPARE,
      fileRepo: mkdtempSync(join(work, 'tls-repo-')),
      webPort,
      announcedWebPort: webPort,
      announcedWebProtocol: 'https',
      tlsCertificate: leaf.cert,
      tlsKey: leaf.key,
      adminPort: 0,
    };
    const tlsServe = await startServe({ config, waitFor: 'xmpp online' });
    try {
      const file = join(work, 'tls.xml');
      writeFileSync(file, openfireXml(config), { mode: 0o600 });
      // Clients trust the CA: everything passes.
      const trusted = await runFileupload(['--config', file, '--json', 'doctor', '--timeout', '3s'], {
        env: { NODE_EXTRA_CA_CERTS: ca.caCert },
      });
      const ok = JSON.parse(trusted.stdout) as Report;
      assert.equal(trusted.code, 0, trusted.stdout);
      assert.equal(byName(ok, 'tls').status, 'pass', byName(ok, 'tls').message);
      assert.match(
        byName(ok, 'announced-url').message,
        /PUT and GET through https:\/\/127\.0\.0\.1:\d+\/httpfileupload work/,
      );
      assert.equal(byName(ok, 'web-port').status, 'pass');
      // Clients that do not trust it refuse the slot URLs, and so does doctor.
      const untrusted = await runFileupload(['--config', file, '--json', 'doctor', '--timeout', '3s']);
      const bad = JSON.parse(untrusted.stdout) as Report;
      assert.equal(untrusted.code, 1);
      assert.deepEqual(failed(bad), ['announced-url']);
      assert.match(byName(bad, 'announced-url').message, /is signed by a CA this machine does not trust/);
      assert.match(byName(bad, 'announced-url').fix ?? '', /NODE_EXTRA_CA_CERTS=\/path\/ca\.pem/);
    } finally {
      await tlsServe.stop();
    }
  });

  test('https announced for the port serve answers in plain HTTP: serve warns at start, doctor fails naming it', async () => {
    const webPort = await freePort();
    const config: ServeConfig = {
      ...good,
      domain: SPARE,
      fileRepo: mkdtempSync(join(work, 'plain-repo-')),
      webPort,
      announcedWebPort: webPort,
      announcedWebProtocol: 'https',
      adminPort: 0,
    };
    const plainServe = await startServe({ config, waitFor: 'xmpp online' });
    try {
      const warning = plainServe
        .logLines()
        .find((l) => l.level === 'warn' && /announcedWebProtocol is https/.test(String(l.msg)));
      assert.ok(warning, JSON.stringify(plainServe.logLines()));
      assert.match(String(warning.msg), new RegExp(`announcedWebPort ${webPort}, which is webPort`));
      assert.match(String(warning.msg), /tlsCertificate\/tlsKey are not set.*; set tlsCertificate and tlsKey/);

      const { code, report } = await doctor(config);
      assert.equal(code, 1);
      assert.deepEqual(failed(report), ['tls', 'announced-url']);
      assert.match(
        byName(report, 'tls').message,
        /announcedWebProtocol is https for announcedWebPort \d+, which is webPort/,
      );
      assert.match(byName(report, 'tls').fix ?? '', /set tlsCertificate and tlsKey/);
      assert.match(
        byName(report, 'announced-url').message,
        new RegExp(`127\\.0\\.0\\.1:${webPort} answers plain HTTP, not TLS`),
      );
    } finally {
      await plainServe.stop();
    }
    // Stopped, the same configuration still fails: the rule needs no running serve.
    const stopped = await doctor(config);
    assert.equal(byName(stopped.report, 'tls').status, 'fail');
  });

  test('an unreadable configuration: only the config check, exit 2', async () => {
    const file = join(work, 'malformed.xml');
    writeFileSync(file, '<jive><plugin>');
    const r = await runFileupload(['--config', file, '--json', 'doctor']);
    assert.equal(r.code, 2);
    const report = JSON.parse(r.stdout) as Report;
    assert.deepEqual(
      report.checks.map((c) => `${c.check}:${c.status}`),
      ['config:fail'],
    );
  });

  test('bad arguments are usage errors', async () => {
    const file = join(work, 'args.xml');
    writeFileSync(file, openfireXml(good));
    const noPassword = await runFileupload(['--config', file, 'doctor', '--as', 'alice@localhost'], {
      env: { FILEUPLOAD_DOCTOR_PASSWORD: '' },
    });
    assert.equal(noPassword.code, 2);
    const badJid = await runFileupload(['--config', file, 'doctor', '--as', 'alice', '--password', 'x']);
    assert.equal(badJid.code, 2);
    assert.match(badJid.stderr, /not a bare JID/);
    // 30d would overflow the probe timers (they fire at once): refused, not a false failure.
    for (const timeout of ['30d', '50ms', 'soon']) {
      const r = await runFileupload(['--config', file, 'doctor', '--timeout', timeout]);
      assert.equal(r.code, 2, `--timeout ${timeout}: ${r.stderr}`);
      assert.match(r.stderr, /--timeout/);
    }
  });
});
