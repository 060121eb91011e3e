/**
 * `fileupload serve` under test: an openfire.xml of our own, the process started and timed to its
 * "ready" log line, and slots minted directly with the shared slot secret (the HTTP phases measure
 * the data path, not XMPP).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { spawnTracked, stopTracked } from './cleanup.ts';
import { freePort } from './ports.ts';
import type { BenchTls } from './nginx.ts';
import { newSlotId } from '../../src/slots/id.ts';
import { signSlot } from '../../src/slots/sign.ts';
import { slotUrls, type AnnouncedEndpoint } from '../../src/slots/urls.ts';
import type { Slot } from '../../src/slots/slot.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What runs `fileupload`: the built binary if there is one, else the checkout's bin/ script. */
export interface ServeCommand {
  file: string;
  /** "dist" | "bin" | "custom" — reported beside the figures. */
  kind: 'dist' | 'bin' | 'custom';
}

/** Newest modification time (ms) of any file under `dir`, bounded to 10,000 entries. */
function newestMtime(dir: string): number {
  let newest = 0;
  let seen = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (++seen > 10_000) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

/**
 * Picks the fileupload executable: `override` if given, else dist/fileupload when it is at least
 * as new as every file in src/, else bin/fileupload (the sources themselves); `note` says why
 * when a built binary was passed over, so stale code is never measured silently.
 *
 * @example
 * const { command, note } = fileuploadCommand(); // command.kind: 'dist' | 'bin'
 */
export function fileuploadCommand(override?: string): { command: ServeCommand; note?: string } {
  if (override) return { command: { file: override, kind: 'custom' } };
  const dist = join(ROOT, 'dist', 'fileupload');
  const bin = { file: join(ROOT, 'bin', 'fileupload'), kind: 'bin' } as const;
  if (!existsSync(dist)) return { command: bin };
  if (statSync(dist).mtimeMs < newestMtime(join(ROOT, 'src'))) {
    return {
      command: bin,
      note: 'dist/fileupload is older than src/: measured bin/fileupload instead (npm run build to measure the binary)',
    };
  }
  return { command: { file: dist, kind: 'dist' } };
}

export interface XmppLink {
  host: string;
  port: number;
  domain: string;
  secret: string;
}

export interface ServeConfig {
  repo: string;
  port: number;
  contextRoot: string;
  slotSecret: string;
  xmpp: XmppLink;
  /** Further properties by name (the limits the bench raises); none = every limit at its default. */
  properties?: readonly { name: string; value: string }[];
  /** Built-in HTTPS with this certificate (the TLS phase); plain HTTP without. */
  tls?: BenchTls;
}

function xmlEscape(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The openfire.xml serve runs with (general properties under <jive><plugin><httpfileupload>).
 *
 * @example
 * writeFileSync(file, serveConfigXml(cfg));
 */
export function serveConfigXml(cfg: ServeConfig): string {
  const props: [string, string | number][] = [
    ['fileRepo', cfg.repo],
    ['webHost', '127.0.0.1'],
    ['webPort', cfg.port],
    ['announcedWebProtocol', cfg.tls ? 'https' : 'http'],
    ['announcedWebHost', '127.0.0.1'],
    ['announcedWebPort', cfg.port],
    ['announcedWebContextRoot', cfg.contextRoot],
    ['domain', cfg.xmpp.domain],
    ['sharedSecret', cfg.xmpp.secret],
    ['xmppHost', cfg.xmpp.host],
    ['xmppPort', cfg.xmpp.port],
    ['slotSecret', cfg.slotSecret],
    // No admin listener: the default port 7444 may belong to another serve on this machine.
    ['adminPort', 0],
    ...(cfg.tls
      ? [['tlsCertificate', cfg.tls.cert] as [string, string], ['tlsKey', cfg.tls.key] as [string, string]]
      : []),
    ...(cfg.properties ?? []).map((p) => [p.name, p.value] as [string, string]),
  ];
  const body = props.map(([k, v]) => `      <${k}>${xmlEscape(String(v))}</${k}>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<jive>\n  <plugin>\n    <httpfileupload>\n${body}\n    </httpfileupload>\n  </plugin>\n</jive>\n`;
}

/**
 * Turns the chunks of a byte stream into whole lines: a line (or a UTF-8 character) cut between
 * two chunks comes out whole; an unterminated last piece waits for the next chunk.
 *
 * @example
 * const split = lineSplitter();
 * split(Buffer.from('{"msg":"a"}\n{"msg":"re')); // ['{"msg":"a"}']
 * split(Buffer.from('ady"}\n')); // ['{"msg":"ready"}']
 */
export function lineSplitter(): (chunk: Buffer) => string[] {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  return (chunk) => {
    const lines = (partial + decoder.write(chunk)).split('\n');
    partial = lines.pop() ?? '';
    return lines;
  };
}

/**
 * Whether one line of serve's stdout is its "ready" log line (JSON with msg "ready").
 *
 * @example
 * isReadyLine('{"level":"info","msg":"ready","port":8080}'); // true
 */
export function isReadyLine(line: string): boolean {
  if (!line.includes('"ready"')) return false;
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === 'ready';
  } catch {
    return false;
  }
}

export interface ServeServer {
  port: number;
  pids(): number[];
  /** Spawn → the "ready" line on stdout (ms). */
  readyMs: number;
  /** PUT URL (with token) and GET URL of a fresh slot for `size` bytes. */
  mint(filename: string, size: number): { put: string; get: string };
  /** serve's stdout/stderr, for a failure's explanation. */
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts `fileupload --config FILE serve` on a free loopback port and waits for its ready line.
 *
 * @example
 * const serve = await startServe({ command, dir, repo, xmpp });
 * const { put, get } = serve.mint('a.bin', 1024);
 */
export async function startServe(opts: {
  command: ServeCommand;
  dir: string;
  repo: string;
  xmpp: XmppLink;
  readyTimeoutMs?: number;
  /** Extra environment (e.g. NODE_OPTIONS for --cpu-prof). */
  env?: Record<string, string>;
  /** See {@link ServeConfig.properties}. */
  properties?: ServeConfig['properties'];
  /** See {@link ServeConfig.tls}. */
  tls?: BenchTls;
}): Promise<ServeServer> {
  mkdirSync(opts.dir, { recursive: true });
  mkdirSync(opts.repo, { recursive: true });
  const port = await freePort();
  const cfg: ServeConfig = {
    repo: opts.repo,
    port,
    contextRoot: '/upload',
    slotSecret: randomBytes(32).toString('base64url'),
    xmpp: opts.xmpp,
    ...(opts.properties ? { properties: opts.properties } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
  };
  const configFile = join(opts.dir, 'openfire.xml');
  writeFileSync(configFile, serveConfigXml(cfg));
  const logFile = join(opts.dir, 'serve.log');
  const log = createWriteStream(logFile);
  const t0 = performance.now();
  const child = spawnTracked(opts.command.file, ['--config', configFile, 'serve'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  child.stderr!.pipe(log, { end: false });
  let tail = '';
  // stdout goes straight into the log file, chunk by chunk: this process is also the load
  // generator, and splitting serve's log lines here would cost the client CPU in every phase.
  child.stdout!.pipe(log, { end: false });
  const readyMs = await new Promise<number>((resolve, reject) => {
    const timeout = opts.readyTimeoutMs ?? 15_000;
    const timer = setTimeout(() => fail(new Error(`no "ready" line within ${timeout} ms`)), timeout);
    const split = lineSplitter();
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.stdout!.off('data', watch);
      reject(e);
    };
    const watch = (chunk: Buffer) => {
      for (const line of split(chunk)) {
        if (tail.length < 4000) tail += line + '\n';
        if (isReadyLine(line)) {
          clearTimeout(timer);
          child.stdout!.off('data', watch);
          resolve(performance.now() - t0);
          return;
        }
      }
    };
    child.stdout!.on('data', watch);
    child.stderr!.on('data', (c: Buffer) => {
      if (tail.length < 4000) tail += c.toString();
    });
    // 'close', not 'exit': it comes after stdout has ended, so serve's last words are in `tail`.
    child.once('close', (code, signal) => fail(new Error(`serve exited (${signal ?? code}) before ready`)));
    child.once('error', (e) => fail(e));
  }).catch(async (e: Error) => {
    await stopTracked(child, 500);
    log.end();
    throw new Error(`${e.message}: ${opts.command.file} --config ${configFile} serve\n${tail.trim().slice(0, 1500)}`);
  });

  const endpoint: AnnouncedEndpoint = {
    protocol: opts.tls ? 'https' : 'http',
    host: '127.0.0.1',
    port,
    contextRoot: cfg.contextRoot,
  };
  const pid = child.pid!;
  return {
    port,
    readyMs,
    logFile,
    pids: () => [pid],
    mint(filename, size) {
      const now = Date.now();
      const slot: Slot = {
        id: newSlotId(),
        filename,
        size,
        contentType: 'application/octet-stream',
        uploader: 'bench@localhost',
        issuedAt: now,
        expiresAt: now + 3_600_000,
        purpose: 'message',
      };
      return slotUrls(endpoint, slot.id, slot.filename, signSlot(cfg.slotSecret, slot));
    },
    async stop() {
      await stopTracked(child, 5000);
      log.end();
    },
  };
}
