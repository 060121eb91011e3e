import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  headless,
  lastRequestOnConnection,
  markHeadSent,
  putHead,
  socketFd,
  tcpHandle,
  tcpSocketOf,
  waitingHead,
} from './node-internals.ts';

// These fail when a Node upgrade moves or changes one of the internals serve relies on: then the
// fast paths (sendfile, splice, sendNow, HeadMemo, TLS connection tracking) silently turn off or,
// worse, misbehave. Fix node-internals.ts for the new Node before anything else.

/** One request to a fresh server whose handler is `handle`; resolves with the raw response. */
async function oneRequest(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handle);
  await listen(server);
  try {
    return await raw(server, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  } finally {
    server.close();
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function raw(server: Server, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
    socket.end(request);
  });
}

test('a TCP socket of a request: its TCP handle has the descriptor and the read controls', async () => {
  let seen: Record<string, unknown> = {};
  await oneRequest((req, res) => {
    const handle = tcpHandle(req.socket);
    seen = {
      fd: socketFd(req.socket),
      handleFd: handle?.fd,
      reading: typeof handle?.reading,
      readStop: typeof handle?.readStop,
      readStart: typeof handle?.readStart,
    };
    res.end();
  });
  assert.equal(typeof seen.fd, 'number', 'socket._handle.fd');
  assert.ok((seen.fd as number) >= 0);
  assert.equal(seen.handleFd, seen.fd);
  assert.equal(seen.reading, 'boolean', 'socket._handle.reading');
  assert.equal(seen.readStop, 'function', 'socket._handle.readStop');
  assert.equal(seen.readStart, 'function', 'socket._handle.readStart');
});

test('a response holds the head writeHead() built until it is sent', async () => {
  const seen: Record<string, unknown> = {};
  const answer = await oneRequest((req, res) => {
    seen.before = headless(res);
    seen.last = lastRequestOnConnection(res);
    res.writeHead(200, { 'X-Test': 'yes' });
    seen.head = waitingHead(res);
    seen.after = headless(res);
    res.on('finish', () => (seen.finished = waitingHead(res)));
    res.end('body');
  });
  assert.equal(seen.before, true, 'res._header is null before writeHead');
  assert.equal(seen.last, false, 'res.maxRequestsOnConnectionReached is a boolean');
  assert.match(String(seen.head), /^HTTP\/1\.1 200 OK\r\nX-Test: yes\r\nDate: [^\r]+ GMT\r\n[^]*\r\n\r\n$/);
  assert.equal(seen.after, false);
  assert.equal(seen.finished, undefined, 'res._headerSent once the head went out');
  assert.ok(answer.startsWith(String(seen.head)));
  assert.ok(answer.endsWith('body\r\n0\r\n\r\n'));
});

test('a head put on a response is what Node sends', async () => {
  const head = 'HTTP/1.1 299 Put\r\nX-Put: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n';
  const answer = await oneRequest((req, res) => {
    res.statusCode = 299;
    putHead(res, head);
    res.end('ok');
  });
  assert.equal(answer, `${head}ok`);
});

test('a head marked sent is not sent again: Node ends the response without writing it', async () => {
  const answer = await oneRequest((req, res) => {
    res.writeHead(200, { 'Content-Length': '2' });
    const head = waitingHead(res)!;
    req.socket.write(`${head}ok`);
    markHeadSent(res);
    res.end();
  });
  assert.equal(answer.match(/HTTP\/1\.1/g)?.length, 1, answer);
  assert.ok(answer.endsWith('\r\n\r\nok'), answer);
});

test('a TLS socket of a request: its TCP socket is the one the server accepted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'node-internals-'));
  try {
    const key = join(dir, 'k.pem');
    const cert = join(dir, 'c.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
      ]),
      { stdio: 'ignore' },
    );
    const server = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) });
    let accepted: Socket | undefined;
    let underTls: Socket | undefined;
    let isTls = false;
    server.on('connection', (socket: Socket) => (accepted = socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      isTls = req.socket instanceof TLSSocket;
      underTls = tcpSocketOf(req.socket);
      res.end();
    });
    await listen(server);
    await new Promise<void>((resolve, reject) => {
      const socket = tlsConnect(
        { port: (server.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false },
        () => socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      );
      socket.on('data', () => {});
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    server.close();
    assert.equal(isTls, true);
    assert.ok(accepted !== undefined);
    assert.equal(underTls, accepted, 'tlsSocket._parent');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
