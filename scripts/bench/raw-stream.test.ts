import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { streamRequest } from './raw-stream.ts';

async function withServer(handler: Parameters<typeof createServer>[1], fn: (base: string) => Promise<void>) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('PUT sends exactly size bytes with Content-Length; GET counts the body', async () => {
  let received = -1;
  let header: string | undefined;
  await withServer(
    (req, res) => {
      if (req.method === 'PUT') {
        header = req.headers['content-length'];
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => {
          received = n;
          res.writeHead(201).end();
        });
      } else {
        res.writeHead(200, { 'content-length': 5_000_000 }).end(Buffer.alloc(5_000_000));
      }
    },
    async (base) => {
      const signal = AbortSignal.timeout(10_000);
      const put = await streamRequest({ url: `${base}/a?t=x`, method: 'PUT', size: 9_000_001, signal });
      assert.equal(put.status, 201);
      assert.equal(received, 9_000_001);
      assert.equal(header, '9000001');
      const get = await streamRequest({ url: `${base}/a`, method: 'GET', signal });
      assert.equal(get.status, 200);
      assert.equal(get.bytes, 5_000_000);
      assert.equal(get.contentLength, 5_000_000);
    },
  );
});

test('an early refusal (413 before the body) is an answer, not a crash', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(413, { connection: 'close' }).end('too large');
    },
    async (base) => {
      const r = await streamRequest({
        url: `${base}/big`,
        method: 'PUT',
        size: 64 << 20,
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(r.status, 413);
      assert.match(r.error ?? '', /too large/);
    },
  );
});

test('the deadline aborts a stalled answer', async () => {
  await withServer(
    () => {
      // never answers
    },
    async (base) => {
      await assert.rejects(
        streamRequest({ url: `${base}/x`, method: 'GET', signal: AbortSignal.timeout(200) }),
        /deadline/,
      );
    },
  );
});
