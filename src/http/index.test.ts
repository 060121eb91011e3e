import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, writeFile, symlink, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startKit, rawRequest, type Kit } from '../../test/support/http-kit.ts';
import { signSlot } from '../slots/sign.ts';
import { encodeHeader } from '../storage/fs/format.ts';
import { newSlotId } from '../slots/id.ts';

/**
 * The endpoint over real HTTP on 127.0.0.1 with a real fs store: every status of the PUT, GET,
 * HEAD and OPTIONS contract, the safe headers, CORS, and path-traversal attempts.
 */

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const SAFE = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'cross-origin',
};

function assertSafe(headers: Headers | Record<string, string>, what: string): void {
  const get = (k: string) => (headers instanceof Headers ? headers.get(k) : headers[k]);
  for (const [k, v] of Object.entries(SAFE)) assert.equal(get(k), v, `${what}: ${k}`);
}

async function put(url: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'PUT', body, headers });
}

/**
 * PUT with node:http so chunked bodies and aborts can be controlled; with `expect`, the body
 * waits for 100 Continue; with `pauseMs`, the client pauses that long after each chunk.
 */
function nodePut(
  url: string,
  options: {
    headers?: Record<string, string>;
    chunks: Uint8Array[];
    abortAfter?: number;
    expect?: boolean;
    pauseMs?: number;
  },
): Promise<
  { status: number; body: string; headers: Record<string, string | string[] | undefined> } | { error: string }
> {
  return new Promise((resolve) => {
    const headers = { ...options.headers, ...(options.expect ? { expect: '100-continue' } : {}) };
    const req = request(url, { method: 'PUT', headers });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', (e) => resolve({ error: e.message }));
    let i = 0;
    const next = (): void => {
      if (options.abortAfter !== undefined && i === options.abortAfter) {
        setTimeout(() => req.destroy(), 50);
        return;
      }
      const chunk = options.chunks[i++];
      if (!chunk) {
        req.end();
        return;
      }
      const go = options.pauseMs ? () => setTimeout(next, options.pauseMs) : next;
      if (req.write(chunk)) setImmediate(go);
      else req.once('drain', go);
    };
    if (options.expect) req.once('continue', next);
    else next();
  });
}

