import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { readdir } from 'node:fs/promises';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKit, type Kit } from '../../test/support/http-kit.ts';
import { rawPut } from '../../test/support/raw-http.ts';
import { waitFor } from '../../scripts/testservers/processes.ts';
import { sharedSlotClaims } from '../lock/slot-claims.ts';
import { fsLockSpace } from '../lock/fs.ts';

/**
 * The upload limits of the PUT path over real HTTP with a real fs store: one upload per slot at a
 * time (409 before any byte is stored or any 100 Continue), a retry after an abort, and the idle
 * cut-off (408, connection closed, nothing left).
 */

/** A PUT of `slot` on a raw socket: the head now, body bytes when the test says; the answer as it comes. */
const openPut = (kit: Kit, slot: { path: string; token: string; size: number }, extra: Record<string, string> = {}) =>
  rawPut(`${kit.origin}${slot.path}?t=${slot.token}`, extra, slot.size);

const tmpFiles = async (kit: Kit) => readdir(join(kit.dir, 'tmp'));

/** Polls until `check` holds, for at most 4 s. */
const eventually = async (check: () => Promise<boolean> | boolean, what: string): Promise<void> => {
  await waitFor(check, { timeoutMs: 4_000, intervalMs: 20, describe: what });
};

describe('one upload per slot at a time', () => {
  let kit: Kit;
  const failures: string[] = [];
  before(async () => {
    kit = await startKit({ hooks: { onUploadFailed: (e) => failures.push(`${e.id} ${e.status}`) } });
  });
  after(() => kit.stop());

  test('a second PUT of a running slot is 409 at once (no 100 Continue, no byte stored); the first completes', async () => {
    const s = kit.slot({ size: 1000 });
    const first = openPut(kit, s);
    first.send(Buffer.alloc(10, 1));
    await eventually(async () => (await tmpFiles(kit)).length === 1, 'the first upload is receiving');

    const second = openPut(kit, s, { Expect: '100-continue' });
    const refused = await second.answer;
    assert.equal(refused.status, 409);
    assert.equal(refused.body.trim(), 'upload in progress');
    assert.deepEqual(second.interim, [], 'no 100 Continue before the refusal');
    const third = openPut(kit, s);
    third.send(Buffer.alloc(s.size, 2)); // the whole body: none of it may be stored
    assert.equal((await third.answer).status, 409);
    assert.equal((await tmpFiles(kit)).length, 1, 'still only the first upload has a temp file');
    // GET and HEAD see nothing of an upload in progress, and do not disturb it.
    assert.equal((await fetch(s.get)).status, 404);
    assert.equal((await fetch(s.get, { method: 'HEAD' })).status, 404);

    first.send(Buffer.alloc(s.size - 10, 1));
    const done = await first.answer;
    assert.equal(done.status, 201);
    const got = Buffer.from(await (await fetch(s.get)).arrayBuffer());
    assert.equal(got.length, s.size);
    assert.equal(
      got.subarray(10).every((b) => b === 1),
      true,
      "the stored bytes are the first upload's",
    );
    // After the upload: the existing "already uploaded" answer.
    const late = openPut(kit, s);
    late.send(Buffer.alloc(s.size));
    const r = await late.answer;
    assert.equal(r.status, 409);
    assert.equal(r.body.trim(), 'already uploaded');
    for (const p of [first, second, third, late]) p.socket.destroy();
  });

  test('Expect with 100-continue among other values still gets 100 Continue (what Node takes for it)', async () => {
    const s = kit.slot({ size: 5 });
    const put = openPut(kit, s, { Expect: '100-Continue, x-later' });
    await eventually(() => put.interim.length > 0 || false, 'an interim answer');
    assert.deepEqual(put.interim, ['HTTP/1.1 100 Continue']);
    put.send('hello');
    assert.equal((await put.answer).status, 201);
    put.socket.destroy();
  });

  test('a PUT right after an aborted one takes the slot and the file reads back whole', async () => {
    const s = kit.slot({ size: 200_000 });
    const first = openPut(kit, s);
    first.send(Buffer.alloc(50_000, 7));
    await eventually(async () => (await tmpFiles(kit)).length === 1, 'the first upload is receiving');
    first.socket.destroy();

    const retry = openPut(kit, s);
    const body = Buffer.alloc(s.size);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    retry.send(body);
    const r = await retry.answer;
    assert.equal(r.status, 201, r.body);
    assert.deepEqual(Buffer.from(await (await fetch(s.get)).arrayBuffer()), body);
    await eventually(async () => (await tmpFiles(kit)).length === 0, 'no temp file left');
    await eventually(() => failures.includes(`${s.id} 499`), 'the aborted upload was recorded');
    retry.socket.destroy();
  });

  test("a retry while the first PUT's connection is silently dead: 409 at first; once the first has had no byte for 5 s the retry takes over", async (t) => {
    // The watch's clock (performance.now) jumps ahead instead of the test waiting.
    let offset = 0;
    const realNow = performance.now.bind(performance);
    t.mock.method(performance, 'now', () => realNow() + offset);
    const s = kit.slot({ size: 1000 });
    const first = openPut(kit, s); // its network path dies: it neither sends nor closes
    first.send(Buffer.alloc(100, 1));
    await eventually(async () => (await tmpFiles(kit)).length === 1, 'the first upload is receiving');
    const early = openPut(kit, s);
    early.send(Buffer.alloc(s.size, 2));
    assert.equal((await early.answer).body.trim(), 'upload in progress', 'an upload still receiving keeps its slot');

    offset += 5_000;
    const retry = openPut(kit, s);
    const body = Buffer.alloc(s.size);
    for (let i = 0; i < body.length; i++) body[i] = i % 253;
    retry.send(body);
    const r = await retry.answer;
    assert.equal(r.status, 201, r.body);
    assert.deepEqual(Buffer.from(await (await fetch(s.get)).arrayBuffer()), body);
    const old = await first.answer;
    assert.equal(old.status, 409);
    assert.equal(old.body.trim(), 'a newer upload of this slot took over');
    await eventually(async () => (await tmpFiles(kit)).length === 0, 'no temp file left');
    assert.ok(failures.includes(`${s.id} 409`));
    for (const p of [first, early, retry]) p.socket.destroy();
  });

  test("20 retries at once of a stalled upload: exactly one takes over, the stored file is whole and one retry's own", async (t) => {
    let offset = 0;
    const realNow = performance.now.bind(performance);
    t.mock.method(performance, 'now', () => realNow() + offset);
    const s = kit.slot({ size: 100_000 });
    const first = openPut(kit, s);
    first.send(Buffer.alloc(1000, 0));
    await eventually(async () => (await tmpFiles(kit)).length === 1, 'the first upload is receiving');
    offset += 5_000;
    const retries = Array.from({ length: 20 }, (_, i) => {
      const p = openPut(kit, s);
      p.send(Buffer.alloc(s.size, i + 1));
      return p;
    });
    let most = 0;
    const answers = await Promise.all(
      retries.map(async (p) => {
        const a = await p.answer;
        most = Math.max(most, (await tmpFiles(kit)).length);
        return a;
      }),
    );
    const won = answers.filter((a) => a.status === 201);
    assert.equal(won.length, 1, answers.map((a) => `${a.status} ${a.body.trim()}`).join(', '));
    assert.ok(answers.every((a) => a.status === 201 || a.status === 409));
    assert.ok(most <= 1, `at most one temp file at a time (seen ${most})`);
    const got = Buffer.from(await (await fetch(s.get)).arrayBuffer());
    assert.equal(got.length, s.size);
    assert.ok(got.every((b) => b === got[0]) && got[0] !== 0, "one retry's bytes, whole");
    assert.equal((await first.answer).status, 409);
    for (const p of [first, ...retries]) p.socket.destroy();
  });

  test('a PUT after a failed one (body too short, then closed) may upload again', async () => {
    const s = kit.slot({ size: 10 });
    const first = openPut(kit, s, { 'Content-Type': 'application/octet-stream' });
    first.send('12345');
    first.socket.end();
    await first.answer;
    await eventually(async () => (await tmpFiles(kit)).length === 0, 'the failed upload left nothing');
    const retry = openPut(kit, s);
    retry.send('0123456789');
    assert.equal((await retry.answer).status, 201);
    retry.socket.destroy();
  });
});

