import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import {
  componentVerdict,
  handshakeDigest,
  liveVerdict,
  probeComponent,
  type ComponentTarget,
} from './xmpp-component.ts';

const TIMEOUT = 3000;

test('the handshake digest is hex SHA-1 of stream id + secret (XEP-0114)', () => {
  // printf '3BF96D32secret' | sha1sum
  assert.equal(handshakeDigest('3BF96D32', 'secret'), 'b09ea9b3b7f586be8a08d0a3dd7466f110aeb136');
});

describe('against a real Prosody', () => {
  let prosody: XmppTestServer;
  let target: ComponentTarget;
  before(async () => {
    prosody = await startProsody({ users: [] });
    target = { host: '127.0.0.1', port: prosody.componentPort, domain: prosody.componentDomain };
  });
  after(() => prosody?.stop());

  test('the right secret is accepted', async () => {
    const probe = await probeComponent(target, prosody.componentSecret, TIMEOUT);
    assert.deepEqual(probe, { kind: 'accepted' });
    assert.equal(componentVerdict(probe, target).status, 'pass');
  });

  test('a wrong secret fails with not-authorized and the fix names sharedSecret', async () => {
    const probe = await probeComponent(target, 'wrong-secret', TIMEOUT);
    assert.equal(probe.kind, 'stream-error');
    const r = componentVerdict(probe, target);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /refused the component secret/);
    assert.match(r.fix ?? '', /config set sharedSecret/);
  });

  test('an unknown component name fails with host-unknown', async () => {
    const other = { ...target, domain: 'nope.localhost' };
    const r = componentVerdict(await probeComponent(other, prosody.componentSecret, TIMEOUT), other);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /does not know a component named nope\.localhost/);
  });

  test('without a secret only the stream is opened', async () => {
    assert.deepEqual(await probeComponent(target, undefined, TIMEOUT), { kind: 'opened' });
  });

  test('the c2s port is not a component port', async () => {
    const c2s = { ...target, port: prosody.c2sPort };
    const probe = await probeComponent(c2s, 'x', TIMEOUT);
    assert.deepEqual(probe, { kind: 'not-component-port', namespace: 'jabber:client' });
    const verdict = componentVerdict(probe, c2s);
    assert.equal(verdict.status, 'fail');
    assert.match(verdict.message, /client \(c2s\) port, not its component port/);
    assert.match(verdict.fix ?? '', /config set xmppPort PORT/);
  });

  test('a stopped server: connection refused', async () => {
    await prosody.pause();
    try {
      const r = componentVerdict(await probeComponent(target, prosody.componentSecret, TIMEOUT), target);
      assert.equal(r.status, 'fail');
      assert.match(r.message, /nothing listens on 127\.0\.0\.1:\d+ \(connection refused\)/);
      assert.match(r.fix ?? '', /start the XMPP server/);
    } finally {
      await prosody.restart();
    }
  });
});

test('a port that accepts but never answers times out', async () => {
  const silent: Server = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  try {
    const t = { host: '127.0.0.1', port, domain: 'upload.localhost' };
    const probe = await probeComponent(t, 'x', 300);
    assert.equal(probe.kind, 'timeout');
    assert.equal(componentVerdict(probe, t).status, 'fail');
  } finally {
    silent.close();
  }
});

describe('live state from serve', () => {
  const t = { host: 'localhost', port: 5275, domain: 'upload.example.org' };
  test('online and standby pass', () => {
    assert.equal(liveVerdict({ state: 'online' }, undefined, t).status, 'pass');
    assert.equal(liveVerdict({ state: 'standby' }, undefined, t).status, 'pass');
  });
  test('auth-failed fails with the secret fix', () => {
    const r = liveVerdict({ state: 'auth-failed', lastError: 'not-authorized' }, undefined, t);
    assert.equal(r.status, 'fail');
    assert.match(r.fix ?? '', /sharedSecret/);
  });
  test('offline with an unreachable server reports both', () => {
    const r = liveVerdict({ state: 'connecting' }, { kind: 'unreachable', code: 'ECONNREFUSED', message: 'x' }, t);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /serve is not connected .*nothing listens on localhost:5275/);
  });
});