/** Polls (bounded) until `check` holds; for effects that complete after the response. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`not reached: ${what}`);
}

const tmpEmpty = (kit: Kit) => async () => (await readdir(join(kit.dir, 'tmp'))).length === 0;

describe('PUT', () => {
  let kit: Kit;
  const clock = { now: Date.now() };
  const events: string[] = [];
  const progress = new Map<string, number>();
  before(async () => {
    kit = await startKit({
      settings: { maxFileSize: 4 * 1024 * 1024 },
      now: () => clock.now,
      hooks: {
        onUploadStarted: (e) => events.push(`started ${e.id}`),
        onUploadFinished: (e) => events.push(`finished ${e.meta.id}`),
        onUploadFailed: (e) => events.push(`failed ${e.id} ${e.status}`),
        onUploadProgress: (e) => progress.set(e.id, e.received),
      },
    });
  });
  after(() => kit.stop());

  test('201 with Location (the announced GET URL); the bytes come back identical', async () => {
    const data = randomBytes(1024 * 1024);
    const s = kit.slot({ size: data.length, filename: 'Grüße 1.bin', contentType: 'application/octet-stream' });
    const res = await put(s.put, data, { 'content-type': 'application/octet-stream' });
    assert.equal(res.status, 201);
    assert.equal(
      res.headers.get('location'),
      `https://upload.example.org:7443/httpfileupload/${s.id}/Gr%C3%BC%C3%9Fe%201.bin`,
    );
    assertSafe(res.headers, '201');
    const got = await fetch(s.get);
    assert.equal(got.status, 200);
    assert.equal(sha(new Uint8Array(await got.arrayBuffer())), sha(data));
    assert.ok(events.includes(`started ${s.id}`) && events.includes(`finished ${s.id}`), 'hooks saw it');
    assert.equal(progress.get(s.id), data.length, 'progress reached the size');
    assert.ok(await tmpEmpty(kit)());
  });

  test('the token may come as Authorization: Bearer instead of ?t=', async () => {
    const s = kit.slot({ size: 3 });
    const res = await put(s.get, 'abc', { authorization: `Bearer ${s.token}` });
    assert.equal(res.status, 201);
  });

  test('403 for a missing, forged, altered, re-targeted or expired slot', async () => {
    const s = kit.slot({ size: 3 });
    const cases: [string, string][] = [
      ['missing', s.get],
      ['garbage', `${s.get}?t=garbage`],
      ['other secret', `${s.get}?t=${signSlot('another-secret-xxxxxxxxxxxxxxxx', s)}`],
      ['bigger size', `${s.get}?t=${signSlot('another-secret-xxxxxxxxxxxxxxxx', { ...s, size: 10 })}`],
    ];
    const [payload, mac] = s.token.split('.') as [string, string];
    const fields = JSON.parse(Buffer.from(payload, 'base64url').toString());
    fields[1] = 4; // size
    cases.push(['altered payload', `${s.get}?t=${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${mac}`]);
    cases.push([
      'other filename',
      `${kit.origin}${kit.settings.announcedWebContextRoot}/${s.id}/other.bin?t=${s.token}`,
    ]);
    cases.push([
      'other id',
      `${kit.origin}${kit.settings.announcedWebContextRoot}/${newSlotId()}/file.bin?t=${s.token}`,
    ]);
    for (const [what, url] of cases) {
      const res = await put(url, 'abc');
      assert.equal(res.status, 403, what);
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8', what);
      assertSafe(res.headers, what);
    }
    const expired = kit.slot({ size: 3, expiresAt: clock.now - 1 });
    const res = await put(expired.put, 'abc');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /expired/);
    assert.equal(await kit.store.stat(s.id), undefined, 'nothing was stored');
  });

  test('403 invalid slot for any other spelling of a valid token (padding, escapes, +/, unused bits)', async () => {
    // A token whose signature has a - or _, to spell it with + or / (3 in 4 have one).
    let s = kit.slot({ size: 3 });
    for (let i = 0; i < 40 && !/[-_]/.test(s.token.split('.')[1]!); i++) s = kit.slot({ size: 3 });
    const [payload, signature] = s.token.split('.') as [string, string];
    assert.match(signature, /[-_]/);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // The last character's lowest bit is unused (32 bytes in 43 characters): this one decodes alike.
    const sibling = `${signature.slice(0, -1)}${alphabet[alphabet.indexOf(signature.at(-1)!) ^ 1]}`;
    const spellings: [string, string, Record<string, string>][] = [
      ['padding', `${s.get}?t=${s.token}=`, {}],
      ['escaped padding', `${s.get}?t=${s.token}%3D`, {}],
      ['escaped dot', `${s.get}?t=${payload}%2E${signature}`, {}],
      ['+ and / (escaped)', `${s.get}?t=${payload}.${signature.replace(/-/g, '%2B').replace(/_/g, '%2F')}`, {}],
      ['unused bits', `${s.get}?t=${payload}.${sibling}`, {}],
      ['bearer with padding', s.get, { authorization: `Bearer ${s.token}=` }],
    ];
    for (const [what, url, headers] of spellings) {
      const res = await put(url, 'abc', headers);
      assert.equal(res.status, 403, what);
      assert.equal(await res.text(), 'invalid slot\n', what);
    }
    assert.equal(await kit.store.stat(s.id), undefined, 'nothing was stored');
    assert.equal((await put(s.put, 'abc')).status, 201, 'the one spelling still works');
  });

  test('413 when Content-Length differs from the slot size, before reading the body', async () => {
    for (const declared of [9, 11]) {
      const s = kit.slot({ size: 10 });
      const body = 'x'.repeat(declared);
      const r = await rawRequest(
        kit.origin,
        `PUT ${s.path}?t=${s.token} HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\nConnection: close\r\n\r\n${body}`,
      );
      assert.equal(r.status, 413, `declared ${declared}`);
      assertSafe(r.headers, '413');
      assert.equal(await kit.store.stat(s.id), undefined);
    }
    // Headers only, body withheld: the answer must come without waiting for it.
    const s = kit.slot({ size: 10 });
    const early = await rawRequest(
      kit.origin,
      `PUT ${s.path}?t=${s.token} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n`,
      2000,
    );
    assert.equal(early.status, 413);
    assert.equal(early.headers.connection, 'close', 'the unread body is not waited for');
  });

  test('413 for a slot larger than maxFileSize (re-checked at PUT)', async () => {
    const size = 4 * 1024 * 1024 + 1;
    const s = kit.slot({ size });
    const r = await nodePut(s.put, { headers: { 'content-length': String(size) }, chunks: [Buffer.alloc(size)] });
    assert.ok('status' in r && r.status === 413, JSON.stringify(r));
  });

  test('chunked bodies are counted: exact → 201, too long → 413 cut off, too short → 413', async () => {
    const exact = kit.slot({ size: 300_000 });
    const data = randomBytes(300_000);
    const ok = await nodePut(exact.put, { chunks: [data.subarray(0, 100_000), data.subarray(100_000)] });
    assert.deepEqual('status' in ok && ok.status, 201);
    assert.equal(sha(Buffer.from(await (await fetch(exact.get)).arrayBuffer())), sha(data));

    const long = kit.slot({ size: 1024 * 1024 });
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024, 1)); // 4 MiB offered
    const tooLong = await nodePut(long.put, { chunks });
    assert.ok('status' in tooLong && tooLong.status === 413, JSON.stringify(tooLong));
    assert.equal(await kit.store.stat(long.id), undefined);

    const short = kit.slot({ size: 1000 });
    const tooShort = await nodePut(short.put, { chunks: [Buffer.alloc(999)] });
    assert.ok('status' in tooShort && tooShort.status === 413, JSON.stringify(tooShort));
    assert.equal(await kit.store.stat(short.id), undefined);
    await eventually(tmpEmpty(kit), 'no temp files after refused chunked bodies');
  });

  test('a refused body still being sent is read to its end (bounded), so the client sees the answer', async () => {
    const s = kit.slot({ size: 1000 });
    const socket = connect(Number(new URL(kit.origin).port), '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    const until = async (re: RegExp, what: string): Promise<void> => {
      for (let i = 0; i < 250 && !re.test(received); i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(received, re, what);
    };
    const chunk = (b: Buffer): Buffer =>
      Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
    socket.write(`PUT ${s.path}?t=${s.token} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    socket.write(chunk(Buffer.alloc(1001, 1)));
    await until(/^HTTP\/1\.1 413 /, 'the over-long body is refused at once');
    assert.doesNotMatch(received, /connection: close/i);
    // The client had more in flight: it can still send it, and the connection stays usable.
    socket.write(chunk(Buffer.alloc(64 * 1024, 2)));
    socket.write('0\r\n\r\n');
    socket.write(`GET ${kit.settings.announcedWebContextRoot}/${newSlotId()}/x HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(/HTTP\/1\.1 404 /, 'a next request on the same connection is answered');
    socket.destroy();
    assert.equal(await kit.store.stat(s.id), undefined);
  });

  test('415 when Content-Type differs from the slot type; case and parameters do not matter', async () => {
    const s = kit.slot({ size: 3, contentType: 'image/png' });
    const res = await put(s.put, 'abc', { 'content-type': 'image/jpeg' });
    assert.equal(res.status, 415);
    assertSafe(res.headers, '415');
    assert.equal(await kit.store.stat(s.id), undefined);
    assert.equal((await put(s.put, 'abc', { 'content-type': 'IMAGE/PNG; foo=bar' })).status, 201);
    assert.equal((await kit.store.stat(s.id))?.contentType, 'image/png', 'the slot type is stored');

    const noType = kit.slot({ size: 3, contentType: 'text/plain' });
    const r = await rawRequest(
      kit.origin,
      `PUT ${noType.path}?t=${noType.token} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`,
    );
    assert.equal(r.status, 201, 'a PUT without Content-Type is accepted');
  });

  test('a second PUT to a published slot is 409 and the first upload stays', async () => {
    const s = kit.slot({ size: 5 });
    assert.equal((await put(s.put, 'first')).status, 201);
    const again = await put(s.put, 'other');
    assert.equal(again.status, 409);
    assertSafe(again.headers, '409');
    assert.equal(await (await fetch(s.get)).text(), 'first');
  });

  test('Expect: 100-continue: refused without 100 when already uploaded, accepted with 100 otherwise', async () => {
    const s = kit.slot({ size: 5 });
    assert.equal((await put(s.put, 'first')).status, 201);
    const head = `PUT ${s.path}?t=${s.token} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const r = await rawRequest(kit.origin, head);
    assert.equal(r.status, 409);
    assert.doesNotMatch(r.raw, /100 Continue/);

    // Removed (`slots rm`): the tombstone answers before the body is sent.
    const removed = kit.slot({ size: 5 });
    await kit.store.tombstone(removed.id);
    const gone = await rawRequest(
      kit.origin,
      `PUT ${removed.path}?t=${removed.token} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(gone.status, 410);
    assert.doesNotMatch(gone.raw, /100 Continue/);
    // Its GET and HEAD say removed, not "not found" (a taken-down URL answers so too).
    for (const method of ['GET', 'HEAD']) {
      const r = await rawRequest(
        kit.origin,
        `${method} ${removed.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(r.status, 410, method);
      if (method === 'GET') assert.equal(r.body.trim(), 'removed');
    }

    const fresh = kit.slot({ size: 5 });
    const r2 = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = request(fresh.put, { method: 'PUT', headers: { 'content-length': '5', expect: '100-continue' } });
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
      });
      req.on('error', reject);
    });
    assert.deepEqual(r2, { status: 201, continued: true });
  });

  test('a client that aborts mid-body leaves nothing visible and no temp file', async () => {
    const s = kit.slot({ size: 3 * 1024 * 1024 });
    const chunks = Array.from({ length: 48 }, () => Buffer.alloc(64 * 1024, 5));
    const r = await nodePut(s.put, { headers: { 'content-length': String(s.size) }, chunks, abortAfter: 10 });
    assert.ok('error' in r, 'the client saw its own abort');
    await eventually(async () => events.includes(`failed ${s.id} 499`), 'the failure hook fired');
    await eventually(tmpEmpty(kit), 'the temp file is removed');
    assert.equal((await fetch(s.get)).status, 404);
    assert.equal(await kit.store.stat(s.id), undefined);
  });

  test('the log has one line per request, with the id and never the token', async () => {
    const s = kit.slot({ size: 2 });
    await put(s.put, 'hi');
    const lines = kit.logs.filter((l) => l.id === s.id);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.status, 201);
    assert.equal(lines[0]!.method, 'PUT');
    for (const l of kit.logs) assert.doesNotMatch(JSON.stringify(l), new RegExp(s.token.split('.')[1]!.slice(0, 20)));
  });
});

describe('PUT of a large body (handed over to splice(2) whatever its speed)', () => {
  let kit: Kit;
  const events: string[] = [];
  const progress = new Map<string, number>();
  const MiB = 1024 * 1024;
  before(async () => {
    kit = await startKit({
      settings: { maxFileSize: 64 * MiB },
      hooks: {
        onUploadFinished: (e) => events.push(`finished ${e.meta.id}`),
        onUploadFailed: (e) => events.push(`failed ${e.id} ${e.status}`),
        onUploadProgress: (e) => progress.set(e.id, e.received),
      },
    });
  });
  after(() => kit.stop());

  const pieces = (data: Buffer) =>
    Array.from({ length: Math.ceil(data.length / MiB) }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB));

  test('the bytes come back identical, every byte is counted, and the connection closes after the answer', async () => {
    const data = randomBytes(24 * MiB);
    const s = kit.slot({ size: data.length });
    const r = await nodePut(s.put, { headers: { 'content-length': String(s.size) }, chunks: pieces(data) });
    assert.ok('status' in r, 'error' in r ? r.error : '');
    assert.equal(r.status, 201, r.body);
    // Node's parser still counts the body as unread: the connection cannot carry another request.
    assert.equal(r.headers.connection, 'close', 'the body went by splice');
    assert.equal(sha(new Uint8Array(await (await fetch(s.get)).arrayBuffer())), sha(data));
    assert.equal(progress.get(s.id), data.length, 'progress reached the size');
    assert.ok(events.includes(`finished ${s.id}`));
    assert.ok(await tmpEmpty(kit)());
    // A small body stays with Node and keeps the connection.
    const small = kit.slot({ size: MiB });
    const k = await nodePut(small.put, { headers: { 'content-length': String(MiB) }, chunks: [Buffer.alloc(MiB, 7)] });
    assert.ok('status' in k && k.status === 201 && k.headers.connection !== 'close', JSON.stringify(k));
  });

  test('Expect: 100-continue: 100, then the body by splice from its first byte; the bytes come back identical', async () => {
    const data = randomBytes(24 * MiB);
    const s = kit.slot({ size: data.length });
    const r = await nodePut(s.put, {
      headers: { 'content-length': String(s.size) },
      chunks: pieces(data),
      expect: true,
    });
    assert.ok('status' in r, 'error' in r ? r.error : '');
    assert.equal(r.status, 201, r.body);
    assert.equal(r.headers.connection, 'close', 'the body went by splice');
    assert.equal(sha(new Uint8Array(await (await fetch(s.get)).arrayBuffer())), sha(data));
    assert.equal(progress.get(s.id), data.length, 'progress reached the size');
  });

  test('a slow client (pauses after every piece) goes by splice too, and every byte arrives', async () => {
    const data = randomBytes(5 * MiB);
    const s = kit.slot({ size: data.length });
    const piece = 128 * 1024;
    const chunks = Array.from({ length: data.length / piece }, (_, i) => data.subarray(i * piece, (i + 1) * piece));
    const r = await nodePut(s.put, { headers: { 'content-length': String(s.size) }, chunks, pauseMs: 25 });
    assert.ok('status' in r, 'error' in r ? r.error : '');
    assert.equal(r.status, 201, r.body);
    assert.equal(r.headers.connection, 'close', 'the body went by splice');
    assert.equal(sha(new Uint8Array(await (await fetch(s.get)).arrayBuffer())), sha(data));
    assert.equal(progress.get(s.id), data.length, 'progress reached the size');
    assert.ok(await tmpEmpty(kit)());
  });

  test('a client that aborts after the hand-over: 499, nothing visible, no temp file, the slot still usable', async () => {
    const data = randomBytes(24 * MiB);
    const s = kit.slot({ size: data.length });
    const r = await nodePut(s.put, {
      headers: { 'content-length': String(s.size) },
      chunks: pieces(data),
      abortAfter: 12,
    });
    assert.ok('error' in r, 'the client saw its own abort');
    await eventually(async () => events.includes(`failed ${s.id} 499`), 'the failure hook fired');
    await eventually(tmpEmpty(kit), 'the temp file is removed');
    assert.equal((await fetch(s.get)).status, 404);
    const again = await nodePut(s.put, { headers: { 'content-length': String(s.size) }, chunks: pieces(data) });
    assert.ok('status' in again && again.status === 201);
  });

  test('the disk fills up after the hand-over: 507, and nothing left', async (t) => {
    const holder = await mkdtemp(join(tmpdir(), 'fileupload-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', holder], { stdio: 'ignore' });
    } catch {
      await rm(holder, { recursive: true, force: true });
      t.skip('cannot mount a small tmpfs here');
      return;
    }
    const full = await startKit({ dir: holder, settings: { maxFileSize: 64 * MiB } });
    try {
      const s = full.slot({ size: 24 * MiB });
      const r = await nodePut(s.put, {
        headers: { 'content-length': String(s.size) },
        chunks: pieces(randomBytes(24 * MiB)),
      });
      // The client is still sending when the answer comes and the connection closes: it may read
      // the 507 or only see the connection reset. The server's record says 507 either way.
      if ('status' in r) assert.equal(r.status, 507, r.body);
      await eventually(async () => full.logs.some((l) => l.id === s.id && l.status === 507), 'the 507 is logged');
      await eventually(async () => (await readdir(join(holder, 'tmp'))).length === 0, 'the temp file is removed');
      assert.deepEqual(await readdir(join(holder, 'files')), []);
    } finally {
      await full.stop();
      execFileSync('umount', [holder]);
      await rm(holder, { recursive: true, force: true });
    }
  });
});

describe('PUT on a full disk', () => {
  test('507 and nothing left', async (t) => {
    const holder = await mkdtemp(join(tmpdir(), 'fileupload-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', holder], { stdio: 'ignore' });
    } catch {
      await rm(holder, { recursive: true, force: true });
      t.skip('cannot mount a small tmpfs here');
      return;
    }
    const kit = await startKit({ dir: holder });
    try {
      const s = kit.slot({ size: 1024 * 1024 });
      const res = await put(s.put, Buffer.alloc(1024 * 1024, 1));
      assert.equal(res.status, 507);
      assertSafe(res.headers, '507');
      assert.deepEqual(await readdir(join(holder, 'tmp')), []);
      assert.deepEqual(await readdir(join(holder, 'files')), []);
    } finally {
      await kit.stop();
      execFileSync('umount', [holder]);
      await rm(holder, { recursive: true, force: true });
    }
  });
});

describe('GET and HEAD', () => {
  let kit: Kit;
  const clock = { now: Date.now() };
  before(async () => {
    kit = await startKit({ now: () => clock.now });
  });
  after(() => kit.stop());

  async function upload(over: Parameters<Kit['slot']>[0], body: Buffer) {
    const s = kit.slot({ size: body.length, ...over });
    const res = await put(s.put, body, over?.contentType ? { 'content-type': over.contentType } : {});
    assert.equal(res.status, 201);
    return s;
  }

  test('200 with the stored type, length, validators, caching, safe headers and CORS', async () => {
    const s = await upload({ contentType: 'image/png', filename: 'cat.png' }, Buffer.from('png-bytes'));
    const res = await fetch(s.get);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('content-length'), '9');
    assert.equal(res.headers.get('etag'), `"${s.id}"`);
    assert.equal(res.headers.get('last-modified'), new Date((await kit.store.stat(s.id))!.storedAt).toUTCString());
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('content-disposition'), `inline; filename="cat.png"; filename*=UTF-8''cat.png`);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /ETag/);
    assertSafe(res.headers, 'GET');
    assert.equal(await res.text(), 'png-bytes');
  });

  test('active and unknown types are attachments; images, audio, video and plain text inline', async () => {
    const cases: [string, string][] = [
      ['text/html', 'attachment'],
      ['image/svg+xml', 'attachment'],
      ['application/pdf', 'attachment'],
      ['application/javascript', 'attachment'],
      ['text/plain', 'inline'],
      ['audio/ogg', 'inline'],
      ['video/mp4', 'inline'],
      ['image/jpeg', 'inline'],
    ];
    for (const [type, disposition] of cases) {
      const s = await upload({ contentType: type, filename: 'ä.x' }, Buffer.from('<svg onload=alert(1)>'));
      const res = await fetch(s.get);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(
        res.headers.get('content-disposition'),
        `${disposition}; filename="_.x"; filename*=UTF-8''%C3%A4.x`,
        type,
      );
      assertSafe(res.headers, type);
    }
  });

  test('HEAD: the same headers, Content-Length of the upload, no body', async () => {
    const s = await upload({ contentType: 'video/mp4' }, randomBytes(5000));
    const r = await rawRequest(kit.origin, `HEAD ${s.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '5000');
    assert.equal(r.headers['content-type'], 'video/mp4');
    assert.equal(r.headers.etag, `"${s.id}"`);
    assertSafe(r.headers, 'HEAD');
    assert.equal(r.body, '');
  });

  test('304 for a matching If-None-Match or a recent-enough If-Modified-Since', async () => {
    const s = await upload({}, Buffer.from('cached'));
    const etag = `"${s.id}"`;
    const a = await fetch(s.get, { headers: { 'if-none-match': etag } });
    assert.equal(a.status, 304);
    assert.equal(a.headers.get('etag'), etag);
    assertSafe(a.headers, '304');
    assert.equal(await a.text(), '');
    const lm = (await fetch(s.get)).headers.get('last-modified')!;
    assert.equal((await fetch(s.get, { headers: { 'if-modified-since': lm } })).status, 304);
    assert.equal((await fetch(s.get, { method: 'HEAD', headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(s.get, { headers: { 'if-none-match': '"other"' } })).status, 200);
    const old = new Date(Date.parse(lm) - 10_000).toUTCString();
    assert.equal((await fetch(s.get, { headers: { 'if-modified-since': old } })).status, 200);
  });

  test('Range: 206 for N- (resume), N-M and suffix; 416 with bytes */size; several ranges → 200', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 3);
    const s = await upload({}, data);
    const size = data.length;
    const resume = await fetch(s.get, { headers: { range: 'bytes=1000-' } });
    assert.equal(resume.status, 206);
    assert.equal(resume.headers.get('content-range'), `bytes 1000-${size - 1}/${size}`);
    assert.equal(resume.headers.get('content-length'), String(size - 1000));
    assert.equal(sha(Buffer.from(await resume.arrayBuffer())), sha(data.subarray(1000)));
    const mid = await fetch(s.get, { headers: { range: 'bytes=5-9' } });
    assert.equal(mid.status, 206);
    assert.deepEqual(Buffer.from(await mid.arrayBuffer()), data.subarray(5, 10));
    const suffix = await fetch(s.get, { headers: { range: 'bytes=-7' } });
    assert.equal(suffix.headers.get('content-range'), `bytes ${size - 7}-${size - 1}/${size}`);
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), data.subarray(size - 7));
    const bad = await fetch(s.get, { headers: { range: `bytes=${size}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${size}`);
    assertSafe(bad.headers, '416');
    const multi = await fetch(s.get, { headers: { range: 'bytes=0-1,5-6' } });
    assert.equal(multi.status, 200);
    assert.equal(Number(multi.headers.get('content-length')), size);
    await multi.arrayBuffer();
    const stale = await fetch(s.get, { headers: { range: 'bytes=0-1', 'if-range': '"stale"' } });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();
  });

  test('404 for an unknown id and for a filename other than the stored one', async () => {
    const s = await upload({ filename: 'right.txt' }, Buffer.from('x'));
    const unknown = await fetch(`${kit.origin}/httpfileupload/${newSlotId()}/right.txt`);
    assert.equal(unknown.status, 404);
    assertSafe(unknown.headers, '404');
    assert.equal(unknown.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal((await fetch(`${kit.origin}/httpfileupload/${s.id}/wrong.txt`)).status, 404);
    assert.equal((await fetch(`${kit.origin}/httpfileupload/${s.id}/RIGHT.txt`)).status, 404);
    assert.equal((await fetch(s.get)).status, 200);
  });

  test('an ephemeral upload is 410 from its expire-before on, never served', async () => {
    const expireBefore = clock.now + 60_000;
    const s = await upload({ purpose: 'ephemeral', expireBefore }, Buffer.from('secret'));
    const fresh = await fetch(s.get);
    assert.equal(fresh.status, 200);
    assert.match(fresh.headers.get('cache-control') ?? '', /max-age=(60|59),/);
    await fresh.text();
    const saved = clock.now;
    clock.now = expireBefore;
    try {
      const gone = await fetch(s.get);
      assert.equal(gone.status, 410);
      assert.doesNotMatch(await gone.text(), /secret/);
      assert.equal((await fetch(s.get, { method: 'HEAD' })).status, 410);
    } finally {
      clock.now = saved;
    }
  });

  test('nothing outside the repository is reachable through any spelling of a path', async () => {
    // A well-formed upload lying OUTSIDE files/, and a symlink inside files/ pointing at it.
    const outsideId = newSlotId();
    const linkId = newSlotId();
    const planted = Buffer.concat([
      encodeHeader({
        // The link's id, so only O_NOFOLLOW stands between the symlink and the planted file.
        id: linkId,
        filename: 'x',
        size: 11,
        contentType: 'text/plain',
        uploader: 'm@x',
        issuedAt: 1,
        storedAt: 1,
        purpose: 'message',
      }),
      Buffer.from('TOPSECRET!!'),
    ]);
    await writeFile(join(kit.dir, outsideId), planted);
    await writeFile(join(kit.dir, 'tmp', outsideId), planted);
    await symlink(join(kit.dir, outsideId), join(kit.dir, 'files', linkId));
    const root = '/httpfileupload';
    const targets = [
      `${root}/${linkId}/x`,
      `${root}/..%2f${outsideId}/x`,
      `${root}/..%2F${outsideId}/x`,
      `${root}/../${outsideId}/x`,
      `${root}/%2e%2e/${outsideId}/x`,
      `${root}/%2E%2E/tmp/${outsideId}`,
      `${root}/${linkId}/..%2f..%2f${outsideId}`,
      `${root}/files/../${outsideId}/x`,
      `${root}//${outsideId}/x`,
      `${root}/${outsideId}//x`,
      `//${outsideId}/x`,
      `${root}/..\\${outsideId}\\x`,
      `${root}/..%5c${outsideId}/x`,
      `${root}/${outsideId}/x`,
      `${root}/tmp/${outsideId}`,
      `/etc/passwd`,
      `${root}/../../../../../../etc/passwd`,
      `${root}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
      `${root}/AAAAAAAAAAAAAAAAAAAAAAAA/..%2f..%2f..%2f..%2fetc%2fpasswd`,
    ];
    for (const target of targets) {
      for (const method of ['GET', 'HEAD']) {
        const r = await rawRequest(kit.origin, `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        // A symlink in files/ is what a tombstone is: 410 "removed", never followed.
        const expected = target === `${root}/${linkId}/x` ? [410] : [404, 400];
        assert.ok(expected.includes(r.status), `${method} ${target} → ${r.status}`);
        assert.doesNotMatch(r.body, /TOPSECRET|root:/, target);
        assertSafe(r.headers, `${method} ${target}`);
      }
    }
  });
});

