import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import {
  ClamdClient,
  checkStreamMaxLength,
  chunkHeader,
  clamdPing,
  clamdScan,
  clamdVersion,
  parseScanReply,
  type ClamdConnectionOptions,
} from './clamav.ts';
import {
  clamdMissing,
  EICAR,
  EICAR_SIGNATURE,
  startClamd,
  type ClamdTestServer,
} from '../../scripts/testservers/clamd.ts';
import { freePort, waitFor } from '../../scripts/testservers/processes.ts';

/** `total` bytes of `fill` in 64 KiB pieces, counting what was taken in `pulled.bytes`. */
async function* counted(total: number, pulled: { bytes: number }, fill = 0x41): AsyncGenerator<Buffer> {
  const piece = Buffer.alloc(64 * 1024, fill);
  for (let sent = 0; sent < total; sent += piece.length) {
    const part = piece.subarray(0, Math.min(piece.length, total - sent));
    pulled.bytes += part.length;
    yield part;
  }
}

async function* of(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

test('parseScanReply names each of clamd’s answers', () => {
  assert.deepEqual(parseScanReply('stream: OK'), { verdict: 'clean' });
  assert.deepEqual(parseScanReply('stream: Win.Test.EICAR_HDB-1 FOUND'), {
    verdict: 'infected',
    signature: 'Win.Test.EICAR_HDB-1',
  });
  assert.deepEqual(parseScanReply('INSTREAM size limit exceeded. ERROR'), { verdict: 'too-large' });
  assert.deepEqual(parseScanReply('lstat() failed: No such file or directory. ERROR'), {
    verdict: 'error',
    reason: 'clamd answered: lstat() failed: No such file or directory. ERROR',
  });
  assert.deepEqual(parseScanReply('UNKNOWN COMMAND'), {
    verdict: 'error',
    reason: 'clamd gave an unexpected answer: "UNKNOWN COMMAND"',
  });
});

test('chunkHeader is the 4-byte big-endian length', () => {
  assert.deepEqual([...chunkHeader(0)], [0, 0, 0, 0]);
  assert.deepEqual([...chunkHeader(65536)], [0, 1, 0, 0]);
  assert.deepEqual([...chunkHeader(0x01020304)], [1, 2, 3, 4]);
});

describe('against a real clamd', { skip: clamdMissing() }, () => {
  const custom = { name: 'Fileupload.Test.Custom', content: randomBytes(5000) };
  let clamd: ClamdTestServer;
  let at: ClamdConnectionOptions;
  let dir: string;
  before(async () => {
    clamd = await startClamd({ streamMaxLength: 1024 * 1024, signatures: [custom] });
    at = { host: clamd.host, port: clamd.port, streamMaxLength: clamd.streamMaxLength };
    dir = clamd.dir;
  });
  after(() => clamd?.stop());
  const file = (name: string, content: Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  test('PING answers PONG and VERSION names ClamAV, in both command forms', async () => {
    for (const commandForm of ['z', 'n'] as const) {
      assert.deepEqual(await clamdPing({ ...at, commandForm }), { ok: true, reply: 'PONG' });
      const version = await clamdVersion({ ...at, commandForm });
      assert.ok(version.ok && /^ClamAV \d+\.\d+/.test(version.reply), JSON.stringify(version));
    }
  });

  test('EICAR is infected, with the signature’s name, in both command forms', async () => {
    const path = file('eicar.com', EICAR);
    for (const commandForm of ['z', 'n'] as const) {
      const client = new ClamdClient({ ...at, commandForm });
      assert.deepEqual(await client.scanFile(path), {
        verdict: 'infected',
        signature: `${EICAR_SIGNATURE}.UNOFFICIAL`,
      });
    }
  });

  test('EICAR across a chunk boundary deep in a file is found: the chunks are one stream to clamd', async () => {
    const before = randomBytes(3 * 64 * 1024 - 30);
    const path = file('hidden.bin', Buffer.concat([before, EICAR, randomBytes(1000)]));
    const verdict = await new ClamdClient(at).scanFile(path);
    assert.deepEqual(verdict, { verdict: 'infected', signature: `${EICAR_SIGNATURE}.UNOFFICIAL` });
  });

  test('a file matching a custom signature is infected; one byte different is clean', async () => {
    const client = new ClamdClient(at);
    assert.deepEqual(await client.scanFile(file('custom.bin', custom.content)), {
      verdict: 'infected',
      signature: `${custom.name}.UNOFFICIAL`,
    });
    const changed = Buffer.from(custom.content);
    changed[0] = (changed[0] as number) ^ 1;
    assert.deepEqual(await client.scanFile(file('changed.bin', changed)), { verdict: 'clean' });
  });

  test('clean files are clean: text, random bytes of exactly StreamMaxLength, empty', async () => {
    const client = new ClamdClient(at);
    assert.deepEqual(await client.scanFile(file('hello.txt', Buffer.from('hello, world\n'))), { verdict: 'clean' });
    const big = file('big.bin', randomBytes(clamd.streamMaxLength));
    assert.deepEqual(await client.scanFile(big), { verdict: 'clean' });
    assert.deepEqual(await client.scanFile(file('empty', Buffer.alloc(0))), { verdict: 'clean' });
  });

  test('a stream of empty and odd-sized pieces is sent whole (an empty piece must not end it)', async () => {
    const verdict = await clamdScan(at, () =>
      of(Buffer.alloc(0), EICAR.subarray(0, 7), Buffer.alloc(0), EICAR.subarray(7)),
    );
    assert.deepEqual(verdict, { verdict: 'infected', signature: `${EICAR_SIGNATURE}.UNOFFICIAL` });
  });

  test('a file one byte larger than StreamMaxLength is too-large, without a connection', async () => {
    const path = file('too-large.bin', randomBytes(clamd.streamMaxLength + 1));
    // Nothing listens there: a connection attempt would be an error.
    const nowhere = new ClamdClient({ ...at, port: await freePort() });
    assert.deepEqual(await nowhere.scanFile(path), { verdict: 'too-large' });
  });

  test('a stream passing StreamMaxLength is too-large: a 1 GiB stream is read no further', async () => {
    const pulled = { bytes: 0 };
    assert.deepEqual(await clamdScan(at, () => counted(1024 ** 3, pulled)), { verdict: 'too-large' });
    assert.ok(pulled.bytes <= clamd.streamMaxLength + 64 * 1024, `read ${pulled.bytes} bytes`);
  });

  test('clamd’s StreamMaxLength below the one configured here: an error saying so, every time', async () => {
    const allowed = 4 * clamd.streamMaxLength;
    const client = new ClamdClient({ ...at, streamMaxLength: allowed });
    const path = file('between.bin', randomBytes(3 * clamd.streamMaxLength));
    // clamd answers and resets the connection while the upload is still arriving: whether the
    // answer is read first or the write fails first, the verdict is the same.
    for (let i = 0; i < 20; i++) {
      const verdict = await client.scanFile(path);
      assert.equal(verdict.verdict, 'error');
      assert.match(
        (verdict as { reason: string }).reason,
        new RegExp(`its StreamMaxLength is below the ${allowed} bytes allowed here`),
      );
    }
  });

  test('checkStreamMaxLength passes at clamd’s StreamMaxLength and fails, saying why, above it', async () => {
    assert.deepEqual(await checkStreamMaxLength(at), { ok: true, reply: 'stream: OK' });
    const above = { ...at, streamMaxLength: clamd.streamMaxLength + 1 };
    const r = await checkStreamMaxLength(above);
    assert.equal(r.ok, false);
    assert.match(
      (r as { reason: string }).reason,
      new RegExp(`its StreamMaxLength is below the ${clamd.streamMaxLength + 1} bytes allowed here`),
    );
  });

  test('an upload that cannot be read rejects (not clamd’s fault: no verdict) and frees its turn', async () => {
    const client = new ClamdClient({ ...at, maxConcurrentScans: 1 });
    await assert.rejects(client.scanFile(join(dir, 'missing')), { code: 'ENOENT' });
    const broken = async function* () {
      yield Buffer.from('first piece');
      throw Object.assign(new Error('read failed'), { code: 'EIO' });
    };
    await assert.rejects(client.scanStream(broken), { code: 'EIO' });
    await assert.rejects(
      client.scanStream(() => {
        throw Object.assign(new Error('cannot open'), { code: 'EACCES' });
      }),
      { code: 'EACCES' },
    );
    assert.equal(client.turns.active, 0);
    assert.deepEqual(await client.scanFile(file('after.txt', Buffer.from('still works'))), { verdict: 'clean' });
  });
});

test('nothing listening: an error at once naming where and why, not a wait for the timeout', async () => {
  const port = await freePort();
  const start = { host: '127.0.0.1', port, connectionTimeout: 600_000 };
  const client = new ClamdClient(start);
  let opened = false;
  const verdict = await client.scanStream(() => {
    opened = true;
    return of(Buffer.from('hello'));
  });
  assert.equal(opened, false);
  assert.equal(verdict.verdict, 'error');
  assert.match(
    (verdict as { reason: string }).reason,
    new RegExp(`clamd at 127\\.0\\.0\\.1:${port} refused the connection`),
  );
  const ping = await clamdPing(start);
  assert.equal(ping.ok, false);
});

test('a listener that never accepts: the connection timeout', async () => {
  // A worker listens with a backlog of 1 and then blocks its event loop, so nothing accepts:
  // two connections fill the kernel's queue (it holds backlog + 1) and the next SYNs go unanswered.
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       while (Atomics.load(workerData, 0) === 0) Atomics.wait(workerData, 0, 0, 50);
       process.exit(0);
     });`,
    { eval: true, workerData: flag },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const fillers = [connect({ host: '127.0.0.1', port }), connect({ host: '127.0.0.1', port })];
  await Promise.all(fillers.map((f) => new Promise((resolve) => f.once('connect', resolve))));
  try {
    const answer = await clamdPing({ host: '127.0.0.1', port, connectionTimeout: 300 });
    assert.deepEqual(answer, {
      ok: false,
      reason: `clamd at 127.0.0.1:${port} did not accept a connection within 300 ms`,
    });
  } finally {
    for (const f of fillers) f.destroy();
    Atomics.store(flag, 0, 1);
    await new Promise((resolve) => worker.once('exit', resolve));
  }
});

test('a server that accepts and never answers: the reply timeout, for PING and for a scan', async () => {
  const held: Socket[] = [];
  const server = createServer((socket) => {
    held.push(socket);
    socket.resume();
  });
  const port = await listen(server);
  try {
    const options = { host: '127.0.0.1', port, replyTimeout: 300 };
    assert.deepEqual(await clamdPing(options), {
      ok: false,
      reason: `clamd at 127.0.0.1:${port} made no progress for 300 ms`,
    });
    assert.deepEqual(await clamdScan(options, () => of(Buffer.from('hello'))), {
      verdict: 'error',
      reason: `clamd at 127.0.0.1:${port} made no progress for 300 ms`,
    });
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});

test('a server that stops reading: what is read of the upload stays bounded, then the timeout', async () => {
  const held: Socket[] = [];
  const server = createServer({ pauseOnConnect: true }, (socket) => held.push(socket));
  const port = await listen(server);
  try {
    const pulled = { bytes: 0 };
    const verdict = await clamdScan({ host: '127.0.0.1', port, replyTimeout: 500 }, () => counted(1024 ** 3, pulled));
    assert.equal(verdict.verdict, 'error');
    // What the kernel's socket buffers take, not the 1 GiB offered.
    assert.ok(pulled.bytes < 64 * 1024 ** 2, `read ${pulled.bytes} bytes`);
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});

describe('the bound on concurrent scans', () => {
  /**
   * A stand-in clamd that holds every INSTREAM unanswered until answer() and records which scan
   * (the text `scan-N` it sends) arrived when, and how many were unanswered at most.
   */
  async function holdingServer() {
    const state = { unanswered: [] as { n: number; socket: Socket }[], order: [] as number[], peak: 0 };
    const server = createServer((socket) => {
      let text = '';
      let known = false;
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        const m = /scan-(\d+);/.exec(text);
        if (known || !m) return;
        known = true;
        const n = Number(m[1]);
        state.order.push(n);
        state.unanswered.push({ n, socket });
        state.peak = Math.max(state.peak, state.unanswered.length);
      });
      socket.on('error', () => {});
    });
    const port = await listen(server);
    return {
      port,
      state,
      /** Answers the oldest held scan. */
      answerOldest() {
        const next = state.unanswered.shift();
        assert.ok(next, 'no scan to answer');
        next.socket.end('stream: OK\0');
      },
      close() {
        for (const u of state.unanswered) u.socket.destroy();
        server.close();
      },
    };
  }

  test('N at once, the others wait and go in order of arrival; all finish', async () => {
    const fake = await holdingServer();
    const N = 2;
    const k = 3;
    const client = new ClamdClient({ host: '127.0.0.1', port: fake.port, maxConcurrentScans: N });
    try {
      const scans = Array.from({ length: N + k }, (_, n) => client.scanStream(() => of(Buffer.from(`scan-${n};`))));
      await waitFor(() => fake.state.unanswered.length === N && client.turns.waiting === k, {
        describe: () =>
          `${N} scans held and ${k} waiting (held ${fake.state.unanswered.length}, waiting ${client.turns.waiting})`,
      });
      assert.deepEqual(new Set(fake.state.order), new Set([0, 1]));
      // One answer lets exactly the longest waiter in.
      for (let next = N; next < N + k; next++) {
        fake.answerOldest();
        await waitFor(() => fake.state.order.length === next + 1, { describe: `scan ${next} to arrive` });
        assert.equal(fake.state.order[next], next);
        assert.equal(client.turns.waiting, N + k - next - 1);
      }
      while (fake.state.unanswered.length > 0) fake.answerOldest();
      assert.deepEqual(await Promise.all(scans), Array(N + k).fill({ verdict: 'clean' }));
      assert.equal(fake.state.peak, N);
      assert.equal(client.turns.active, 0);
    } finally {
      fake.close();
    }
  });

  test('a scan that waits longer than maxQueueWait is an error; the running one is unaffected', async () => {
    const fake = await holdingServer();
    const client = new ClamdClient({ host: '127.0.0.1', port: fake.port, maxConcurrentScans: 1, maxQueueWait: 200 });
    try {
      const first = client.scanStream(() => of(Buffer.from('scan-0;')));
      await waitFor(() => fake.state.unanswered.length === 1, { describe: 'scan 0 to arrive' });
      let opened = false;
      const second = await client.scanStream(() => {
        opened = true;
        return of(Buffer.from('scan-1;'));
      });
      assert.deepEqual(second, {
        verdict: 'error',
        reason: `no turn to scan within 200 ms (at most 1 at once): clamd at 127.0.0.1:${fake.port} is slow or stuck`,
      });
      assert.equal(opened, false);
      assert.equal(client.turns.waiting, 0);
      fake.answerOldest();
      assert.deepEqual(await first, { verdict: 'clean' });
      assert.deepEqual(fake.state.order, [0]);
      assert.equal(client.turns.active, 0);
    } finally {
      fake.close();
    }
  });
});
