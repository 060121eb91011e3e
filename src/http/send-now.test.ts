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

test('a client that does not read: the socket takes part, Node sends the rest, the connection stays usable', async () => {
  const body = randomBytes(4 * 1024 * 1024); // more than a loopback socket takes at once
  const results: boolean[] = [];
  const port = await serveBody(body, spy, results);
  calls.length = 0;
  const { responses, closed } = await rawExchange(port, get('/big') + get('/again'), 2, { readAfterMs: 200, timeoutMs: 30_000 });
  const first = calls[0];
  assert.ok(first !== undefined && first.sent >= 0 && first.sent < first.asked, `a partial direct send expected: ${JSON.stringify(calls)}`);
  assert.deepEqual(results, [true, true]);
  assert.equal(closed, false);
  for (const r of responses) {
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(body), 'body intact');
  }
});

test('a socket that can no longer be written: false, and the response is destroyed', async () => {
  let settle: (r: { ok: boolean; destroyed: boolean }) => void = () => {};
  const outcome = new Promise<{ ok: boolean; destroyed: boolean }>((resolve) => (settle = resolve));
  const server = createServer((req, res) => {
    // Our side shut down for writing (as after a reset, but deterministic): sendmsg gets EPIPE.
    req.socket.end(() => {
      res.writeHead(200, { 'Content-Length': '5' });
      const ok = sendNow(spy, res, Buffer.from('hello'));
      settle({ ok, destroyed: res.destroyed });
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  calls.length = 0;
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  client.on('error', () => {});
  client.resume();
  client.write(get('/gone'));
  try {
    assert.deepEqual(await outcome, { ok: false, destroyed: true });
    assert.equal(calls[0]?.sent, -constants.errno.EPIPE);
  } finally {
    client.destroy();
  }
});
