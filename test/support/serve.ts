/**
 * Runs the real `bin/fileupload --config FILE serve` as a child process for end-to-end tests:
 * writes its openfire.xml, waits for its JSON log lines ("ready", "xmpp online"), stops it
 * with SIGTERM or kill -9, and reads its memory from /proc.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import {
  freePort,
  run,
  spawnGroup,
  trackDir,
  waitFor,
  type GroupProcess,
} from '../../scripts/testservers/processes.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';

/** The checkout (where bin/, scripts/ and node_modules/ are). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** What the tests run: bin/fileupload (sources), or e.g. the single binary via FILEUPLOAD_E2E_BIN=dist/fileupload. */
export const FILEUPLOAD_BIN = process.env.FILEUPLOAD_E2E_BIN
  ? resolve(process.env.FILEUPLOAD_E2E_BIN)
  : join(REPO_ROOT, 'bin', 'fileupload');

/** Properties by their short name (plugin.httpfileupload.<name>); undefined = not written. */
export type ServeConfig = Record<string, string | number | undefined>;

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The openfire.xml for `props`: `<jive><plugin><httpfileupload><NAME>VALUE</NAME>…`.
 *
 * @example
 * writeFileSync(file, openfireXml({ domain: 'upload.localhost', webPort: 12121 }));
 */
