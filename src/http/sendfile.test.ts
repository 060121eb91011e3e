import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { closeSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startKit, type Kit } from '../../test/support/http-kit.ts';
import { http, randomFile, sha256 } from '../../test/support/http.ts';
import { ensureNative } from '../../scripts/build/native.ts';
import type { StoredBody } from '../storage/store.ts';
import { loadSendfile } from '../native/sendfile.ts';
import { sendfileSender, sendfileSocket } from './sendfile.ts';

/**
 * Large downloads over real HTTP on 127.0.0.1 from a real fs store, once by sendfile (the
 * native addon, built from src/native/sendfile.c) and once with FILEUPLOAD_SENDFILE=0 (the
 * buffered path): same bytes, ranges, keep-alive, clients that leave, damaged files, shutdown.
 */

const SIZE = 24 * 1024 * 1024;
const data = randomFile(SIZE);
const digest = sha256(data);

/** Counts which body path the GET handler consumed (the store is the kit's real FsStore). */
function spyOnBodies(kit: Kit): { sendFile: number; pipeTo: number } {
  const used = { sendFile: 0, pipeTo: 0 };
  const read = kit.store.read.bind(kit.store);
  kit.store.read = async (...args: Parameters<typeof read>): Promise<StoredBody | undefined> => {
    const got = await read(...args);
    const sendFile = got?.sendFile?.bind(got);
    const pipeTo = got?.pipeTo?.bind(got);
    if (got && sendFile) got.sendFile = (send) => (used.sendFile++, sendFile(send));
    if (got && pipeTo) got.pipeTo = (dest) => (used.pipeTo++, pipeTo(dest));
    return got;
  };
  return used;
}

async function upload(kit: Kit, body: Buffer): Promise<ReturnType<Kit['slot']>> {
  const slot = kit.slot({ size: body.length });
  const res = await http(slot.put, { method: 'PUT', body });
  assert.equal(res.status, 201, res.body.toString());
  return slot;
}

/** Open descriptors of this process (the server runs in it) and those naming `file`. */
function descriptors(file?: string): { count: number; onFile: number } {
  let count = 0;
  let onFile = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    count++;
    try {
      if (file !== undefined && readlinkSync(`/proc/self/fd/${fd}`) === file) onFile++;
    } catch {
      // closed meanwhile (readdir's own descriptor)
    }
  }
  return { count, onFile };
}

/** A GET that reports how it ended: complete (all of Content-Length) or cut off. */
function download(
  url: string,
  timeoutMs = 20_000,
): Promise<{ status: number; length: number; complete: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let length = 0;
      let error: string | undefined;
      res.on('data', (c: Buffer) => (length += c.length));
      res.on('error', (err) => (error = err.message));
      res.on('close', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, length, complete: res.complete, ...(error ? { error } : {}) });
      });
    });
    const timer = setTimeout(() => reject(new Error(`no end after ${timeoutMs} ms: the response hung`)), timeoutMs);
    req.on('error', reject);
    req.end();
  });
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), `not reached: ${what}`);
}

const modes = [
  { name: 'sendfile', env: undefined },
  { name: 'FILEUPLOAD_SENDFILE=0', env: '0' },
] as const;