describe('CORS, OPTIONS, other methods and paths', () => {
  let kit: Kit;
  let listed: Kit;
  before(async () => {
    kit = await startKit();
    listed = await startKit({ settings: { corsOrigins: ['https://chat.example', 'https://web.example'] } });
  });
  after(async () => {
    await kit.stop();
    await listed.stop();
  });

  test('a preflight is answered 204 with origin, methods, headers and max-age', async () => {
    const s = kit.slot();
    const res = await fetch(s.put, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://chat.example',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-methods'), 'OPTIONS, HEAD, GET, PUT');
    assert.equal(res.headers.get('access-control-allow-headers'), 'Authorization, Content-Type');
    assert.ok(Number(res.headers.get('access-control-max-age')) > 0);
    assert.equal(res.headers.get('allow'), 'OPTIONS, HEAD, GET, PUT');
    assertSafe(res.headers, 'OPTIONS');
  });

  test('with an origin list: matching origins are echoed with Vary, others get no allow-origin', async () => {
    const s = listed.slot({ size: 2 });
    const ok = await fetch(s.put, {
      method: 'OPTIONS',
      headers: { origin: 'https://web.example', 'access-control-request-method': 'PUT' },
    });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://web.example');
    assert.match(ok.headers.get('vary') ?? '', /Origin/);
    const evil = await fetch(s.put, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const up = await put(s.put, 'hi', { origin: 'https://chat.example' });
    assert.equal(up.status, 201);
    assert.equal(up.headers.get('access-control-allow-origin'), 'https://chat.example');
    const down = await fetch(s.get, { headers: { origin: 'https://evil.example' } });
    assert.equal(down.headers.get('access-control-allow-origin'), null);
    assert.match(down.headers.get('vary') ?? '', /Origin/);
  });

  test('CORS headers are on uploads, downloads and errors too', async () => {
    const s = kit.slot({ size: 2 });
    const o = { origin: 'https://chat.example' };
    const created = await put(s.put, 'hi', o);
    assert.equal(created.headers.get('access-control-allow-origin'), '*');
    assert.match(created.headers.get('access-control-expose-headers') ?? '', /Location/);
    for (const res of [
      await fetch(s.get, { headers: o }),
      await fetch(s.get, { method: 'HEAD', headers: o }),
      await put(s.put, 'hi', o), // 409
      await put(s.get, 'hi', o), // 403
      await fetch(`${kit.origin}/httpfileupload/${newSlotId()}/x`, { headers: o }), // 404
      await fetch(`${kit.origin}/elsewhere`, { headers: o }),
    ]) {
      assert.equal(res.headers.get('access-control-allow-origin'), '*', `${res.status}`);
      await res.arrayBuffer();
    }
  });

  test('a target in absolute form is routed as its path: upload, download and HEAD, each answered once', async () => {
    const s = kit.slot({ size: 2 });
    const absolute = `http://upload.example.org${s.path}`;
    const put = await rawRequest(
      kit.origin,
      `PUT ${absolute}?t=${s.token} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi`,
    );
    assert.equal(put.status, 201, put.raw);
    const get = await rawRequest(kit.origin, `GET ${absolute} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(get.status, 200, get.raw);
    assert.equal(get.body, 'hi');
    // Hono answers HEAD from the GET route; the handler has written the answer itself.
    for (const target of [absolute, `http://upload.example.org/httpfileupload/${newSlotId()}/x`]) {
      const head = await rawRequest(kit.origin, `HEAD ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(head.raw.match(/^HTTP\/1\.1 /gm)?.length, 1, head.raw);
      assert.equal(head.body, '');
      assertSafe(head.headers, `HEAD ${target}`);
    }
  });

  test('other methods on an upload URL → 405 with Allow; other paths → 404; bad requests → 400', async () => {
    const s = kit.slot();
    for (const method of ['POST', 'DELETE', 'PATCH']) {
      const res = await fetch(s.get, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'OPTIONS, HEAD, GET, PUT');
      assertSafe(res.headers, method);
    }
    for (const p of ['/', '/httpfileupload', '/httpfileupload/', '/favicon.ico', `/httpfileupload/${s.id}`]) {
      const res = await fetch(`${kit.origin}${p}`);
      assert.equal(res.status, 404, p);
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
      assertSafe(res.headers, p);
    }
    const r = await rawRequest(
      kit.origin,
      `GET /httpfileupload\\..\\x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(r.status, 400);
    assertSafe(r.headers, '400');
  });
});