export function openfireXml(props: ServeConfig): string {
  const lines = Object.entries(props)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `      <${name}>${escapeXml(String(value))}</${name}>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<jive>',
    '  <plugin>',
    '    <httpfileupload>',
    ...lines,
    '    </httpfileupload>',
    '  </plugin>',
    '</jive>',
    '',
  ].join('\n');
}

/**
 * A complete config for a serve connected to `server`, HTTP on a free loopback port announced as
 * plain http, a fresh repository dir and a random slotSecret. `overrides` win (undefined removes).
 *
 * @example
 * const config = await serveConfigFor(prosody, { maxFileSize: 5 << 20 });
 */
export async function serveConfigFor(
  server: XmppTestServer | undefined,
  overrides: ServeConfig = {},
): Promise<ServeConfig> {
  const webPort = await freePort();
  const repo = mkdtempSync(join(tmpdir(), 'fileupload-repo-'));
  trackDir(repo);
  const base: ServeConfig = {
    xmppHost: '127.0.0.1',
    xmppPort: server?.componentPort,
    domain: server?.componentDomain ?? 'upload.localhost',
    sharedSecret: server?.componentSecret ?? 'unused-secret',
    webHost: '127.0.0.1',
    webPort,
    announcedWebProtocol: 'http',
    announcedWebHost: '127.0.0.1',
    announcedWebPort: webPort,
    announcedWebContextRoot: '/httpfileupload',
    fileRepo: repo,
    slotSecret: randomBytes(32).toString('base64url'),
    maxFileSize: 10 * 1024 * 1024,
    // Concurrent serves must not share the default admin port.
    adminPort: await freePort(),
  };
  return { ...base, ...overrides };
}

/** One JSON line serve logged (non-JSON lines are kept as { msg: line, raw: true }). */
export type LogLine = Record<string, unknown> & { msg?: unknown; level?: unknown };

export interface ServeProcess {
  pid: number;
  configFile: string;
  config: ServeConfig;
  /** http://127.0.0.1:webPort */
  origin: string;
  /** origin + announcedWebContextRoot */
  baseUrl: string;
  /** Parsed stdout lines so far. */
  logLines(): LogLine[];
  stderr(): string;
  /** Resolves with the first log line at index ≥ `from` that matches. */
  waitForLog(
    match: string | ((line: LogLine) => boolean),
    options?: { timeoutMs?: number; from?: number },
  ): Promise<LogLine>;
  /** Settles when the process has exited (see waitForExit for a bounded wait). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits (at most `timeoutMs`) for the process to exit by itself; rejects on timeout. */
  waitForExit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9, waits for the exit. */
  kill9(): Promise<void>;
  /** From /proc/PID/status: current RSS and peak RSS (VmHWM), KiB. */
  memory(): { rssKiB: number; hwmKiB: number };
}

export interface StartServeOptions {
  config: ServeConfig;
  /** Reuse a config file path (restart of the same node); default a new temp dir. */
  configFile?: string;
  /** false: `configFile` is used as it stands (written by the test), `config` only says its ports. */
  writeConfig?: boolean;
  /** What to wait for: the "ready" line (default), also "xmpp online", or nothing. */
  waitFor?: 'ready' | 'xmpp online' | 'nothing';
  timeoutMs?: number;
  env?: Record<string, string>;
  /** A command that execs serve, e.g. ['prlimit', '--nofile=512:512'] (the pid stays serve's). */
  prefix?: string[];
}

const msgIs = (msg: string) => (line: LogLine) => line.msg === msg;

/**
 * Writes the config and starts `bin/fileupload --config FILE serve`.
 *
 * @example
 * const node = await startServe({ config: await serveConfigFor(prosody), waitFor: 'xmpp online' });
 * after(() => node.stop());
 */
export async function startServe(options: StartServeOptions): Promise<ServeProcess> {
  let configFile = options.configFile;
  if (configFile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'fileupload-serve-'));
    trackDir(dir);
    configFile = join(dir, 'openfire.xml');
  }
  mkdirSync(dirname(configFile), { recursive: true });
  if (options.writeConfig !== false) writeFileSync(configFile, openfireXml(options.config));

  const [command = FILEUPLOAD_BIN, ...prefixArgs] = options.prefix ?? [];
  const args = [...(options.prefix ? [...prefixArgs, FILEUPLOAD_BIN] : []), '--config', configFile, 'serve'];
  const proc: GroupProcess = spawnGroup(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    background: true,
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: proc.child.stdout! }).on('line', (line) => {
    let parsed: LogLine;
    try {
      const value: unknown = JSON.parse(line);
      parsed = typeof value === 'object' && value !== null ? (value as LogLine) : { msg: line, raw: true };
    } catch {
      parsed = { msg: line, raw: true };
    }
    lines.push(parsed);
    for (const wake of waiters) wake();
  });
  let stderr = '';
  proc.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.exited.then(() => {
    for (const wake of waiters) wake();
  });

  const describe = () => `serve output so far:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`;
  const waitForLog: ServeProcess['waitForLog'] = (match, { timeoutMs = 15_000, from = 0 } = {}) => {
    const test = typeof match === 'string' ? msgIs(match) : match;
    return new Promise((resolveLine, reject) => {
      const check = () => {
        const found = lines.slice(from).find(test);
        if (found) {
          cleanup();
          resolveLine(found);
        } else if (!proc.running()) {
          cleanup();
          reject(new Error(`serve exited before logging ${String(match)}\n${describe()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for serve to log ${String(match)}\n${describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  };

  const webPort = Number(options.config.webPort);
  const origin = `http://127.0.0.1:${webPort}`;
  const contextRoot =
    options.config.announcedWebContextRoot === undefined
      ? '/httpfileupload'
      : String(options.config.announcedWebContextRoot);
  const serve: ServeProcess = {
    pid: proc.pid,
    configFile,
    config: options.config,
    origin,
    baseUrl: origin + contextRoot,
    logLines: () => lines,
    stderr: () => stderr,
    waitForLog,
    exited: proc.exited,
    waitForExit(timeoutMs = 30_000) {
      // The timer also keeps this process alive while waiting (the child is unref'ed).
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`serve did not exit within ${timeoutMs} ms\n${describe()}`)),
          timeoutMs,
        );
      });
      return Promise.race([proc.exited, timeout]).finally(() => clearTimeout(timer));
    },
    running: proc.running,
    stop: (graceMs = 15_000) => proc.stop('SIGTERM', graceMs),
    async kill9() {
      await proc.stop('SIGKILL');
    },
    memory() {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
    },
  };
  try {
    const wanted = options.waitFor ?? 'ready';
    if (wanted !== 'nothing') await waitForLog('ready', { timeoutMs: options.timeoutMs ?? 15_000 });
    if (wanted === 'xmpp online') await waitForLog('xmpp online', { timeoutMs: options.timeoutMs ?? 15_000 });
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return serve;
}

/**
 * Runs `bin/fileupload ARGS` to completion (config errors, one-shot commands).
 *
 * @example
 * const r = await runFileupload(['--config', file, 'serve'], { timeoutMs: 10_000 });
 * assert.equal(r.code, 2);
 */
export function runFileupload(args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}) {
  return run(FILEUPLOAD_BIN, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    timeoutMs: options.timeoutMs ?? 20_000,
  });
}

/**
 * Every file under `dir` (relative paths), to compare a repository before and after.
 *
 * @example
 * assert.deepEqual(listTree(repo), before);
 */
export { listTree } from './tree.ts';

/** Polling wait (re-exported for tests). */
export { waitFor };