for (const mode of modes) {
  describe(`large downloads (${mode.name})`, () => {
    let kit: Kit;
    let used: { sendFile: number; pipeTo: number };
    let slot: ReturnType<Kit['slot']>;
    let file: string;
    const viaSendfile = mode.env === undefined;

    before(async () => {
      ensureNative();
      const saved = process.env.FILEUPLOAD_SENDFILE;
      if (mode.env === undefined) delete process.env.FILEUPLOAD_SENDFILE;
      else process.env.FILEUPLOAD_SENDFILE = mode.env;
      try {
        kit = await startKit(); // the download handler reads the switch when it is created
      } finally {
        if (saved === undefined) delete process.env.FILEUPLOAD_SENDFILE;
        else process.env.FILEUPLOAD_SENDFILE = saved;
      }
      used = spyOnBodies(kit);
      slot = await upload(kit, data);
      file = join(kit.dir, 'files', slot.id);
    });
    after(() => kit.stop());

    test('the whole body arrives byte for byte, by the expected path', async () => {
      const before = { ...used };
      const res = await http(slot.get, { discardBody: true });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-length'], String(SIZE));
      assert.equal(res.bodyLength, SIZE);
      assert.equal(res.bodySha256, digest);
      assert.equal(used.sendFile - before.sendFile, viaSendfile ? 1 : 0);
      assert.equal(used.pipeTo - before.pipeTo, viaSendfile ? 0 : 1);
      // Recorded as today: the bytes of the body, once it was all sent.
      await eventually(
        () => kit.logs.some((l) => l.msg === 'request' && l.method === 'GET' && l.status === 200),
        'logged',
      );
      const logged = kit.logs.findLast((l) => l.msg === 'request' && l.method === 'GET' && l.status === 200);
      assert.equal(logged?.bytes, SIZE);
      assert.equal(logged?.reason, undefined);
    });

    test('ranges: a middle slice and a suffix (206)', async () => {
      const mid = await http(slot.get, { headers: { range: 'bytes=5000000-21000000' } });
      assert.equal(mid.status, 206);
      assert.equal(mid.headers['content-range'], `bytes 5000000-21000000/${SIZE}`);
      assert.ok(mid.body.equals(data.subarray(5_000_000, 21_000_001)));
      const tail = await http(slot.get, { headers: { range: 'bytes=-3000000' } });
      assert.equal(tail.status, 206);
      assert.equal(tail.headers['content-range'], `bytes ${SIZE - 3_000_000}-${SIZE - 1}/${SIZE}`);
      assert.ok(tail.body.equals(data.subarray(SIZE - 3_000_000)));
    });

    test('two GETs in a row on one keep-alive connection', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const get = (range?: string): Promise<{ res: IncomingMessage; body: Buffer; reused: boolean }> =>
          new Promise((resolve, reject) => {
            const req = request(slot.get, { agent, headers: range ? { range } : {} }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve({ res, body: Buffer.concat(chunks), reused: req.reusedSocket }));
              res.on('error', reject);
            });
            req.on('error', reject);
            req.end();
          });
        const first = await get();
        assert.equal(first.res.statusCode, 200);
        assert.equal(sha256(first.body), digest);
        const second = await get('bytes=1048576-');
        assert.equal(second.res.statusCode, 206);
        assert.ok(second.reused, "the second request went over the first one's connection");
        assert.ok(second.body.equals(data.subarray(1_048_576)));
      } finally {
        agent.destroy();
      }
    });

    test('a client that reads a little and leaves frees the file and the connection', async () => {
      await eventually(() => kit.app.gate.activeRequests === 0, 'no request in flight');
      const baseline = descriptors(file).count;
      const url = new URL(slot.get);
      const socket = connect(Number(url.port), url.hostname);
      await new Promise<void>((resolve, reject) => {
        let got = 0;
        socket.on('error', reject);
        socket.on('connect', () => socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: x\r\n\r\n`));
        socket.on('data', (d: Buffer) => {
          got += d.length;
          if (got >= 512 * 1024) {
            socket.destroy();
            resolve();
          }
        });
      });
      await eventually(() => kit.app.gate.activeRequests === 0, 'the download ended');
      await eventually(() => descriptors(file).onFile === 0, 'the upload file closed');
      await eventually(() => descriptors().count <= baseline, `descriptors back to ${baseline}`);
      // And the server still answers.
      const res = await http(slot.get, { headers: { range: 'bytes=0-9' } });
      assert.ok(res.body.equals(data.subarray(0, 10)));
    });

    test('a file truncated on disk after publish cuts the response off instead of hanging', async () => {
      const damaged = await upload(kit, data.subarray(0, 8 * 1024 * 1024));
      const path = join(kit.dir, 'files', damaged.id);
      await truncate(path, (await stat(path)).size - 3 * 1024 * 1024);
      const res = await download(damaged.get);
      assert.equal(res.status, 200);
      assert.equal(res.complete, false, 'the client saw an incomplete response');
      assert.ok(res.length <= 5 * 1024 * 1024, `${res.length} bytes`);
      await eventually(() => descriptors(path).onFile === 0, 'the damaged file closed');
    });

    test('shutdown waits for a download in flight, then it completes', async () => {
      let received = 0;
      const hash = (await import('node:crypto')).createHash('sha256');
      let paused: IncomingMessage | undefined;
      const done = new Promise<void>((resolve, reject) => {
        const req = request(slot.get, { agent: false }, (res) => {
          res.on('data', (c: Buffer) => {
            hash.update(c);
            received += c.length;
            if (!paused) {
              paused = res;
              res.pause();
            }
          });
          res.on('end', resolve);
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      await eventually(() => paused !== undefined, 'the download started');
      let drained: boolean | undefined;
      const draining = kit.server.drain(20_000).then((clean) => (drained = clean));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(drained, undefined, 'drain waits while the body is still going out');
      paused!.resume();
      await done;
      assert.equal(received, SIZE);
      assert.equal(hash.digest('hex'), digest);
      assert.equal(await draining, true);
      // Under a loaded full test run the descriptor was once still open right as drain resolved
      // (not reproduced alone, cause not found): what is asserted is that it is freed.
      await eventually(() => descriptors(file).onFile === 0, 'the file closed');
    });
  });
}

test('a shutdown that times out ends a stalled sendfile download and frees its file', async () => {
  ensureNative();
  const kit = await startKit();
  try {
    const used = spyOnBodies(kit);
    const slot = await upload(kit, data);
    const file = join(kit.dir, 'files', slot.id);
    let received = 0;
    let complete: boolean | undefined;
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(slot.get, { agent: false }, (res) => {
        res.pause(); // does not read: the socket fills and sendfile waits
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('error', () => {});
        res.on('close', () => (complete = res.complete));
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
    const res = await response;
    await eventually(() => used.sendFile === 1, 'the body went by sendfile');
    assert.equal(await kit.server.drain(300), false);
    await eventually(() => descriptors(file).onFile === 0, 'the upload file closed');
    assert.equal(kit.app.gate.activeRequests, 0);
    res.resume(); // what the kernel buffered, then the end of a cut-off response
    await eventually(() => complete !== undefined, 'the client saw the connection close');
    assert.equal(complete, false);
    assert.ok(received < SIZE);
  } finally {
    await kit.stop();
  }
});

test('a slow download that keeps moving is not cut off by the socket idle timeout', async () => {
  ensureNative();
  const { addon } = loadSendfile();
  assert.ok(addon);
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-sendfile-idle-'));
  const path = join(dir, 'data');
  await writeFile(path, data);
  const server = createServer((_req, res) => {
    const socket = sendfileSocket(res);
    assert.ok(socket);
    const fd = openSync(path, 'r');
    sendfileSender(addon, res, socket, 200, { 'Content-Length': String(SIZE) })(fd, 0, SIZE)
      .then(
        () => res.end(),
        () => res.destroy(),
      )
      .finally(() => closeSync(fd));
  });
  // Far shorter than the download takes; only sendfile's progress keeps the socket alive.
  server.setTimeout(400);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const got = await new Promise<{ length: number; complete: boolean }>((resolve, reject) => {
      request({ port, host: '127.0.0.1', agent: false }, (res) => {
        let length = 0;
        // ~20 MB/s: 1 MiB, then a 50 ms pause.
        res.on('data', (c: Buffer) => {
          const before = length;
          length += c.length;
          if (Math.floor(length / 2 ** 20) > Math.floor(before / 2 ** 20)) {
            res.pause();
            setTimeout(() => res.resume(), 50);
          }
        });
        res.on('error', () => {});
        res.on('close', () => resolve({ length, complete: res.complete }));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(got.length, SIZE);
    assert.equal(got.complete, true);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});

test('over TLS a large download takes the buffered path (sendfile would bypass the encryption)', async () => {
  ensureNative();
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-sendfile-tls-'));
  const cert = join(dir, 'c.crt');
  const key = join(dir, 'c.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
    ],
    { stdio: 'ignore' },
  );
  const kit = await startKit({ settings: { tlsCertificate: cert, tlsKey: key } });
  try {
    const used = spyOnBodies(kit);
    const body = data.subarray(0, 4 * 1024 * 1024);
    const slot = await upload(kit, body);
    const res = await http(slot.get, { discardBody: true });
    assert.equal(res.status, 200);
    assert.equal(res.bodySha256, sha256(body));
    assert.deepEqual(used, { sendFile: 0, pipeTo: 1 });
  } finally {
    await kit.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
