/**
 * Everything the benchmark starts is registered here and torn down on normal exit, on error and on
 * Ctrl-C: servers run in their own process group (so nginx's workers go with their master) and
 * temp dirs are removed. The 'exit' hook is synchronous, so it kills with SIGKILL as a last resort.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { rmSync } from 'node:fs';

const groups = new Set<number>();
const dirs = new Set<string>();
const hooks = new Set<() => Promise<void> | void>();
let installed = false;
let interrupted = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/**
 * Spawns a long-lived helper process in its own process group, killed with the whole group on exit.
 *
 * @example
 * const child = spawnTracked('/usr/sbin/nginx', ['-c', conf], { stdio: 'ignore' });
 */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  installHandlers();
  const child = spawn(command, args, { ...options, detached: true });
  const pid = child.pid;
  if (pid !== undefined) {
    groups.add(pid);
    child.once('exit', () => groups.delete(pid));
  }
  return child;
}

/**
 * Stops a tracked process group: SIGTERM, then SIGKILL after `graceMs`; resolves once the leader
 * has exited (bounded by graceMs + 2 s).
 *
 * @example
 * await stopTracked(child, 3000);
 */
export async function stopTracked(child: ChildProcess, graceMs = 3000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    if (pid !== undefined) killGroup(pid, 'SIGKILL'); // stray group members (workers)
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(pid, 'SIGTERM');
  const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs + 2000))]);
  clearTimeout(timer);
  killGroup(pid, 'SIGKILL');
  groups.delete(pid);
}

/**
 * Registers a temp dir to remove on exit.
 *
 * @example
 * const dir = trackDir(mkdtempSync(join(tmpdir(), 'bench-')));
 */
export function trackDir(dir: string): string {
  installHandlers();
  dirs.add(dir);
  return dir;
}

/**
 * Registers an async cleanup (stop a server gracefully) run before exit; returns an unregister.
 *
 * @example
 * const off = onCleanup(() => server.stop()); … off();
 */
export function onCleanup(fn: () => Promise<void> | void): () => void {
  installHandlers();
  hooks.add(fn);
  return () => void hooks.delete(fn);
}

/** True once Ctrl-C (SIGINT/SIGTERM) was received: long loops check this to stop early. */
export function isInterrupted(): boolean {
  return interrupted;
}

/**
 * Runs the async hooks (bounded to 10 s), then kills and removes whatever is left.
 *
 * @example
 * try { await main(); } finally { await cleanupAll(); }
 */
export async function cleanupAll(): Promise<void> {
  const list = [...hooks];
  hooks.clear();
  await Promise.race([
    Promise.allSettled(list.map(async (fn) => fn())),
    new Promise((r) => setTimeout(r, 10_000).unref()),
  ]);
  cleanupSync();
}

function cleanupSync(): void {
  for (const pgid of groups) killGroup(pgid, 'SIGKILL');
  groups.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  dirs.clear();
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.once('exit', cleanupSync);
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      cleanupSync();
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, cleaning up…\n`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
