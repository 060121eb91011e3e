/**
 * Connection floods against the built binary: idle sockets from one address past its cap, from
 * several addresses past the global cap (with small caps, and with the caps serve derives under
 * a low open-file limit), and clients behind a trusted reverse proxy. Through each, other
 * clients' downloads and uploads succeed and serve never runs out of descriptors. Flood clients
 * bind their own loopback address (all of 127/8 is loopback on Linux).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { ensureBinary } from '../../scripts/build/freshness.ts';
import { rawExchange, type RawResponse } from '../support/raw-http.ts';

process.env.FILEUPLOAD_E2E_BIN ??= await ensureBinary();
const { openfireXml, serveConfigFor, startServe, waitFor } = await import('../support/serve.ts');
type ServeProcess = Awaited<ReturnType<typeof startServe>>;
const { http, randomFile, sha256 } = await import('../support/http.ts');
const { signSlot } = await import('../../src/slots/sign.ts');
const { newSlotId } = await import('../../src/slots/id.ts');

/** A client socket of a flood and what became of it. */
interface FloodSocket {
  socket: Socket;
  /** Bytes the server sent (latin1). */
  received: string;
  closed: boolean;
}

/**
 * Opens `count` sockets from `localAddress` that send nothing, in batches (the listen backlog),
 * and resolves once each has connected or failed.
 */
async function flood(port: number, localAddress: string, count: number): Promise<FloodSocket[]> {
  const all: FloodSocket[] = [];
  for (let start = 0; start < count; start += 50) {
    const batch = Array.from({ length: Math.min(50, count - start) }, () => {
      const f: FloodSocket = {
        socket: connect({ port, host: '127.0.0.1', localAddress }),
        received: '',
        closed: false,
      };
      f.socket.on('data', (d: Buffer) => (f.received += d.toString('latin1')));
      f.socket.on('error', () => {});
      f.socket.once('close', () => (f.closed = true));
      all.push(f);
      return new Promise<void>((resolve) => {
        f.socket.once('connect', () => resolve());
        f.socket.once('close', () => resolve());
      });
    });
    await Promise.all(batch);
  }
  return all;
}

