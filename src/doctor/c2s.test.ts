import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xml } from '@xmpp/component';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import { freePort } from '../../scripts/testservers/processes.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { makeCa } from '../../test/doctor/certs.ts';
import { loginC2s, LoginError } from './c2s.ts';
import { explainTlsFailure } from './tls.ts';

const TIMEOUT = 3000;

describe('plain c2s (no TLS offered)', () => {
  let prosody: XmppTestServer;
  before(async () => {
    prosody = await startProsody({ users: [{ user: 'alice', password: 'alice-pw' }] });
  });
  after(() => prosody?.stop());

  test('logs in with SCRAM-SHA-1, binds a resource and answers IQs', async () => {
    const s = await loginC2s({
      local: 'alice',
      domain: 'localhost',
      password: 'alice-pw',
      host: '127.0.0.1',
      port: prosody.c2sPort,
      timeoutMs: TIMEOUT,
    });
    try {
      assert.match(s.jid, /^alice@localhost\/doctor-[0-9a-f]{8}$/);
      assert.equal(s.how, 'SCRAM-SHA-1 without TLS');
      const items = await s.iq('get', 'localhost', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }));
      assert.equal(items.type, 'result');
      const missing = await s.iq('get', 'localhost', xml('query', { xmlns: 'urn:example:nothing' }));
      assert.equal(missing.type, 'error');
      if (missing.type === 'error') assert.equal(missing.condition, 'service-unavailable');
    } finally {
      s.close();
    }
  });

  test('a wrong password is an auth failure with the SASL condition', async () => {
    await assert.rejects(
      loginC2s({
        local: 'alice',
        domain: 'localhost',
        password: 'wrong',
        host: '127.0.0.1',
        port: prosody.c2sPort,
        timeoutMs: TIMEOUT,
      }),
      (err: unknown) => err instanceof LoginError && err.step === 'auth' && err.condition === 'not-authorized',
    );
  });

  test('nothing listening is a connect failure', async () => {
    await assert.rejects(
      loginC2s({
        local: 'alice',
        domain: 'localhost',
        password: 'x',
        host: '127.0.0.1',
        port: await freePort(),
        timeoutMs: TIMEOUT,
      }),
      (err: unknown) => err instanceof LoginError && err.step === 'connect' && err.code === 'ECONNREFUSED',
    );
  });
});

describe('STARTTLS', () => {
  let prosody: XmppTestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'doctor-c2s-tls-'));
    const leaf = makeCa(dir).issue('xmpp', { names: ['localhost'] });
    prosody = await startProsody({
      users: [{ user: 'alice', password: 'alice-pw' }],
      // Re-enable mod_tls with a certificate, and insist on it as real servers do.
      extraConfig: [
        'modules_disabled = { "s2s" }',
        'modules_enabled = { "roster", "saslauth", "disco", "ping", "posix", "version", "time", "tls" }',
        `ssl = { certificate = ${JSON.stringify(leaf.cert)}, key = ${JSON.stringify(leaf.key)} }`,
        'c2s_require_encryption = true',
        'allow_unencrypted_plain_auth = false',
      ].join('\n'),
    });
  });
  after(async () => {
    await prosody?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('upgrades the stream, then logs in over TLS', async () => {
    const s = await loginC2s({
      local: 'alice',
      domain: 'localhost',
      password: 'alice-pw',
      host: '127.0.0.1',
      port: prosody.c2sPort,
      timeoutMs: TIMEOUT,
      verifyTls: false,
    });
    assert.match(s.how, / over TLS$/);
    s.close();
  });

  test('verifies the certificate by default (an untrusted CA fails at starttls)', async () => {
    await assert.rejects(
      loginC2s({
        local: 'alice',
        domain: 'localhost',
        password: 'alice-pw',
        host: '127.0.0.1',
        port: prosody.c2sPort,
        timeoutMs: TIMEOUT,
      }),
      (err: unknown) => {
        assert.ok(err instanceof LoginError && err.step === 'starttls', String(err));
        assert.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
        // Doctor explains it in words and names the variable a single binary does read.
        const x = explainTlsFailure({ code: err.code, error: err.message }, `127.0.0.1:${prosody.c2sPort}`);
        assert.match(x?.message ?? '', /is signed by a CA this machine does not trust/);
        assert.match(x?.fix ?? '', /NODE_EXTRA_CA_CERTS=\/path\/ca\.pem/);
        return true;
      },
    );
  });
});
