/**
 * A server that costs as little as possible, to measure what the load generator itself can push:
 * raw TCP, minimal HTTP/1.1 with keep-alive. PUT bodies (Content-Length) are counted and dropped,
 * answered 201; `GET /bytes/N` answers N bytes from one preallocated buffer.
 * Reads go into one reused 4 MiB buffer (`onread`): with the default 64 KiB reads a Node sink
 * tops out near 2 GB/s and would hide the client's real ceiling. Net servers take no `onread`
 * option, so the accepted handle is re-wrapped in a Socket that has one (internal `_handle`;
 * good enough for a benchmark tool, and it falls back to plain 'data' events if that ever goes).
 * Runs as its own process (not sharing the client's event loop) and prints its port:
 *
 *   scripts/node24 scripts/bench/null-server.ts   →  {"port":41234}
 */
import { createServer, Socket } from 'node:net';

const OUT = Buffer.alloc(4 << 20, 0x61);

function connection(accepted: Socket): void {
  const readBuffer = Buffer.allocUnsafe(4 << 20);
  let head = '';
  let bodyLeft = -1; // −1: reading a request header
  let sending = false;
  let socket: Socket = accepted;

  const sendBytes = (total: number) => {
    let left = total;
    sending = true;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, OUT.length);
        left -= n;
        if (!socket.write(n === OUT.length ? OUT : OUT.subarray(0, n)) && left > 0) {
          socket.once('drain', pump);
          return;
        }
      }
      sending = false;
    };
    pump();
  };

  /** Consumes bytes [from, to) of `buf`; the client does not pipeline, so one request at a time. */
  const consume = (buf: Buffer, from: number, to: number) => {
    let at = from;
    while (at < to) {
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, to - at);
        bodyLeft -= n;
        at += n;
        if (bodyLeft === 0) {
          bodyLeft = -1;
          socket.write('HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n');
        }
        continue;
      }
      const before = head.length;
      head += buf.toString('latin1', at, to);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 65536) socket.destroy();
        return;
      }
      at += end + 4 - before;
      const lines = head.slice(0, end).split('\r\n');
      head = '';
      const [method = '', path = ''] = (lines[0] ?? '').split(' ');
      const lengthLine = lines.find((l) => /^content-length:/i.test(l));
      const length = lengthLine ? Number(lengthLine.slice(lengthLine.indexOf(':') + 1).trim()) : 0;
      if (method === 'GET' || method === 'HEAD') {
        const size = Number(/^\/bytes\/(\d+)/.exec(path)?.[1] ?? 0);
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${size}\r\n\r\n`);
        if (method === 'GET' && size > 0 && !sending) sendBytes(size);
      } else if (length > 0) {
        bodyLeft = length;
      } else {
        socket.write('HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n');
      }
    }
  };

  const handle = (accepted as unknown as { _handle?: unknown })._handle;
  if (handle) {
    socket = new Socket({
      handle,
      onread: { buffer: readBuffer, callback: (n: number) => (consume(readBuffer, 0, n), true) },
    } as unknown as ConstructorParameters<typeof Socket>[0]);
    socket.resume();
  } else {
    accepted.on('data', (chunk: Buffer) => consume(chunk, 0, chunk.length));
    accepted.resume();
  }
  socket.on('error', () => socket.destroy());
}

const server = createServer({ pauseOnConnect: true, noDelay: true }, connection);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
