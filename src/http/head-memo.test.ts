import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerOptions } from 'node:http';
import { rawExchange } from '../../test/support/raw-http.ts';
import { HeadMemo } from './head-memo.ts';

/**
 * HeadMemo on a real Node HTTP server: a reused head must be byte for byte the head Node itself
 * would write now, and never reused where Node would write a different one.
 */

const HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'image/png',
  'Content-Length': '3',
  ETag: '"abc"',
  'Cache-Control': 'public, max-age=31536000, immutable',
});

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

/**
 * A server answering 200 (or ?status=N) with HEADERS and 'png' through `memo` (reusable unless
 * ?fresh); `built` gets, per request, whether Node's writeHead built the head. With `fakeClock`
 * the memo's clock reads ?at=MS.
 */
async function serve(
  built: boolean[],
  options: ServerOptions & { maxRequestsPerSocket?: number } = {},
  fakeClock = false,
): Promise<number> {
  let clock = 0;
  const memo = new HeadMemo(fakeClock ? { now: () => clock } : {});
  const server = createServer(options, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    clock = Number(url.searchParams.get('at') ?? 0);
    const writeHead = res.writeHead;
    let called = false;
    res.writeHead = function (this: typeof res, ...args: Parameters<typeof writeHead>) {
      called = true;
      return writeHead.apply(this, args);
    } as typeof writeHead;
    memo.writeHead(res, Number(url.searchParams.get('status') ?? 200), HEADERS, !url.searchParams.has('fresh'));
    built.push(called);
    res.end(req.method === 'HEAD' ? undefined : 'png');
  });
  if (options.maxRequestsPerSocket !== undefined) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const get = (path: string, extra = '', version = '1.1'): string =>
  `GET ${path} HTTP/${version}\r\nHost: x\r\n${extra}\r\n`;
const DATE = /\r\nDate: ([^\r]*)\r\n/;
const withoutDate = (head: string): string => head.replace(DATE, '\r\n');

test('later keep-alive responses reuse the head: the same bytes as Node builds, with the current Date', async () => {
  const built: boolean[] = [];
  const port = await serve(built);
  const before = Date.now();
  const { responses, closed } = await rawExchange(port, get('/a') + get('/b') + get('/c?fresh'), 3);
  assert.deepEqual(built, [true, false, true]);
  assert.equal(closed, false);
  const [first, reused, fresh] = responses;
  assert.equal(withoutDate(reused!.head), withoutDate(first!.head));
  assert.equal(withoutDate(reused!.head), withoutDate(fresh!.head));
  assert.match(reused!.head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(reused!.head, /\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n$/);
  assert.equal(reused!.body.toString(), 'png');
  const date = Date.parse(DATE.exec(reused!.head)![1]!);
  assert.ok(date >= before - 1000 && date <= Date.now(), `Date ${DATE.exec(reused!.head)![1]} is current`);
  assert.equal(DATE.exec(reused!.head)![1], new Date(date).toUTCString());
});

test('not reused where Node writes another head: Connection: close, HTTP/1.0, Expect, another status, the last allowed request', async () => {
  const built: boolean[] = [];
  const port = await serve(built, { maxRequestsPerSocket: 2 } as ServerOptions);
  // Another status for the same headers: built, and the memo goes to the 200 that follows.
  const status = await rawExchange(port, get('/c?status=203'), 1);
  assert.match(status.responses[0]!.head, /^HTTP\/1\.1 203 Non-Authoritative Information\r\n/);

  const warm = await rawExchange(port, get('/warm'), 1);
  assert.equal(warm.responses[0]!.status, 200);

  const close = await rawExchange(port, get('/a', 'Connection: close\r\n'), 1);
  assert.match(close.responses[0]!.head, /\r\nConnection: close\r\n/);
  assert.equal(close.closed, true);

  const old = await rawExchange(port, get('/b', '', '1.0'), 1);
  assert.doesNotMatch(old.responses[0]!.head, /keep-alive/i);
  assert.equal(old.closed, true);

  const expect = await rawExchange(port, get('/f', 'Expect: 100-continue\r\n'), 2);
  assert.equal(expect.responses[0]!.status, 100);
  assert.equal(expect.responses[1]!.status, 200);

  // maxRequestsPerSocket 2: the second answer on a connection says it is the last.
  const limited = await rawExchange(port, get('/d') + get('/e'), 2);
  assert.match(limited.responses[0]!.head, /\r\nConnection: keep-alive\r\n/);
  assert.match(limited.responses[1]!.head, /\r\nConnection: close\r\n/);

  // Only /d reused the head; Node built every other one.
  assert.deepEqual(built, [true, true, true, true, true, false, true]);
});

test('the Date of a reused head follows the clock, forwards and backwards', async () => {
  const built: boolean[] = [];
  const start = Date.parse('2030-01-02T03:04:05.000Z');
  const port = await serve(built, {}, true);
  const at = [0, 0, 400, 1_500, 2_000, -10_000];
  const { responses } = await rawExchange(
    port,
    at.map((ms) => get(`/x?at=${start + ms}`)),
    at.length,
  );
  assert.deepEqual(built, [true, false, false, false, false, false]);
  assert.deepEqual(
    responses.slice(1).map((r) => DATE.exec(r.head)![1]),
    at.slice(1).map((ms) => new Date(start + ms).toUTCString()),
  );
});
