import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  ConnectionGuard,
  connectionLimits,
  parseOpenFileLimit,
  requestRemote,
  MAX_DERIVED_CONNECTIONS,
  RESERVED_DESCRIPTORS,
  type ConnectionLimits,
} from './connection-limit.ts';
import { createLogger } from '../log.ts';

test('parseOpenFileLimit reads the soft limit of /proc/self/limits', () => {
  const text = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             63455                63455                processes ',
    'Max open files            1024                 524288               files     ',
  ].join('\n');
  assert.equal(parseOpenFileLimit(text), 1024);
  assert.equal(
    parseOpenFileLimit('Max open files            unlimited            unlimited            files'),
    undefined,
  );
  assert.equal(parseOpenFileLimit(''), undefined);
});

test('connectionLimits: derived from the open-file limit, a quarter per address, ≤ 0 = none', () => {
  const unset = { maxConnections: undefined, maxConnectionsPerAddress: undefined };
  assert.deepEqual(connectionLimits(unset, 20_000), { max: (20_000 - RESERVED_DESCRIPTORS) / 4, perAddress: 256 });
  assert.deepEqual(connectionLimits(unset, 512), { max: 64, perAddress: 16 });
  // Never below 16, never above the ceiling.
  assert.deepEqual(connectionLimits(unset, 100), { max: 16, perAddress: 4 });
  assert.equal(connectionLimits(unset, 10_000_000).max, MAX_DERIVED_CONNECTIONS);
  assert.deepEqual(connectionLimits({ maxConnections: 40, maxConnectionsPerAddress: undefined }, 20_000), {
    max: 40,
    perAddress: 10,
  });
  assert.deepEqual(connectionLimits({ maxConnections: 2, maxConnectionsPerAddress: undefined }, 20_000), {
    max: 2,
    perAddress: 1,
  });
  assert.deepEqual(connectionLimits({ maxConnections: 0, maxConnectionsPerAddress: undefined }, 512), {
    max: Infinity,
    perAddress: 16,
  });
  assert.deepEqual(connectionLimits({ maxConnections: -1, maxConnectionsPerAddress: -1 }, 512), {
    max: Infinity,
    perAddress: Infinity,
  });
  assert.deepEqual(connectionLimits({ maxConnections: 100, maxConnectionsPerAddress: 7 }, 512), {
    max: 100,
    perAddress: 7,
  });
});

/** A socket from `localAddress` to `port`, once connected. */
function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends `request` on `socket` and resolves with everything received until the server closes. */
function exchange(socket: Socket, request: string, timeoutMs = 5_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve({ text, closed: false }), timeoutMs);
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', () => {});
    socket.write(request);
  });
}

