import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { freePort } from '../../scripts/testservers/processes.ts';
import { startKit } from '../../test/support/http-kit.ts';
import { answersLikeServe, localAddressFor, tryBind, webPortVerdict } from './web-port.ts';

test('a free port passes: serve can listen there', async () => {
  const port = await freePort();
  const bind = await tryBind('127.0.0.1', port);
  assert.deepEqual(bind, { kind: 'free' });
  assert.equal(
    webPortVerdict({ host: '127.0.0.1', port, bind, serveAnswers: false, serveRunning: false }).status,
    'pass',
  );
});

test('a port held by another program fails and says how to find it', async () => {
  const other = createServer((_, res) => res.end('hello'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const port = (other.address() as { port: number }).port;
  try {
    const bind = await tryBind('127.0.0.1', port);
    assert.deepEqual(bind, { kind: 'in-use' });
    const serveAnswers = await answersLikeServe('127.0.0.1', port, false, '/httpfileupload', 2000);
    assert.equal(serveAnswers, false);
    const r = webPortVerdict({ host: '127.0.0.1', port, bind, serveAnswers, serveRunning: false });
    assert.equal(r.status, 'fail');
    assert.match(r.message, /in use by another program/);
    assert.match(r.fix ?? '', new RegExp(`sport = :${port}`));
  } finally {
    other.close();
  }
});

test("the port held by serve's HTTP endpoint passes", async () => {
  const kit = await startKit({ settings: { webHost: '127.0.0.1', webPort: 0 } });
  try {
    const port = kit.server.address().port;
    const bind = await tryBind('127.0.0.1', port);
    const serveAnswers = await answersLikeServe('127.0.0.1', port, false, '/httpfileupload', 2000);
    assert.equal(serveAnswers, true);
    const r = webPortVerdict({ host: '127.0.0.1', port, bind, serveAnswers, serveRunning: false });
    assert.equal(r.status, 'pass');
    assert.match(r.message, /serve is listening on 127\.0\.0\.1:\d+/);
  } finally {
    await kit.stop();
  }
});

test('an address of another machine fails', async () => {
  const bind = await tryBind('192.0.2.1', 8080);
  assert.deepEqual(bind, { kind: 'not-local' });
  assert.match(
    webPortVerdict({ host: '192.0.2.1', port: 8080, bind, serveAnswers: false, serveRunning: false }).message,
    /not an address of this machine/,
  );
});

test('serve running elsewhere than webPort warns: restart to apply', () => {
  const r = webPortVerdict({
    host: '0.0.0.0',
    port: 7443,
    bind: { kind: 'free' },
    serveAnswers: false,
    serveRunning: true,
  });
  assert.equal(r.status, 'warn');
  assert.match(r.fix ?? '', /restart/);
});

test('privileged ports point at CAP_NET_BIND_SERVICE', () => {
  assert.match(
    webPortVerdict({ host: '0.0.0.0', port: 443, bind: { kind: 'denied' }, serveAnswers: false, serveRunning: false })
      .fix ?? '',
    /CAP_NET_BIND_SERVICE/,
  );
});

test('wildcard listen addresses are probed on loopback', () => {
  assert.equal(localAddressFor('0.0.0.0'), '127.0.0.1');
  assert.equal(localAddressFor('::'), '::1');
  assert.equal(localAddressFor('10.0.0.5'), '10.0.0.5');
});
