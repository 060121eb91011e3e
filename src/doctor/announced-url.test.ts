import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { startKit, SECRET, testSettings, type Kit } from '../../test/support/http-kit.ts';
import type { Settings } from '../config/settings.ts';
import { verifySlot } from '../slots/sign.ts';
import { probeSlot, roundTrip, roundTripVerdict } from './announced-url.ts';
import { probeOrigin } from './probe-upload.ts';

const TIMEOUT = 3000;

describe('the announced URL round trip through a real HTTP endpoint', () => {
  let kit: Kit;
  let settings: Settings;
  before(async () => {
    kit = await startKit({ settings: { webHost: '127.0.0.1', webPort: 0 } });
    settings = testSettings({
      fileRepo: kit.dir,
      domain: 'upload.example.org',
      announcedWebProtocol: 'http',
      announcedWebHost: '127.0.0.1',
      announcedWebPort: kit.server.address().port,
      announcedWebContextRoot: '/httpfileupload',
    });
  });
  after(() => kit?.stop());

  const stored = async () => {
    const ids: string[] = [];
    for await (const m of kit.store.list()) ids.push(m.id);
    return ids;
  };

  test('PUT and GET work, the bytes match, the safe headers are there, and the probe is removed', async () => {
    const o = await roundTrip(settings, SECRET, TIMEOUT);
    const r = roundTripVerdict(o);
    assert.equal(r.status, 'pass', `${r.message} ${r.fix ?? ''}`);
    assert.match(
      r.message,
      /PUT and GET through http:\/\/127\.0\.0\.1:\d+\/httpfileupload work, same bytes, safe headers present$/,
    );
    assert.equal(o.removal, 'removed');
    assert.deepEqual(await stored(), []);
    assert.ok(o.serverDate !== undefined);
  });

  test('a wrong announced host (nothing listens there) fails with connection refused', async () => {
    const r = roundTripVerdict(await roundTrip({ ...settings, announcedWebHost: '127.0.0.2' }, SECRET, TIMEOUT));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /PUT http:\/\/127\.0\.0\.2:\d+\/httpfileupload: nothing answers/);
    assert.match(r.fix ?? '', /announcedWebPort/);
  });

  test('an announced host that does not resolve fails saying so', async () => {
    const r = roundTripVerdict(
      await roundTrip({ ...settings, announcedWebHost: 'no-such-host.invalid' }, SECRET, TIMEOUT),
    );
    assert.equal(r.status, 'fail');
    assert.match(r.message, /no-such-host\.invalid does not resolve/);
  });

  test('a server that does not share the slot secret answers 403', async () => {
    const r = roundTripVerdict(await roundTrip(settings, 'another-secret-entirely-0123456789', TIMEOUT));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /403/);
    assert.match(r.fix ?? '', /slotSecret/);
  });

  test('a context root the server does not serve fails with 404', async () => {
    const r = roundTripVerdict(
      await roundTrip({ ...settings, announcedWebContextRoot: '/elsewhere' }, SECRET, TIMEOUT),
    );
    assert.equal(r.status, 'fail');
    assert.match(r.message, /404/);
    assert.match(r.fix ?? '', /reverse proxy must pass \/elsewhere\//);
  });

  test('https announced where plain http listens fails, saying so in words', async () => {
    const r = roundTripVerdict(await roundTrip({ ...settings, announcedWebProtocol: 'https' }, SECRET, TIMEOUT));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /127\.0\.0\.1:\d+ answers plain HTTP, not TLS/);
    assert.match(r.fix ?? '', /set tlsCertificate and tlsKey/);
  });

  describe('through a reverse proxy that drops headers', () => {
    let proxy: Server;
    before(async () => {
      const target = kit.server.address().port;
      proxy = createServer((req, res) => {
        const up = request(
          { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
          (r) => {
            const headers = { ...r.headers };
            delete headers['content-security-policy'];
            res.writeHead(r.statusCode ?? 502, headers);
            r.pipe(res);
          },
        );
        req.pipe(up);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    });
    after(() => proxy?.close());

    test('the round trip works but warns about the missing header', async () => {
      const port = (proxy.address() as { port: number }).port;
      const r = roundTripVerdict(await roundTrip({ ...settings, announcedWebPort: port }, SECRET, TIMEOUT));
      assert.equal(r.status, 'warn', r.message);
      assert.match(r.message, /lacks Content-Security-Policy/);
    });
  });
});

describe('the announced URL round trip when serve allows only some web origins', () => {
  let kit: Kit;
  let settings: Settings;
  before(async () => {
    kit = await startKit({
      settings: {
        webHost: '127.0.0.1',
        webPort: 0,
        corsOrigins: ['https://chat.example.org', 'https://web.example.org'],
      },
    });
    settings = testSettings({
      fileRepo: kit.dir,
      announcedWebProtocol: 'http',
      announcedWebHost: '127.0.0.1',
      announcedWebPort: kit.server.address().port,
      corsOrigins: ['https://chat.example.org', 'https://web.example.org'],
    });
  });
  after(() => kit?.stop());

  test('passes: the probe asks as an allowed origin, so no header is reported missing', async () => {
    const r = roundTripVerdict(await roundTrip(settings, SECRET, TIMEOUT));
    assert.equal(r.status, 'pass', `${r.message} ${r.fix ?? ''}`);
  });

  test('a configured origin list that serve does not share is still caught as a missing header', async () => {
    const r = roundTripVerdict(
      await roundTrip({ ...settings, corsOrigins: ['https://other.example.org'] }, SECRET, TIMEOUT),
    );
    assert.equal(r.status, 'warn', r.message);
    assert.match(r.message, /lacks Access-Control-Allow-Origin/);
  });
});

test('the probe origin is one that corsOrigins allows', () => {
  assert.equal(probeOrigin(['*']), 'https://doctor.invalid');
  assert.equal(probeOrigin(['https://a.example', '*']), 'https://doctor.invalid');
  assert.equal(probeOrigin(['https://a.example', 'https://b.example']), 'https://a.example');
});

test('the probe slot is an ephemeral upload of doctor@<parent domain> that serve verifies', () => {
  const now = Date.now();
  const { slot, token } = probeSlot({ domain: 'upload.example.org', slotLifetime: 300_000 }, 'k', 10, now);
  assert.equal(slot.uploader, 'doctor@example.org');
  assert.equal(slot.purpose, 'ephemeral');
  assert.ok(slot.expireBefore !== undefined && slot.expireBefore <= now + 600_000);
  const v = verifySlot('k', slot.id, slot.filename, token, now);
  assert.equal(v.ok, true);
});