describe('uploads end', () => {
  let kit: Kit;
  const failures: string[] = [];
  before(async () => {
    // The smallest idle timeout the catalogue allows: a stalled body is cut after 1 s.
    kit = await startKit({
      settings: { idleTimeout: 1_000 },
      hooks: { onUploadFailed: (e) => failures.push(`${e.id} ${e.status}`) },
    });
  });
  after(() => kit.stop());

  test('a body that stalls for idleTimeout: 408 with Connection: close, no temp file, recorded', async () => {
    const s = kit.slot({ size: 1000 });
    const put = openPut(kit, s);
    put.send(Buffer.alloc(100, 1));
    const r = await put.answer;
    assert.equal(r.status, 408);
    assert.match(r.body, /no data received for 1 s/);
    assert.equal(r.headers.connection, 'close');
    assert.equal(r.closed, true);
    await eventually(async () => (await tmpFiles(kit)).length === 0, 'the temp file is removed');
    assert.ok(failures.includes(`${s.id} 408`));
    const line = kit.logs.find((l) => l.id === s.id && l.status === 408);
    assert.ok(line, 'logged');
    // And the slot is usable again.
    const retry = openPut(kit, s);
    retry.send(Buffer.alloc(s.size, 3));
    assert.equal((await retry.answer).status, 201);
    retry.socket.destroy();
  });

  test('a large fast body (handed over to splice(2)) that then stalls: 408 as well, nothing left', async () => {
    const MiB = 1024 * 1024;
    const s = kit.slot({ size: 24 * MiB });
    const put = openPut(kit, s);
    for (let i = 0; i < 12; i++) put.send(Buffer.alloc(MiB, i));
    const r = await put.answer;
    assert.equal(r.status, 408, r.body);
    assert.equal(r.closed, true);
    await eventually(async () => (await tmpFiles(kit)).length === 0, 'the temp file is removed');
    assert.ok(failures.includes(`${s.id} 408`));
  });

  test('a fast client on a busy server (the store stops reading for longer than idleTimeout) is not cut off as idle', async (t) => {
    // The real store behind a pause after the first chunk, as a stalled disk makes it.
    const write = kit.store.write.bind(kit.store);
    t.mock.method(
      kit.store,
      'write',
      (meta: Parameters<typeof write>[0], body: AsyncIterable<Uint8Array>, options: Parameters<typeof write>[2]) =>
        write(
          meta,
          (async function* () {
            let first = true;
            for await (const chunk of body) {
              yield chunk;
              if (first) await sleep(2_500);
              first = false;
            }
          })(),
          options,
        ),
    );
    const s = kit.slot({ size: 1000 });
    const put = openPut(kit, s);
    put.send(Buffer.alloc(500, 1));
    await sleep(100);
    put.send(Buffer.alloc(500, 2)); // all sent: it waits in the socket while the store is busy
    const r = await put.answer;
    assert.equal(r.status, 201, r.body);
    const got = Buffer.from(await (await fetch(s.get)).arrayBuffer());
    assert.equal(got.length, 1000);
    put.socket.destroy();
  });

  test('a chunked body complete but never ended (trailer bytes trickling): 408 after idleTimeout, the slot free again', async () => {
    const s = kit.slot({ size: 10 });
    const put = openPut(kit, s, { 'Transfer-Encoding': 'chunked' });
    put.send('a\r\n0123456789\r\n0\r\nX-Slow: ');
    // A trailer byte every 300 ms: never idle for the socket, never more body for the upload.
    let answered = false;
    void put.answer.then(() => (answered = true));
    for (let i = 0; i < 20 && !answered; i++) {
      await sleep(300);
      put.send('a');
    }
    const r = await put.answer;
    assert.equal(r.status, 408, r.body);
    assert.match(r.body, /no data received for 1 s/);
    await eventually(async () => (await tmpFiles(kit)).length === 0, 'the temp file is removed');
    const retry = openPut(kit, s);
    retry.send('0123456789');
    assert.equal((await retry.answer).status, 201);
    retry.socket.destroy();
  });

  test('an upload that never idles but runs past its deadline (max(60 s, size ÷ minUploadRate)): 408', async (t) => {
    // The deadline's clock (performance.now) jumps ahead instead of the test waiting a minute.
    let offset = 0;
    const realNow = performance.now.bind(performance);
    t.mock.method(performance, 'now', () => realNow() + offset);
    const s = kit.slot({ size: 1000 }); // 1000 B at 4 KiB/s: the 60 s floor
    const put = openPut(kit, s);
    let sent = 0;
    for (let i = 0; i < 20 && !(await Promise.race([put.answer.then(() => true), sleep(300).then(() => false)])); i++) {
      put.send('x');
      sent++;
      if (sent === 2) offset += 61_000;
    }
    const r = await put.answer;
    assert.equal(r.status, 408, r.body);
    assert.match(r.body, /upload too slow: not complete within 60 s/);
    assert.equal(r.headers.connection, 'close');
    await eventually(async () => (await tmpFiles(kit)).length === 0, 'the temp file is removed');
    assert.ok(failures.includes(`${s.id} 408`));
  });

  test('bytes that keep coming are not idle; a reload of idleTimeout applies to the next upload', async () => {
    const s = kit.slot({ size: 6 });
    const put = openPut(kit, s);
    // Six bytes, one every 400 ms: 2.4 s in all, never 1 s without one.
    for (let i = 0; i < 6; i++) {
      await sleep(400);
      put.send('x');
    }
    assert.equal((await put.answer).status, 201);
    put.socket.destroy();

    kit.settings.idleTimeout = 3_000; // what a SIGHUP does to the live settings
    try {
      const s2 = kit.slot({ size: 2 });
      const slow = openPut(kit, s2);
      await sleep(1_500); // past the old limit, within the new one
      slow.send('ok');
      assert.equal((await slow.answer).status, 201);
      slow.socket.destroy();
    } finally {
      kit.settings.idleTimeout = 1_000;
    }
  });
});

