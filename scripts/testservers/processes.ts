/**
 * Process plumbing shared by the throw-away test servers (Prosody, ejabberd) and the `serve`
 * harness: free loopback ports, process groups that die with the test process, polling waits.
 *
 * Every child is started in its own process group (detached) so that stopping it also stops
 * whatever it forked (ejabberdctl → erl → beam.smp → erl_child_setup). A process-wide `exit`
 * hook kills every group still registered, so a failing or interrupted test leaves nothing behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** Groups (by leader pid) and temp dirs that must not outlive this process. */
const liveGroups = new Set<number>();
const liveDirs = new Set<string>();
let hooksInstalled = false;

function killGroupNow(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * True while `pid` runs (a zombie counts as gone).
 *
 * @example
 * assert.equal(processAlive(pid), false);
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * True while a live (non-zombie) process of the group exists. Zombies do not count: where PID 1
 * reaps orphans late (some container inits), a killed beam.smp stays <defunct> for seconds.
 *
 * @example
 * while (groupAlive(pid)) await sleep(25);
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no procfs: trust kill(0)
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

function cleanupEverything(): void {
  for (const pid of liveGroups) killGroupNow(pid, 'SIGKILL');
  liveGroups.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupEverything);
  // A signal would otherwise end the process without running `exit` hooks. Re-raise it after
  // cleaning up when nobody else handles it, so the default behaviour (exit) is preserved.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      cleanupEverything();
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Registers a temp dir to be removed when this process exits (unless released first).
 *
 * @example
 * const dir = mkdtempSync(join(tmpdir(), 'x-')); trackDir(dir);
 */
export function trackDir(dir: string): void {
  installHooks();
  liveDirs.add(dir);
}

/**
 * Removes a tracked temp dir now.
 *
 * @example
 * removeDir(dir);
 */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/**
 * Forgets a dir without removing it (the CLI's `up` hands it to a later `down`).
 *
 * @example
 * releaseDir(server.dataDir);
 */
export function releaseDir(dir: string): void {
  liveDirs.delete(dir);
}

/**
 * A free TCP port on 127.0.0.1 (bound then released: another process may grab it in between,
 * which callers detect by checking their server really listens).
 *
 * @example
 * const port = await freePort();
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * True when something accepts TCP connections on 127.0.0.1:port.
 *
 * @example
 * if (await portAccepts(5222)) console.log('up');
 */
export function portAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

/**
 * Polls `check` every `intervalMs` until it returns a truthy value or `timeoutMs` passes.
 * `describe` names what was awaited in the timeout error (a function is asked only then, so it
 * can report the state at the timeout).
 *
 * @example
 * await waitFor(() => portAccepts(port), { timeoutMs: 5000, describe: 'c2s port' });
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  {
    timeoutMs = 10_000,
    intervalMs = 50,
    describe = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; describe?: string | (() => string) } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof describe === 'function' ? describe() : describe}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A child started in its own process group. */
export interface GroupProcess {
  child: ChildProcess;
  pid: number;
  /** Settles with the exit code (or null) and signal once the leader has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until the leader has exited. */
  running(): boolean;
  /**
   * Sends `signal` to the whole group, waits up to `graceMs` for the leader to exit, then
   * SIGKILLs the group. Resolves when the leader is gone.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Forgets the group without killing it (the CLI's `up` leaves it running). */
  release(): void;
}

/** sh -c script: $1 = pid to watch, then the command. The watcher holds no stdio of the command. */
const WATCHDOG = `parent=$1; shift
( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &
exec "$@"`;

/**
 * Spawns `command` as the leader of a new process group, killed with this process unless
 * stopped or released before. `background: true` (servers) lets this process exit while the
 * child runs; await `exited` only alongside something that keeps the event loop busy (a socket,
 * a timer), or use a helper with a timeout. `watchdog` (default: `background`) kills the group
 * when this process dies without running its exit hook; turn it off for servers meant to
 * outlive this process (the CLI's `up`).
 *
 * @example
 * const p = spawnGroup('prosody', ['--config', file, '-F'], { stdio: ['ignore', out, out] });
 * await p.stop();
 */
export function spawnGroup(
  command: string,
  args: string[],
  options: SpawnOptions & { background?: boolean; watchdog?: boolean } = {},
): GroupProcess {
  installHooks();
  const { background = false, watchdog = background, ...spawnOptions } = options;
  // The exit hook cannot run when this process is SIGKILLed (a runner's timeout): a watchdog in
  // the group then kills the group within a second. `exec` keeps the command's pid (serve's
  // /proc/PID/status is the server's, not a shell's).
  const [file, argv] = watchdog
    ? ['/bin/sh', ['-c', WATCHDOG, 'watchdog', String(process.pid), command, ...args]]
    : [command, args];
  const child = spawn(file, argv, { ...spawnOptions, detached: true });
  if (child.pid === undefined) {
    throw new Error(`could not start ${command}`);
  }
  if (background) {
    // A server must not keep this process alive: if a test forgets to stop it, the process still
    // exits when its work is done, and the exit hook kills the server.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr])
      (stream as { unref?: () => void } | null)?.unref?.();
  }
  const pid = child.pid;
  liveGroups.add(pid);
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
    // A spawn error (ENOENT) ends the child without 'exit': surface it as code null, not a crash.
    child.once('error', () => {
      alive = false;
      resolve({ code: null, signal: null });
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000) => {
    // The leader may be a wrapper script (ejabberdctl) that dies at once while the real server
    // (beam.smp) is still shutting down cleanly: wait for the whole group, not just the leader.
    killGroupNow(pid, signal);
    const deadline = Date.now() + graceMs;
    while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    killGroupNow(pid, 'SIGKILL');
    for (let i = 0; i < 200 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
    liveGroups.delete(pid);
    // The exit event follows at once; the timer keeps an unref'ed child's parent alive until then.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    return exited;
  };
  return {
    child,
    pid,
    exited,
    running: () => alive,
    stop,
    release: () => {
      liveGroups.delete(pid);
      child.unref();
    },
  };
}

/**
 * Runs a command to completion and returns its output (for prosodyctl, ejabberdctl).
 *
 * @example
 * const { code, stdout } = await run('prosodyctl', ['--config', file, 'register', 'alice', 'localhost', 'pw']);
 */
export async function run(
  command: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { timeoutMs = 30_000, ...spawnOptions } = options;
  const p = spawnGroup(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  p.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => void p.stop('SIGKILL'), timeoutMs);
  // 'close' (not 'exit'): the output may still be in flight when the process has exited.
  await new Promise((resolve) => {
    p.child.once('close', resolve);
    p.child.once('error', resolve);
  });
  const { code } = await p.exited;
  clearTimeout(timer);
  await p.stop();
  return { code, stdout, stderr };
}
