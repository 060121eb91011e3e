/** Loopback port helpers. */
import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * A port that was free on 127.0.0.1 a moment ago (the kernel picks it; small race accepted).
 *
 * @example
 * const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after `timeoutMs`
 * or as soon as `alive()` says the process meant to listen has died.
 *
 * @example
 * await waitForPort(port, 5000, () => child.exitCode === null);
 */
export async function waitForPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`process died before listening on ${port}`);
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/**
 * The port a helper process announces as its first stdout line, `{"port":N}` (the null server,
 * the bare Node server). Rejects, naming `what`, when that line does not come within `timeoutMs`,
 * is not such JSON, or the process exits first.
 *
 * @example
 * const child = spawnTracked(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
 * const port = await announcedPort(child, 'null server');
 */
export function announcedPort(child: ChildProcess, what: string, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const settle = (err: Error | undefined, port?: number) => {
      clearTimeout(timer);
      lines.close();
      child.off('close', exited);
      if (err) reject(err);
      else resolve(port!);
    };
    const exited = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(new Error(`${what} exited (${signal ?? code}) before announcing its port`));
    const timer = setTimeout(
      () => settle(new Error(`${what} did not announce its port within ${timeoutMs} ms`)),
      timeoutMs,
    );
    // 'close', not 'exit': it comes after stdout has ended, so a line printed just before exiting is read first.
    child.once('close', exited);
    lines.once('line', (line) => {
      let port: unknown;
      try {
        port = (JSON.parse(line) as { port?: unknown }).port;
      } catch {
        // not JSON: reported below
      }
      if (typeof port === 'number' && Number.isInteger(port) && port > 0) settle(undefined, port);
      else settle(new Error(`${what} announced no port: ${line.slice(0, 200)}`));
    });
  });
}