/** Resolves true when the server closes `socket` within `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.on('error', () => {});
    socket.resume();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const GET = (extra = '') => `GET /x HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;

describe('ConnectionGuard on a real listener', () => {
  let server: Server;
  let port: number;
  let guard: ConnectionGuard;
  let limits: ConnectionLimits = { max: 100, perAddress: 3 };
  let trusted: string[] = [];
  let clock = 0;
  const lines: Record<string, unknown>[] = [];
  /** Responses held back by `/hold` until released. */
  const held: ServerResponse[] = [];
  const clients: Socket[] = [];
  const track = (s: Socket) => (clients.push(s), s);

  before(async () => {
    const logger = createLogger({}, { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    guard = new ConnectionGuard({
      listener: 'test',
      limits: () => limits,
      trustedProxies: () => trusted,
      logger,
      now: () => clock,
    });
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (guard.request(req, res)) return;
      if (req.url === '/hold') {
        held.push(res);
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.flushHeaders();
        return;
      }
      res.end(`remote=${requestRemote(req)}\n`);
    });
    guard.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const s of clients) s.destroy();
    for (const r of held) r.destroy();
    guard.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const release = async () => {
    for (const s of clients.splice(0)) s.destroy();
    for (const r of held.splice(0)) r.end();
    // Until the server saw every close.
    for (let i = 0; i < 200 && guard.figures().open > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(guard.figures().open, 0);
  };

  test('over the per-address cap: 503 with Retry-After and Connection: close; other addresses still served', async () => {
    limits = { max: 100, perAddress: 3 };
    for (let i = 0; i < 3; i++) track(await open(port, '127.0.0.2'));
    const refused = await exchange(track(await open(port, '127.0.0.2')), GET());
    assert.match(refused.text, /^HTTP\/1\.1 503 /);
    assert.match(refused.text, /\r\nRetry-After: \d+\r\n/);
    assert.match(refused.text, /\r\nConnection: close\r\n/);
    assert.equal(refused.closed, true);
    const other = await exchange(track(await open(port, '127.0.0.1')), GET('Connection: close\r\n'));
    assert.match(other.text, /^HTTP\/1\.1 200 /);
    assert.match(other.text, /remote=127\.0\.0\.1/);
    assert.equal(guard.figures().refused.address, 1);
    assert.equal(guard.figures().open, 3);
    await release();
  });

  test('at the global cap new connections are refused until an idle one has been idle long enough to close', async () => {
    limits = { max: 4, perAddress: 100 };
    clock = 0;
    const idle = [];
    for (let i = 0; i < 4; i++) idle.push(track(await open(port)));
    // Nothing idle for long: refused.
    const refused = await exchange(track(await open(port)), GET());
    assert.match(refused.text, /^HTTP\/1\.1 503 /);
    // A busy connection is never closed to make room, however long it has been busy.
    assert.equal(await closedWithin(track(await open(port)), 2_000), true, 'the sixth is refused too');
    const first = idle[0]!;
    clock = 10_000;
    const admitted = track(await open(port));
    const answer = await exchange(admitted, GET('Connection: close\r\n'));
    assert.match(answer.text, /^HTTP\/1\.1 200 /);
    assert.equal(await closedWithin(first, 2_000), true, 'the longest idle connection made room');
    assert.equal(guard.figures().evicted, 1);
    await release();
  });

  test('near the cap a connection busy with a request stays; the idle one goes', async () => {
    limits = { max: 2, perAddress: 100 };
    clock = 0;
    const busy = track(await open(port));
    const response = new Promise<string>((resolve) => {
      let text = '';
      busy.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text);
      });
    });
    busy.write('GET /hold HTTP/1.1\r\nHost: t\r\n\r\n');
    assert.match(await response, /^HTTP\/1\.1 200 /);
    const idle = track(await open(port));
    clock = 10_000;
    track(await open(port));
    assert.equal(await closedWithin(idle, 2_000), true);
    assert.equal(busy.destroyed, false);
    assert.equal(await closedWithin(busy, 200), false);
    await release();
  });

  test('behind a trusted proxy each forwarded client has its own cap; headers of untrusted peers are ignored', async () => {
    limits = { max: 100, perAddress: 1 };
    trusted = ['127.0.0.1/32'];
    try {
      // The proxy holds one request of 203.0.113.7 open…
      const first = track(await open(port));
      const head = new Promise<void>((resolve) => first.once('data', () => resolve()));
      first.write('GET /hold HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n');
      await head;
      // …so a second one of that client is refused, on any of the proxy's connections.
      const second = await exchange(track(await open(port)), GET('X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n'));
      assert.match(second.text, /^HTTP\/1\.1 503 /);
      assert.match(second.text, /\r\nRetry-After: \d+\r\n/);
      // Another client through the same proxy is served, and logged as itself.
      const third = await exchange(
        track(await open(port)),
        GET('X-Forwarded-For: 203.0.113.8\r\nConnection: close\r\n'),
      );
      assert.match(third.text, /remote=203\.0\.113\.8/);
      const viaForwarded = await exchange(
        track(await open(port)),
        GET('Forwarded: for="[2001:db8::1]:80"\r\nConnection: close\r\n'),
      );
      assert.match(viaForwarded.text, /remote=2001:db8::1/);
      // An untrusted peer cannot pose as someone else: its header is ignored.
      const forged = await exchange(
        track(await open(port, '127.0.0.4')),
        GET('X-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n'),
      );
      assert.match(forged.text, /remote=127\.0\.0\.4/);
      assert.equal(guard.figures().refused.forwarded, 1);
    } finally {
      trusted = [];
    }
    await release();
  });

  test('a burst of refusals is one warn line, not one per refusal', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({}, { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const own = new ConnectionGuard({ listener: 'own', limits: () => ({ max: 100, perAddress: 1 }), logger });
    const s2 = createServer((_req, res) => res.end('ok'));
    own.attach(s2);
    await new Promise<void>((resolve) => s2.listen(0, '127.0.0.1', resolve));
    const p2 = (s2.address() as AddressInfo).port;
    const kept = await open(p2, '127.0.0.3');
    try {
      for (let i = 0; i < 20; i++) assert.equal(await closedWithin(await open(p2, '127.0.0.3'), 5_000), true);
      const warned = lines.filter((l) => l.msg === 'connections refused');
      assert.equal(warned.length, 1, JSON.stringify(warned));
      assert.equal(warned[0]?.address, '127.0.0.3');
      assert.equal(warned[0]?.reason, 'address');
      assert.equal(own.figures().refused.address, 20);
    } finally {
      kept.destroy();
      own.stop();
      s2.closeAllConnections();
      await new Promise<void>((resolve) => s2.close(() => resolve()));
    }
  });

  test('past the lingering bound refusals are plain closes', async () => {
    const small = new ConnectionGuard({
      listener: 'small',
      limits: () => ({ max: 1, perAddress: 10 }),
      maxLingering: 0,
    });
    const s2 = createServer((_req, res) => res.end('ok'));
    small.attach(s2);
    await new Promise<void>((resolve) => s2.listen(0, '127.0.0.1', resolve));
    const p2 = (s2.address() as AddressInfo).port;
    const held2 = await open(p2);
    try {
      const refused = await exchange(await open(p2), GET());
      assert.equal(refused.closed, true);
      assert.equal(refused.text, '', 'no answer, a plain close');
      assert.equal(small.figures().refused.global, 1);
    } finally {
      held2.destroy();
      s2.closeAllConnections();
      await new Promise<void>((resolve) => s2.close(() => resolve()));
    }
  });
});