describe('a cluster claim lost mid-upload', () => {
  let kit: Kit;
  const claimsDir = mkdtempSync(join(tmpdir(), 'fileupload-claims-'));
  const failures: string[] = [];
  before(async () => {
    // A short lease: the claim is renewed (and checked) every 100 ms.
    kit = await startKit({
      claims: sharedSlotClaims(fsLockSpace(claimsDir), { lease: 400 }),
      hooks: { onUploadFailed: (e) => failures.push(`${e.id} ${e.status}`) },
    });
  });
  after(async () => {
    await kit.stop();
    rmSync(claimsDir, { recursive: true, force: true });
  });

  test('published, aborted and timed-out uploads leave no claim file (nor a breaker) behind', async () => {
    const claims = (): string[] => readdirSync(join(claimsDir, 'claims'));
    const ok = kit.slot({ size: 10 });
    const put = openPut(kit, ok);
    put.send('0123456789');
    assert.equal((await put.answer).status, 201);
    await eventually(() => claims().length === 0, "the published upload's claim is gone"); // released just after the 201

    const aborted = kit.slot({ size: 1000 });
    const gone = openPut(kit, aborted);
    gone.send(Buffer.alloc(10));
    await eventually(() => claims().length === 1, 'the claim is taken');
    gone.socket.destroy();
    await eventually(() => claims().length === 0, "the aborted upload's claim is gone");

    kit.settings.idleTimeout = 1_000;
    try {
      const slow = openPut(kit, kit.slot({ size: 1000 }));
      slow.send(Buffer.alloc(10));
      assert.equal((await slow.answer).status, 408);
      assert.deepEqual(claims(), []);
      slow.socket.destroy();
    } finally {
      kit.settings.idleTimeout = 60_000;
    }
    put.socket.destroy();
  });

  test('a retry that takes over a stalled upload gets the shared claim too (given back before the local slot)', async (t) => {
    let offset = 0;
    const realNow = performance.now.bind(performance);
    t.mock.method(performance, 'now', () => realNow() + offset);
    const s = kit.slot({ size: 1000 });
    const first = openPut(kit, s);
    first.send(Buffer.alloc(100, 1));
    await eventually(async () => (await tmpFiles(kit)).length === 1, 'the first upload is receiving');
    offset += 5_000;
    const retry = openPut(kit, s);
    retry.send(Buffer.alloc(s.size, 2));
    const r = await retry.answer;
    assert.equal(r.status, 201, r.body);
    assert.equal((await first.answer).status, 409);
    await eventually(() => readdirSync(join(claimsDir, 'claims')).length === 0, 'no claim left');
    for (const p of [first, retry]) p.socket.destroy();
  });

  test("the upload stops with 503 and removes its temp file; the new holder's claim is left alone", async () => {
    const s = kit.slot({ size: 1000 });
    const put = openPut(kit, s);
    put.send(Buffer.alloc(10, 1));
    await eventually(async () => (await tmpFiles(kit)).length === 1, 'the upload is receiving');
    const claimFile = join(claimsDir, 'claims', `${s.id}.claim`);
    assert.ok(existsSync(claimFile), 'the claim is in the shared folder');
    // What a takeover by another node looks like after this node was paused past the lease.
    const other = {
      host: 'other',
      machine: 'another-machine',
      pid: 1,
      command: 'upload',
      started: Date.now(),
      heartbeat: Date.now(),
      token: 'other-node',
    };
    writeFileSync(claimFile, JSON.stringify(other).padEnd(1024));
    const r = await put.answer;
    assert.equal(r.status, 503, r.body);
    assert.equal(r.body.trim(), 'upload lost its slot claim, try again');
    assert.equal(r.headers['retry-after'], '5');
    await eventually(async () => (await tmpFiles(kit)).length === 0, 'the temp file is removed');
    assert.ok(failures.includes(`${s.id} 503`));
    assert.match(readFileSync(claimFile, 'utf8'), /other-node/, "the other node's claim is not released by this one");
    put.socket.destroy();
  });
});