/** Waits until the number of closed flood sockets has not changed for `quietMs` (bounded). */
async function settled(sockets: FloodSocket[], quietMs = 1_500, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const closed = sockets.filter((s) => s.closed).length;
    if (closed !== last) {
      last = closed;
      since = Date.now();
    } else if (Date.now() - since >= quietMs || Date.now() > deadline) {
      return closed;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function endFlood(sockets: FloodSocket[]): void {
  for (const s of sockets) s.socket.destroy();
}

/** A signed slot of `size` bytes on `serve` (no XMPP server needed: serve checks the signature). */
function slotOn(serve: ServeProcess, size: number, filename = 'file.bin'): { put: string; get: string } {
  const now = Date.now();
  const slot = {
    id: newSlotId(),
    filename,
    size,
    uploader: 'alice@example.org',
    issuedAt: now,
    expiresAt: now + 300_000,
    purpose: 'message' as const,
  };
  const get = `${serve.baseUrl}/${slot.id}/${filename}`;
  return { put: `${get}?t=${signSlot(String(serve.config.slotSecret), slot)}`, get };
}

/** Uploads `data` to a new slot and checks it reads back whole. */
async function uploadAndRead(serve: ServeProcess, data: Buffer, what: string): Promise<void> {
  const slot = slotOn(serve, data.length);
  const put = await http(slot.put, { method: 'PUT', body: data, timeoutMs: 20_000 });
  assert.equal(put.status, 201, `${what}: PUT ${put.status} ${put.body.toString()} ${put.error ?? ''}`);
  const got = await http(slot.get, { timeoutMs: 20_000 });
  assert.equal(got.status, 200, `${what}: GET ${got.status}`);
  assert.equal(got.bodySha256, sha256(data), what);
}

/** The one response to `request`, sent from `localAddress`. */
async function rawRequest(port: number, localAddress: string, request: string): Promise<RawResponse> {
  const { responses } = await rawExchange(port, request, 1, { localAddress });
  return responses[0]!;
}

const metric = async (serve: ServeProcess, line: RegExp): Promise<number> => {
  const text = (await http(`http://127.0.0.1:${serve.config.adminPort}/metrics`)).body.toString();
  const m = line.exec(text);
  assert.ok(m?.[1] !== undefined, `no ${line} in /metrics`);
  return Number(m[1]);
};

const logText = (serve: ServeProcess) =>
  serve
    .logLines()
    .map((l) => JSON.stringify(l))
    .join('\n') + serve.stderr();

describe('connection floods against the binary', { concurrency: false }, () => {
  test('idle sockets from one address past its cap: the rest are refused, another address still downloads and uploads', async () => {
    const serve = await startServe({
      config: await serveConfigFor(undefined, { maxConnections: 200, maxConnectionsPerAddress: 20 }),
    });
    const port = Number(serve.config.webPort);
    let sockets: FloodSocket[] = [];
    try {
      const stored = randomFile(300 * 1024);
      const before = slotOn(serve, stored.length);
      assert.equal((await http(before.put, { method: 'PUT', body: stored })).status, 201);

      sockets = await flood(port, '127.0.0.2', 100);
      const refused = await settled(sockets);
      assert.equal(refused, 80, 'all but 20 of the flood refused');
      const answered = sockets.filter((s) => s.received.startsWith('HTTP/1.1 503 '));
      assert.ok(answered.length > 0, 'refusals are answered with a 503 while they are few');
      for (const s of answered) assert.match(s.received, /\r\nRetry-After: \d+\r\n[^]*\r\nConnection: close\r\n/);

      // The flood is still holding its 20: another address is served.
      const got = await http(before.get);
      assert.equal(got.status, 200);
      assert.equal(got.bodySha256, sha256(stored));
      await uploadAndRead(serve, randomFile(2 * 1024 * 1024), 'upload during the flood');

      assert.equal(
        await metric(serve, /^fileupload_connections_refused_total\{listener="http",reason="address"\} (\d+)/m),
        80,
      );
      assert.ok((await metric(serve, /^fileupload_connections_open\{listener="http"\} (\d+)/m)) >= 20);
      const warned = serve.logLines().filter((l) => l.msg === 'connections refused');
      assert.ok(warned.length >= 1 && warned.length <= 2, `one warn line per burst, got ${warned.length}`);
      assert.equal(warned[0]?.address, '127.0.0.2');
      assert.equal(warned[0]?.level, 'warn');
    } finally {
      endFlood(sockets);
      await serve.stop();
    }
  });

  /**
   * Floods from `addresses` × `perAddress` idle sockets past the global cap `cap`; checks the
   * refusals, then an upload from another address once the flood's sockets are idle long enough
   * to make room for it, then service after the flood.
   */
  async function globalFlood(serve: ServeProcess, cap: number, addresses: string[], perAddress: number): Promise<void> {
    const port = Number(serve.config.webPort);
    let sockets: FloodSocket[] = [];
    try {
      for (const address of addresses) sockets.push(...(await flood(port, address, perAddress)));
      const closed = await settled(sockets);
      const open = sockets.length - closed;
      assert.ok(open <= cap, `at most the cap (${cap}) stays open, got ${open}`);
      assert.ok(closed >= sockets.length - cap, `the rest are refused (${closed} of ${sockets.length})`);
      assert.ok(
        sockets.some((s) => s.received.startsWith('HTTP/1.1 503 ')),
        'some refusals read a 503',
      );
      const fds = readdirSync(`/proc/${serve.pid}/fd`).length;
      // Wait until the flood's sockets count as idle long enough to be closed for a new client.
      await new Promise((r) => setTimeout(r, 2_500));
      await Promise.all(
        [0, 1, 2].map((i) => uploadAndRead(serve, randomFile((i + 1) * 1024 * 1024), `upload ${i} during the flood`)),
      );
      assert.ok(
        (await metric(serve, /^fileupload_connections_refused_total\{listener="http",reason="global"\} (\d+)/m)) > 0,
      );
      endFlood(sockets);
      sockets = [];
      await waitFor(async () => (await metric(serve, /^fileupload_connections_open\{listener="http"\} (\d+)/m)) === 0, {
        timeoutMs: 10_000,
        describe: () => 'the flood connections to be gone',
      });
      await uploadAndRead(serve, randomFile(512 * 1024), 'upload after the flood');
      assert.doesNotMatch(logText(serve), /EMFILE|too many open files/i);
      assert.ok(fds < 512, `${fds} descriptors`);
    } finally {
      endFlood(sockets);
    }
  }

  test('idle sockets from several addresses past a small global cap', async () => {
    const serve = await startServe({
      config: await serveConfigFor(undefined, { maxConnections: 40, maxConnectionsPerAddress: 20 }),
    });
    try {
      await globalFlood(serve, 40, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], 20);
    } finally {
      await serve.stop();
    }
  });

  test('the derived caps under an open-file limit of 512: more sockets than descriptors, and no EMFILE', async () => {
    const serve = await startServe({
      config: await serveConfigFor(undefined),
      prefix: ['prlimit', '--nofile=512:512'],
    });
    try {
      assert.match(readFileSync(`/proc/${serve.pid}/limits`, 'utf8'), /^Max open files\s+512\s+512/m);
      const ready = serve.logLines().find((l) => l.msg === 'ready');
      assert.equal(ready?.maxConnections, 64);
      assert.equal(ready?.maxConnectionsPerAddress, 16);
      // 600 sockets: without the caps they alone would take more descriptors than serve has.
      const addresses = Array.from({ length: 12 }, (_, i) => `127.0.1.${i + 1}`);
      await globalFlood(serve, 64, addresses, 50);
    } finally {
      await serve.stop();
    }
  });

  test('a SIGHUP applies a new idleTimeout and new caps', async () => {
    const config = await serveConfigFor(undefined, { maxConnectionsPerAddress: 50 });
    const serve = await startServe({ config });
    const port = Number(serve.config.webPort);
    let sockets: FloodSocket[] = [];
    try {
      writeFileSync(serve.configFile, openfireXml({ ...config, idleTimeout: '1s', maxConnectionsPerAddress: 3 }));
      const from = serve.logLines().length;
      process.kill(serve.pid, 'SIGHUP');
      await serve.waitForLog('configuration reloaded', { from });
      sockets = await flood(port, '127.0.0.2', 5);
      // Two refused at once; the three admitted stay until idleTimeout plus the grace (6 s), not 65 s.
      await waitFor(() => sockets.filter((s) => s.closed).length === 2, {
        timeoutMs: 5_000,
        describe: () => 'two refusals',
      });
      await waitFor(() => sockets.every((s) => s.closed), {
        timeoutMs: 20_000,
        describe: () => 'the idle sockets to time out',
      });
    } finally {
      endFlood(sockets);
      await serve.stop();
    }
  });

  test('behind a trusted proxy the cap is per forwarded client; forged headers from others are ignored', async () => {
    const serve = await startServe({
      config: await serveConfigFor(undefined, {
        maxConnections: 100,
        maxConnectionsPerAddress: 2,
        trustedProxies: '127.0.0.1',
      }),
    });
    const port = Number(serve.config.webPort);
    const held: Socket[] = [];
    try {
      // The proxy carries two uploads of 203.0.113.7 that are still sending…
      for (let i = 0; i < 2; i++) {
        const slot = slotOn(serve, 1000, `held${i}.bin`);
        const socket = connect({ port, host: '127.0.0.1' });
        socket.on('error', () => {});
        held.push(socket);
        const path = new URL(slot.put);
        socket.write(
          `PUT ${path.pathname}${path.search} HTTP/1.1\r\nHost: upload.example\r\nX-Forwarded-For: 203.0.113.7\r\nContent-Length: 1000\r\n\r\n` +
            'x'.repeat(10),
        );
      }
      await waitFor(async () => (await metric(serve, /^fileupload_uploads_in_flight (\d+)/m)) === 2, {
        timeoutMs: 10_000,
        describe: () => 'both uploads to be in flight',
      });
      // …so a third request of that client is refused, whatever it wrote to the left of the proxy's hop.
      const third = await rawRequest(
        port,
        '127.0.0.1',
        'GET /httpfileupload/x/y HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n\r\n',
      );
      assert.equal(third.status, 503);
      assert.match(third.headers['retry-after'] ?? '', /^\d+$/);
      // Another client through the same proxy is served, and logged under its own address.
      const other = await rawRequest(
        port,
        '127.0.0.1',
        'GET /httpfileupload/unknown/file HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.8\r\nConnection: close\r\n\r\n',
      );
      assert.equal(other.status, 404);
      await serve.waitForLog((l) => l.msg === 'request' && l.status === 404 && l.remote === '203.0.113.8');
      assert.equal(
        await metric(serve, /^fileupload_connections_refused_total\{listener="http",reason="forwarded"\} (\d+)/m),
        1,
      );

      // An untrusted peer's X-Forwarded-For changes nothing: it is capped and logged as itself.
      const forged = await rawRequest(
        port,
        '127.0.0.3',
        'GET /httpfileupload/unknown/file HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n',
      );
      assert.equal(forged.status, 404);
      await serve.waitForLog((l) => l.msg === 'request' && l.status === 404 && l.remote === '127.0.0.3');
      assert.equal(
        serve.logLines().some((l) => l.remote === '203.0.113.9'),
        false,
      );
      const own = await flood(port, '127.0.0.3', 2);
      held.push(...own.map((f) => f.socket));
      const refused = await rawRequest(
        port,
        '127.0.0.3',
        'GET /httpfileupload/unknown/file HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.10\r\n\r\n',
      );
      assert.equal(refused.status, 503);
    } finally {
      for (const s of held) s.destroy();
      await serve.stop();
    }
  });
});
