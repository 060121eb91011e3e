/**
 * A minimal node:http upload server, as a reference for the 64 KiB PUT phase: each body kept in
 * memory, then written to a temporary file that is renamed into place, all with synchronous fs
 * calls (fewer round trips than the thread pool; a real server cannot afford them, since one slow
 * disk would stall every connection). No slot check, no fsync, no headers of its own beyond
 * Content-Length (node:http adds Date and the keep-alive ones). What serve reaches next to it shows what serve's own work costs; what it reaches
 * next to nginx shows roughly what a Node server without that work gets on this machine.
 * Runs as its own process (not sharing the client's event loop) and prints its port:
 *
 *   scripts/node24 scripts/bench/bare-node.ts ROOT   →  {"port":41234}
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { spawnTracked, stopTracked } from './cleanup.ts';
import { announcedPort } from './ports.ts';

function serve(root: string): void {
  let sequence = 0;
  const server = createServer((req, res) => {
    const answer = (status: number) => {
      res.writeHead(status, { 'content-length': '0' });
      res.end();
    };
    if (req.method !== 'PUT') {
      req.resume();
      return answer(405);
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const name = `f${++sequence}`;
      const tmp = join(root, `.${name}`);
      try {
        const fd = openSync(tmp, 'wx');
        try {
          for (const c of chunks) writeSync(fd, c);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, join(root, name));
        answer(201);
      } catch {
        answer(500);
      }
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }) + '\n');
  });
  process.on('SIGTERM', () => process.exit(0));
}

export interface BareNodeServer {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the bare Node upload server in its own process, storing into `root`.
 *
 * @example
 * const bare = await startBareNode('/tmp/bench/bare');
 * // PUT http://127.0.0.1:${bare.port}/anything → 201, the body lands in /tmp/bench/bare/f1
 * await bare.stop();
 */
export async function startBareNode(root: string): Promise<BareNodeServer> {
  const script = fileURLToPath(import.meta.url);
  const child = spawnTracked(process.execPath, [script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await announcedPort(child, 'bare node server');
    return { port, pid: child.pid!, stop: () => stopTracked(child, 1000) };
  } catch (e) {
    await stopTracked(child, 1000);
    throw e;
  }
}

if (import.meta.main) {
  const root = process.argv[2];
  if (!root) {
    process.stderr.write('usage: bare-node.ts ROOT\n');
    process.exit(2);
  }
  serve(root);
}