describe('per-request cost on a keep-alive connection', () => {
  let kit: Kit;
  before(async () => {
    kit = await startKit();
  });
  after(() => kit.stop());

  // A refusal of an Expect: 100-continue PUT closes its connection by design (the body may or
  // may not follow): it is not part of this keep-alive run.
  test('hundreds of PUTs (published, refused, chunked) leave no listener on the connection and no slot held', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<Socket>();
    const onConnection = (s: Socket): void => void sockets.add(s);
    kit.server.server.on('connection', onConnection);
    const put = (target: string, body: string, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(new URL(target, kit.origin), { method: 'PUT', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    const listeners = (): string =>
      [...sockets]
        .map((s) =>
          s
            .eventNames()
            .map((e) => `${String(e)}:${s.listenerCount(e)}`)
            .sort()
            .join(' '),
        )
        .join(' | ');
    const round = async (): Promise<string> => {
      const s = kit.slot({ size: 5 });
      const target = new URL(s.put).pathname + new URL(s.put).search;
      const statuses = [
        await put(target, 'hello', { 'Content-Length': '5' }),
        await put(target, 'hello', { 'Content-Length': '5' }),
        await put(new URL(s.put).pathname + '?t=forged', 'hello', { 'Content-Length': '5' }),
        await put(target, 'hello!', { 'Content-Length': '6' }),
      ];
      const c = kit.slot({ size: 5 });
      statuses.push(
        await put(new URL(c.put).pathname + new URL(c.put).search, 'hello', { 'Transfer-Encoding': 'chunked' }),
      );
      return statuses.join(' ');
    };
    try {
      assert.equal(await round(), '201 409 403 413 201');
      const early = listeners();
      for (let i = 0; i < 100; i++) await round();
      assert.equal(sockets.size, 1, 'one connection served them all');
      assert.equal(listeners(), early, 'no listener added per request');
      assert.equal(kit.app.gate.activeUploads, 0);
      assert.equal(kit.app.gate.activeRequests, 0);
    } finally {
      kit.server.server.off('connection', onConnection);
      agent.destroy();
    }
  });
});
