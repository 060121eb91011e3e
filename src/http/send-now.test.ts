import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { constants } from 'node:os';
import { ensureNative } from '../../scripts/build/native.ts';
import { loadSendfile, type SendfileAddon } from '../native/sendfile.ts';
import { rawExchange } from '../../test/support/raw-http.ts';
import { sendNow } from './send-now.ts';

/**
 * sendNow on a real Node HTTP server over loopback: what a client receives must be exactly what
 * Node's own res.end(body) would have sent, whatever part of it the direct write got out.
 */

let real: SendfileAddon;
/** What the addon's sendNow returned, and the head+body length it was asked for, per call. */
const calls: { sent: number; asked: number }[] = [];
let spy: SendfileAddon;

before(() => {
  ensureNative();
  const got = loadSendfile();
  assert.ok(got.addon, got.addon ? '' : got.reason);
  real = got.addon;
  spy = Object.create(real) as SendfileAddon;
  (spy as { sendNow: SendfileAddon['sendNow'] }).sendNow = (fd, head, body, offset, length) => {
    const sent = real.sendNow!(fd, head, body, offset, length);
    calls.push({ sent, asked: head.length + length });
    return sent;
  };
});

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

/** A server answering every request with `body` (HEAD: its length only) through sendNow. */
async function serveBody(body: Buffer, addon: SendfileAddon | undefined, results: boolean[] = []): Promise<number> {
  const server = createServer((req, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });
    results.push(sendNow(addon, res, req.method === 'HEAD' ? undefined : body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const withoutDate = (head: string): string => head.replace(/\r\nDate: [^\r]*/, '');

test('pipelined keep-alive requests: every response whole and in order, the same bytes as without the addon', async () => {
  const body = randomBytes(64 * 1024);
  const direct = await serveBody(body, spy);
  const viaNode = await serveBody(body, undefined);
  const requests = get('/1') + `HEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n` + get('/3');
  calls.length = 0;
  const a = await rawExchange(direct, requests, 3, { bodiless: [1] });
  const b = await rawExchange(viaNode, requests, 3, { bodiless: [1] });
  assert.ok(calls.length >= 1, 'the direct path was taken');
  assert.equal(a.closed, false);
  for (const [i, r] of a.responses.entries()) {
    assert.equal(r.status, 200);
    assert.equal(withoutDate(r.head), withoutDate(b.responses[i]!.head));
    assert.ok(r.body.equals(b.responses[i]!.body));
  }
  assert.ok(a.responses[0]!.body.equals(body));
  assert.equal(a.responses[1]!.headers['content-length'], String(body.length));
  assert.ok(a.responses[2]!.body.equals(body));
});

test('keep-alive requests one after another: each answer, HEAD included, leaves through the addon whole', async () => {
  const body = randomBytes(64 * 1024);
  const port = await serveBody(body, spy);
  calls.length = 0;
  const { responses, closed } = await rawExchange(
    port,
    [get('/1'), `HEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n`, get('/3')],
    3,
    { bodiless: [1] },
  );
  assert.equal(calls.length, 3);
  for (const c of calls) assert.equal(c.sent, c.asked);
  assert.equal(closed, false);
  assert.ok(responses[0]!.body.equals(body));
  assert.equal(responses[1]!.body.length, 0);
  assert.ok(responses[2]!.body.equals(body));
});

test('whatever part the socket takes, head cut anywhere included, Node completes the same bytes', async () => {
  const body = randomBytes(10_000);
  const reference = await rawExchange(
    await serveBody(body, undefined),
    [get('/r'), `HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n`],
    2,
    { bodiless: [1] },
  );
  // How much of head + body the fake lets through, given the head's length.
  const cuts: ((head: number) => number)[] = [
    () => 0,
    () => 1,
    (h) => h - 1,
    (h) => h,
    (h) => h + 1,
    (h) => h + body.length - 1,
  ];
  for (const cut of cuts) {
    let cutAt = -1;
    const short = Object.create(real) as SendfileAddon;
    (short as { sendNow: SendfileAddon['sendNow'] }).sendNow = (fd, head, bytes, offset, length) => {
      const take = Math.min(cut(head.length), head.length + length);
      cutAt = take;
      return take <= head.length
        ? real.sendNow!(fd, head.slice(0, take), bytes, offset, 0)
        : real.sendNow!(fd, head, bytes, offset, take - head.length);
    };
    const port = await serveBody(body, short);
    const got = await rawExchange(port, [get('/r'), `HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n`], 2, { bodiless: [1] });
    assert.ok(cutAt >= 0, 'the fake addon was used');
    for (const [i, r] of got.responses.entries()) {
      assert.equal(withoutDate(r.head), withoutDate(reference.responses[i]!.head), `cut at ${cutAt}`);
      assert.ok(r.body.equals(reference.responses[i]!.body), `cut at ${cutAt}`);
    }
    assert.equal(got.closed, false);
  }
});

test('bytes already queued on the socket in Node go first: no direct write overtakes them', async () => {
  calls.length = 0;
  const server = createServer((req, res) => {
    // Something of this connection's still waits in Node's write queue (here: corked).
    req.socket.cork();
    req.socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    res.writeHead(200, { 'Content-Length': '5' });
    sendNow(spy, res, Buffer.from('hello'));
    req.socket.uncork();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { responses } = await rawExchange((server.address() as { port: number }).port, get('/x'), 2);
  assert.deepEqual(
    responses.map((r) => [r.status, r.body.toString()]),
    [
      [204, ''],
      [200, 'hello'],
    ],
  );
  assert.equal(calls.length, 0);
});

test('a client that does not read: the socket takes part, Node sends the rest, the connection stays usable', async () => {
  const body = randomBytes(4 * 1024 * 1024); // more than a loopback socket takes at once
  const results: boolean[] = [];
  const port = await serveBody(body, spy, results);
  calls.length = 0;
  const { responses, closed } = await rawExchange(port, get('/big') + get('/again'), 2, {
    readAfterMs: 200,
    timeoutMs: 30_000,
  });
  const first = calls[0];
  assert.ok(
    first !== undefined && first.sent >= 0 && first.sent < first.asked,
    `a partial direct send expected: ${JSON.stringify(calls)}`,
  );
  assert.deepEqual(results, [true, true]);
  assert.equal(closed, false);
  for (const r of responses) {
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(body), 'body intact');
  }
});

test('a client that reset the connection before the answer: false, and the response is destroyed', async () => {
  let proceed: () => void = () => {};
  let seen: () => void = () => {};
  const requestSeen = new Promise<void>((resolve) => (seen = resolve));
  const outcome = new Promise<{ ok: boolean; destroyed: boolean }>((resolve) => {
    const server = createServer((req, res) => {
      // Node must not read the reset first (it would destroy the socket, and sendNow would not
      // try): stop reading, as when the request is being handled and nothing else arrives.
      (req.socket as unknown as { _handle: { readStop(): void } })._handle.readStop();
      proceed = () => {
        res.writeHead(200, { 'Content-Length': '5' });
        const ok = sendNow(spy, res, Buffer.from('hello'));
        resolve({ ok, destroyed: res.destroyed });
      };
      seen();
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
  });
  const server = servers[servers.length - 1]!;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', resolve)));
  calls.length = 0;
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  client.on('error', () => {});
  client.write(get('/gone'));
  await requestSeen;
  client.resetAndDestroy();
  await new Promise((resolve) => client.once('close', resolve));
  proceed();
  assert.deepEqual(await outcome, { ok: false, destroyed: true });
  assert.ok([-constants.errno.EPIPE, -constants.errno.ECONNRESET].includes(calls[0]!.sent), `got ${calls[0]?.sent}`);
});
