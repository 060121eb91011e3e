/**
 * `npm run bench`: fileupload serve against nginx (1 worker, WebDAV PUT) on this machine, both on
 * loopback over the same filesystem, measured alternately phase by phase in one run; medians of
 * several runs, each figure also as a ratio to nginx from the same run; JSON to bench-results/.
 * See `npm run bench -- --help`.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanupAll, isInterrupted, onCleanup, trackDir } from './cleanup.ts';
import { measureCeiling, measureSlotCeiling } from './ceiling.ts';
import { runHeadLoad } from './head-load.ts';
import { putMany, slowUploads } from './http-client.ts';
import { median, summarize, summarizeBareNode, type RunFigures, type Server } from './metrics.ts';
import { benchTls, NGINX_BIN, startNginx, type BenchTls, type NginxServer } from './nginx.ts';
import { curlPut, sparseFile, type CurlPut } from './curl.ts';
import { cpuSeconds, sampleRss, watchMachine } from './proc.ts';
import { freePort } from './ports.ts';
import { streamRequest } from './raw-stream.ts';
import { startBareNode, type BareNodeServer } from './bare-node.ts';
import { renderCompare, renderSummary, type BenchResult, type RunRecord } from './report.ts';
import { fileuploadCommand, startServe, type ServeCommand, type ServeServer, type XmppLink } from './serve.ts';
import { runWrk } from './wrk.ts';
import { measureSlotRate } from './xmpp-slots.ts';
import {
  raisedLimits,
  raisedLimitsLine,
  SLOT_REQUESTS,
  SMALL_WARM_UP,
  WRK_CONNECTIONS,
  type RaisedLimit,
} from './limits.ts';
import { DEFAULTS_SLOT_REQUESTS, runDefaultsPhase } from './defaults.ts';
import { newSlotId } from '../../src/slots/id.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MB = 1e6;
const KiB = 1024;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** The throttled phase's client rate (curl's --limit-rate: 50 MiB/s), a fast home uplink's order. */
const THROTTLE_RATE = '50M';

const PHASES = [
  'put1g',
  'get1g',
  'curl',
  'curl-plain',
  'throttled',
  'tls',
  'put64k',
  'get64k',
  'head',
  'slow',
  'slots',
  'help',
  'defaults',
] as const;
type Phase = (typeof PHASES)[number];
/** Only when asked for by --phases: each adds minutes to a full bench and repeats another phase's point. */
const OPT_IN: readonly Phase[] = ['curl-plain'];
/** Phases measured in every run; the others run once. */
const hasRunPhases = (phases: ReadonlySet<Phase>) => [...phases].some((p) => p !== 'defaults');

const HELP = `Usage: npm run bench -- [options]
       npm run bench -- --compare A.json B.json

Starts nginx (${NGINX_BIN}, 1 worker, WebDAV PUT, own config in a temp dir) and
\`fileupload serve\` side by side on 127.0.0.1 and measures them alternately:
  put1g   PUT one stream of --big-mib MiB (MB/s)        get1g   GET it back (MB/s)
  curl    the same PUT with curl -T, which sends Expect: 100-continue (MB/s, server CPU s per GiB)
  curl-plain  the same without Expect (curl -H 'Expect:'; only when named in --phases)
  throttled   --throttled-mib MiB with curl --limit-rate ${THROTTLE_RATE} (server CPU s per GiB)
  tls     the curl PUT over HTTPS: serve's built-in TLS, nginx with the same self-signed
          certificate (MB/s, server CPU s per GiB)
  put64k  --small-count × 64 KiB PUT, 32 in flight, after 300 uncounted (files/s); between the two
          servers the same against a bare node:http server (scripts/bench/bare-node.ts), for reference
  get64k  wrk -c 64 -t 2 -d --wrk-seconds on one 64 KiB file (req/s)
  head    the same with HEAD, 64 connections, own client (wrk 4.1 cannot HEAD) (req/s)
  slow    --slow-count concurrent slow uploads (peak RSS only)
  slots   XEP-0363 slot requests through a real Prosody, 32 in flight (serve only)
  help    \`fileupload --help\` wall time (start → ready is measured whenever serve starts)
Peak RSS of each server is sampled every 20 ms in every phase.

The bench is a load test from one address and one JID: the serve of the runs has the limits it
would reach raised (the first lines name them and their values). Once, after the runs:
  defaults  serve with no limit raised: ${DEFAULTS_SLOT_REQUESTS.toLocaleString('en-US')} slot requests from the one JID at full
            speed, 32 in flight (granted vs refused with wait, time per answer of each), then
            put64k as above (32 in flight: within the default cap per address)

Options:
  --runs N            runs to take medians of (default 4: each server goes first equally often)
  --phases LIST       comma-separated subset of: ${PHASES.join(',')}
                      (default all but ${OPT_IN.join(',')})
  --nginx-only        do not start serve (harness check)
  --serve-bin PATH    run PATH instead of dist/fileupload (when newer than src/) or bin/fileupload
  --big-mib N         size of the one-stream phases in MiB (default 1024)
  --throttled-mib N   size of the throttled upload in MiB (default 256)
  --small-count N     files in put64k (default 2000)
  --slow-count N      concurrent uploads in slow (default 500)
  --wrk-seconds N     duration of each wrk phase (default 10)
  --no-ceiling        skip the client-ceiling check against a null server
  --dir PATH          where the temporary server dirs go (default ${tmpdir()}; same filesystem for both)
  --out FILE          result JSON (default bench-results/<timestamp>.json)
  --max-minutes N     stop starting new runs after this long (default 12)
  --cpu-prof          run serve with --cpu-prof; profiles land in bench-results/profiles/<timestamp>/
                      (open in Chrome DevTools or speedscope; combine with --phases for one phase)
  --compare A B       print two result files side by side and exit
  -h, --help          this text
`;

interface Options {
  runs: number;
  phases: Set<Phase>;
  nginxOnly: boolean;
  serveBin: string | undefined;
  bigBytes: number;
  throttledBytes: number;
  smallCount: number;
  slowCount: number;
  wrkSeconds: number;
  ceiling: boolean;
  dir: string;
  out: string | undefined;
  maxMinutes: number;
  cpuProf: boolean;
}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive integer, not ${JSON.stringify(v)}`);
  return n;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options | { compare: [string, string] } | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      runs: { type: 'string' },
      phases: { type: 'string' },
      'nginx-only': { type: 'boolean' },
      'serve-bin': { type: 'string' },
      'big-mib': { type: 'string' },
      'throttled-mib': { type: 'string' },
      'small-count': { type: 'string' },
      'slow-count': { type: 'string' },
      'wrk-seconds': { type: 'string' },
      'no-ceiling': { type: 'boolean' },
      dir: { type: 'string' },
      out: { type: 'string' },
      'max-minutes': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      compare: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (values.compare) {
    if (positionals.length !== 2) throw new UsageError('--compare needs two result files: --compare A.json B.json');
    return { compare: [positionals[0]!, positionals[1]!] };
  }
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const phases = new Set<Phase>();
  for (const p of (values.phases ?? PHASES.filter((q) => !OPT_IN.includes(q)).join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(PHASES as readonly string[]).includes(p))
      throw new UsageError(`unknown phase ${JSON.stringify(p)}; phases: ${PHASES.join(', ')}`);
    phases.add(p as Phase);
  }
  return {
    runs: positiveInt('runs', values.runs, 4),
    phases,
    nginxOnly: values['nginx-only'] ?? false,
    serveBin: values['serve-bin'],
    bigBytes: positiveInt('big-mib', values['big-mib'], 1024) * MiB,
    throttledBytes: positiveInt('throttled-mib', values['throttled-mib'], 256) * MiB,
    smallCount: positiveInt('small-count', values['small-count'], 2000),
    slowCount: positiveInt('slow-count', values['slow-count'], 500),
    wrkSeconds: positiveInt('wrk-seconds', values['wrk-seconds'], 10),
    ceiling: !values['no-ceiling'],
    dir: values.dir ?? tmpdir(),
    out: values.out,
    maxMinutes: positiveInt('max-minutes', values['max-minutes'], 12),
    cpuProf: values['cpu-prof'] ?? false,
  };
}

/** The same interface over both servers: where to PUT a new file and where to GET it. */
interface Target {
  name: Server;
  pids(): number[];
  urls(filename: string, size: number): { put: string; get: string };
}

function nginxTarget(n: NginxServer, tlsPort?: number): Target {
  return {
    name: 'nginx',
    pids: () => n.pids(),
    // Same path shape as serve's (/upload/<slot id>/<name>), without the token.
    urls(filename) {
      const origin = tlsPort ? `https://127.0.0.1:${tlsPort}` : `http://127.0.0.1:${n.port}`;
      const url = `${origin}/upload/${newSlotId()}/${encodeURIComponent(filename)}`;
      return { put: url, get: url };
    },
  };
}

function serveTarget(s: ServeServer): Target {
  return { name: 'serve', pids: () => s.pids(), urls: (f, size) => s.mint(f, size) };
}

const log = (line: string) => process.stderr.write(line + '\n');

function syncFs(dir: string): Promise<void> {
  // Flush the previous measurement's dirty pages so their writeback is not charged to the next one.
  return new Promise((resolve) => execFile('sync', ['-f', dir], { timeout: 120_000 }, () => resolve()));
}

function gitInfo(): BenchResult['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== '';
    return { commit, dirty };
  } catch {
    return undefined;
  }
}

function nginxVersion(): string {
  const r = spawnSync(NGINX_BIN, ['-v'], { encoding: 'utf8', timeout: 5000 });
  return /nginx\/(\S+)/.exec(r.stderr ?? '')?.[1] ?? 'unknown';
}

/** Median wall time of `fileupload --help` over `count` spawns (ms). */
function helpTime(cmd: ServeCommand, count: number): { ms: number; ok: boolean; error?: string } {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd.file, ['--help'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    const ms = performance.now() - t0;
    if (r.status !== 0)
      return { ms, ok: false, error: `exit ${r.status ?? r.signal}: ${String(r.stderr ?? '').slice(0, 200)}` };
    times.push(ms);
  }
  return { ms: median(times) ?? 0, ok: true };
}

interface Prosody {
  c2sPort: number;
  componentPort: number;
  componentDomain: string;
  componentSecret: string;
  pid(): number;
  stop(): Promise<void>;
}

/** Starts the shared test Prosody (scripts/testservers/prosody.ts), or explains why not. */
async function startProsodyForBench(password: string): Promise<Prosody | string> {
  const file = join(ROOT, 'scripts', 'testservers', 'prosody.ts');
  if (!existsSync(file)) return 'scripts/testservers/prosody.ts is missing';
  try {
    const mod = (await import(pathToFileURL(file).href)) as {
      startProsody?: (o: {
        users: { user: string; password: string }[];
        componentDomain: string;
        componentSecret: string;
      }) => Promise<Prosody>;
    };
    if (!mod.startProsody) return 'scripts/testservers/prosody.ts exports no startProsody';
    return await mod.startProsody({
      users: [{ user: 'bench', password }],
      componentDomain: 'upload.localhost',
      componentSecret: randomBytes(12).toString('hex'),
    });
  } catch (e) {
    return `Prosody did not start: ${(e as Error).message.split('\n')[0]}`;
  }
}

interface RunContext {
  opts: Options;
  base: string;
  command: ServeCommand;
  xmpp: XmppLink;
  prosody: Prosody | undefined;
  xmppPassword: string;
  live: Set<number>;
  /** Where serve writes CPU profiles (--cpu-prof), else undefined. */
  profileDir: string | undefined;
  /** The limits raised in the serve of the runs. */
  limits: readonly RaisedLimit[];
  /** The certificate of the TLS phase (when it runs). */
  tls: BenchTls | undefined;
}

async function oneRun(ctx: RunContext, index: number): Promise<RunRecord> {
  const { opts } = ctx;
  const order: RunRecord['order'] = index % 2 === 0 ? ['nginx', 'serve'] : ['serve', 'nginx'];
  const figures: RunFigures = {};
  const cpu: RunRecord['cpu'] = {};
  const notes: string[] = [];
  const noise = watchMachine(() => [...ctx.live, ...(ctx.prosody ? [ctx.prosody.pid()] : [])]);
  const runDir = join(ctx.base, `run${index + 1}`);
  const set = (key: string, who: Server, v: number) => ((figures[key] ??= {})[who] = v);

  const targets: Partial<Record<Server, Target>> = {};
  /** The same servers over HTTPS (the TLS phase). */
  const tlsTargets: Partial<Record<Server, Target>> = {};
  let bareNode: RunRecord['bareNode'];
  const stops: (() => Promise<void>)[] = [];
  const starters: Record<Server, () => Promise<void>> = {
    nginx: async () => {
      const n = await startNginx({
        dir: join(runDir, 'nginx'),
        root: join(runDir, 'nginx-root'),
        ...(ctx.tls ? { tls: ctx.tls } : {}),
      });
      n.pids().forEach((p) => ctx.live.add(p));
      const off = onCleanup(n.stop);
      stops.push(async () => (off(), await n.stop()));
      set('ready', 'nginx', n.readyMs);
      targets.nginx = nginxTarget(n);
      if (n.tlsPort) tlsTargets.nginx = nginxTarget(n, n.tlsPort);
    },
    serve: async () => {
      if (opts.nginxOnly) return;
      try {
        const s = await startServe({
          command: ctx.command,
          dir: join(runDir, 'serve'),
          repo: join(runDir, 'serve-repo'),
          xmpp: ctx.xmpp,
          properties: ctx.limits,
          ...(ctx.profileDir ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${ctx.profileDir}` } } : {}),
        });
        s.pids().forEach((p) => ctx.live.add(p));
        const off = onCleanup(s.stop);
        stops.push(async () => (off(), await s.stop()));
        set('ready', 'serve', s.readyMs);
        targets.serve = serveTarget(s);
      } catch (e) {
        notes.push(`serve skipped: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}`);
      }
      if (!ctx.tls) return;
      try {
        const s = await startServe({
          command: ctx.command,
          dir: join(runDir, 'serve-tls'),
          repo: join(runDir, 'serve-tls-repo'),
          xmpp: ctx.xmpp,
          properties: ctx.limits,
          tls: ctx.tls,
        });
        s.pids().forEach((p) => ctx.live.add(p));
        const off = onCleanup(s.stop);
        stops.push(async () => (off(), await s.stop()));
        tlsTargets.serve = serveTarget(s);
      } catch (e) {
        notes.push(`serve over TLS skipped: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}`);
      }
    },
  };
  for (const who of order) await starters[who]();

  const cpuOf = (pids: readonly number[]) => pids.reduce((sum, p) => sum + cpuSeconds(p), 0);
  /**
   * Starts the accounting of one measurement; the returned function ends it: CPU seconds of the
   * measured processes and of this one (the client, with its reaped children: wrk, HEAD load),
   * wall seconds, and the share of all cores used meanwhile by processes that are not ours.
   */
  const account = (pids: () => readonly number[]) => {
    const server0 = cpuOf(pids());
    const client0 = cpuSeconds('self');
    const machine = watchMachine(() => [...ctx.live, ...(ctx.prosody ? [ctx.prosody.pid()] : [])]);
    const t0 = performance.now();
    return () => ({
      server: cpuOf(pids()) - server0,
      client: cpuSeconds('self') - client0,
      wall: (performance.now() - t0) / 1000,
      otherShare: machine.stop().otherShare,
    });
  };
  /**
   * The client runs in this process: near one core for the single-threaded parts means the
   * figure may be the client's, not the server's (wrk and the HEAD load run in children).
   */
  const noteIfClientBound = (phase: string, who: string, a: { client: number; wall: number }) => {
    if (a.wall > 0.5 && a.client / a.wall > 0.9 && phase !== 'get64k' && phase !== 'head') {
      notes.push(
        `${phase} ${who}: the client used ${((a.client / a.wall) * 100).toFixed(0)} % of a core — the figure may be client-bound`,
      );
    }
  };

  /** Runs `fn` against each server in this run's order, with RSS sampling and CPU accounting. */
  const measure = async (
    phase: string,
    fn: (t: Target) => Promise<number | undefined>,
    o: {
      only?: Server;
      alsoCpu?: Record<string, () => number[]>;
      between?: () => Promise<void>;
      /** Other servers than the run's plain-HTTP ones (the TLS phase). */
      on?: Partial<Record<Server, Target>>;
    } = {},
  ) => {
    for (const who of order) {
      // Between the two servers, so that neither always follows (or precedes) the extra measurement.
      if (who === order[1] && o.between && !isInterrupted()) await o.between();
      const t = (o.on ?? targets)[who];
      if (!t || isInterrupted() || (o.only && who !== o.only)) continue;
      await syncFs(ctx.base);
      const extraCpu0 = Object.fromEntries(Object.entries(o.alsoCpu ?? {}).map(([k, pids]) => [k, cpuOf(pids())]));
      const accounted = account(() => t.pids());
      const rss = sampleRss(() => t.pids(), 20);
      let value: number | undefined;
      try {
        value = await fn(t);
      } catch (e) {
        notes.push(`${phase} ${who}: ${(e as Error).message.split('\n')[0]}`);
      }
      const peak = rss.stop();
      const a = accounted();
      const phaseCpu = (cpu[phase] ??= {});
      phaseCpu[who] = a.server;
      phaseCpu[`${who}.client`] = a.client;
      phaseCpu[`${who}.wall`] = a.wall;
      phaseCpu[`${who}.otherShare`] = a.otherShare;
      for (const [k, pids] of Object.entries(o.alsoCpu ?? {}))
        phaseCpu[`${who}.${k}`] = cpuOf(pids()) - (extraCpu0[k] ?? 0);
      if (value !== undefined) noteIfClientBound(phase, who, a);
      set(`rss.${phase}`, who, peak.peakKiB / 1024);
      if (value !== undefined) set(phase, who, value);
      log(
        `  ${phase.padEnd(7)} ${who.padEnd(5)} ${value === undefined ? '—' : value.toFixed(1)}  (peak RSS ${(peak.peakKiB / 1024).toFixed(1)} MiB, ${a.wall.toFixed(1)} s)`,
      );
    }
  };

  const ok = (status: number) => status >= 200 && status < 300;
  const big = new Map<Server, string>();
  const small = new Map<Server, string>();
  try {
    if (opts.phases.has('put1g')) {
      await measure('put1g', async (t) => {
        const { put, get } = t.urls('big.bin', opts.bigBytes);
        const r = await streamRequest({
          url: put,
          method: 'PUT',
          size: opts.bigBytes,
          signal: AbortSignal.timeout(120_000),
        });
        if (!ok(r.status)) throw new Error(`PUT answered ${r.status} ${r.error ?? ''}`);
        big.set(t.name, get);
        return opts.bigBytes / MB / (r.ms / 1000);
      });
    }
    if (opts.phases.has('get1g')) {
      await measure('get1g', async (t) => {
        let url = big.get(t.name);
        if (!url) {
          // put1g not selected or failed: upload the file outside the measurement first.
          const { put, get } = t.urls('big.bin', opts.bigBytes);
          const r = await streamRequest({
            url: put,
            method: 'PUT',
            size: opts.bigBytes,
            signal: AbortSignal.timeout(120_000),
          });
          if (!ok(r.status)) throw new Error(`preparing upload answered ${r.status} ${r.error ?? ''}`);
          url = get;
          await syncFs(ctx.base);
        }
        const r = await streamRequest({ url, method: 'GET', signal: AbortSignal.timeout(120_000) });
        if (!ok(r.status)) throw new Error(`GET answered ${r.status} ${r.error ?? ''}`);
        if (r.contentLength === undefined) throw new Error('GET answered without Content-Length (chunked?)');
        if (r.bytes !== opts.bigBytes) throw new Error(`GET returned ${r.bytes} of ${opts.bigBytes} bytes`);
        return opts.bigBytes / MB / (r.ms / 1000);
      });
    }
    // Free the disk early: a GiB per server per run adds up.
    for (const who of ['nginx-root', 'serve-repo']) rmBigFiles(join(runDir, who));
    /**
     * One curl upload of `bytes` per server: MB/s as curl saw it (undefined when throttled: the
     * rate is curl's), and the server's CPU seconds per GiB as `cpu.<phase>`.
     */
    const curlPhase = async (
      phase: string,
      bytes: number,
      how: Omit<CurlPut, 'url' | 'file'>,
      on: Partial<Record<Server, Target>> = targets,
    ) => {
      const file = join(ctx.base, `payload-${bytes}`);
      if (!existsSync(file)) sparseFile(file, bytes);
      await measure(
        phase,
        async (t) => {
          const { put } = t.urls('curl.bin', bytes);
          const cpu0 = cpuOf(t.pids());
          const r = await curlPut({ ...how, url: put, file }, AbortSignal.timeout(600_000));
          const cpu = cpuOf(t.pids()) - cpu0;
          if (!ok(r.status)) throw new Error(`curl PUT answered ${r.status}`);
          if (r.bytes !== bytes) throw new Error(`curl sent ${r.bytes} of ${bytes} bytes`);
          set(`cpu.${phase}`, t.name, cpu / (bytes / GiB));
          return how.limitRate ? undefined : bytes / MB / r.seconds;
        },
        { on },
      );
      for (const who of ['nginx-root', 'serve-repo', 'serve-tls-repo']) rmBigFiles(join(runDir, who));
    };
    if (opts.phases.has('curl')) await curlPhase('curl', opts.bigBytes, { expect: true });
    if (opts.phases.has('curl-plain')) await curlPhase('curl-plain', opts.bigBytes, { expect: false });
    if (opts.phases.has('throttled'))
      await curlPhase('throttled', opts.throttledBytes, { expect: true, limitRate: THROTTLE_RATE });
    if (opts.phases.has('tls')) await curlPhase('tls', opts.bigBytes, { expect: true, insecure: true }, tlsTargets);

    if (opts.phases.has('put64k')) {
      // The reference in the same run: how far a minimal node:http upload server gets here.
      const bareRound = async () => {
        if (opts.nginxOnly) return;
        await syncFs(ctx.base);
        let bare: BareNodeServer | undefined;
        try {
          bare = await startBareNode(mkdirOf(join(runDir, 'bare-node-root')));
          const { port, pid } = bare;
          ctx.live.add(pid); // ours, not machine noise
          const accounted = account(() => [pid]);
          const { perSec } = await smallPuts(
            (name) => ({ put: `http://127.0.0.1:${port}/${name}`, get: '' }),
            opts.smallCount,
          );
          const a = accounted();
          bareNode = {
            put64k: perSec,
            cpuSeconds: a.server,
            clientCpuSeconds: a.client,
            wallSeconds: a.wall,
            otherShare: a.otherShare,
          };
          noteIfClientBound('put64k', 'bare node', a);
          log(
            `  put64k  bare node ${perSec.toFixed(1)}  (reference: minimal node:http, temp file + rename, no checks, no fsync)`,
          );
        } catch (e) {
          notes.push(`put64k bare node: ${(e as Error).message.split('\n')[0]}`);
        } finally {
          if (bare) {
            ctx.live.delete(bare.pid);
            await bare.stop();
          }
        }
      };
      await measure(
        'put64k',
        async (t) => {
          const { perSec, firstGet } = await smallPuts(t.urls, opts.smallCount);
          small.set(t.name, firstGet);
          return perSec;
        },
        { between: bareRound },
      );
    }
    const smallUrl = async (t: Target) => {
      const url = small.get(t.name);
      if (url) return url;
      const { put, get } = t.urls('small.bin', 64 * KiB);
      const r = await streamRequest({ url: put, method: 'PUT', size: 64 * KiB, signal: AbortSignal.timeout(10_000) });
      if (!ok(r.status)) throw new Error(`preparing a 64 KiB upload answered ${r.status} ${r.error ?? ''}`);
      small.set(t.name, get);
      return get;
    };
    for (const [phase, method] of [
      ['get64k', 'GET'],
      ['head', 'HEAD'],
    ] as const) {
      if (!opts.phases.has(phase)) continue;
      await measure(phase, async (t) => {
        const url = await smallUrl(t);
        const check = await streamRequest({ url, method, signal: AbortSignal.timeout(10_000) });
        if (!ok(check.status)) throw new Error(`${method} answered ${check.status} ${check.error ?? ''}`);
        if (check.contentLength !== 64 * KiB)
          throw new Error(`${method} announced Content-Length ${check.contentLength}, not ${64 * KiB}`);
        // wrk 4.1 counts no HEAD answers (it waits for the announced body): HEAD has its own client.
        const r =
          method === 'GET'
            ? await runWrk({ url, connections: WRK_CONNECTIONS, threads: 2, seconds: opts.wrkSeconds })
            : await runHeadLoad({ url, connections: WRK_CONNECTIONS, threads: 1, seconds: opts.wrkSeconds });
        if (r.non2xx > 0) throw new Error(`${r.non2xx} of ${r.requests} answers were not 2xx/3xx`);
        const errors = 'socketErrors' in r ? r.socketErrors : r.errors;
        if (errors > r.requests / 1000)
          notes.push(`${phase} ${t.name}: ${errors} socket errors in ${r.requests} requests`);
        return r.requestsPerSec;
      });
    }
    if (opts.phases.has('slow')) {
      // 1 MiB each, 32 KiB every 100 ms: ~3.3 s per upload, all at once; only memory matters here.
      await measure('slow', async (t) => {
        const slots = Array.from({ length: opts.slowCount }, (_, i) => t.urls(`slow${i}.bin`, MiB).put);
        const r = await slowUploads(slots, MiB, 32 * KiB, 100, AbortSignal.timeout(60_000));
        if (r.failed > 0)
          throw new Error(
            `${r.failed} of ${opts.slowCount} slow uploads failed (${JSON.stringify(r.statuses)}), first: ${r.firstError}`,
          );
        return undefined;
      });
    }
    if (opts.phases.has('slots') && targets.serve) {
      if (!ctx.prosody) {
        if (index === 0) notes.push('slots skipped: no Prosody (see notes above)');
      } else {
        const prosody = ctx.prosody;
        await measure(
          'slots',
          async () => {
            const r = await measureSlotRate({
              host: '127.0.0.1',
              port: prosody.c2sPort,
              domain: 'localhost',
              user: 'bench',
              password: ctx.xmppPassword,
              component: prosody.componentDomain,
              outstanding: 32,
              total: SLOT_REQUESTS,
              maxMs: 8_000,
            });
            if (r.errors > 0) notes.push(`slots: ${r.errors} error answers, first: ${r.firstError}`);
            if (r.refused > 0)
              notes.push(
                `slots: ${r.refused} refused with wait — a per-user limit below this load is not raised; first: ${r.firstRefusal}`,
              );
            return r.perSec;
          },
          { only: 'serve', alsoCpu: { prosody: () => [prosody.pid()] } },
        );
      }
    }
    if (opts.phases.has('help')) {
      const h = helpTime(ctx.command, 5);
      if (h.ok) set('help', 'serve', h.ms);
      else notes.push(`help: ${ctx.command.file} --help failed: ${h.error}`);
    }
  } finally {
    for (const stop of stops) await stop();
    rmSync(runDir, { recursive: true, force: true });
    ctx.live.clear();
  }
  const record: RunRecord = { index, order, figures, cpu, notes, noise: noise.stop() };
  if (bareNode) record.bareNode = bareNode;
  return record;
}

function mkdirOf(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The 64 KiB PUT phase against one server: SMALL_WARM_UP uncounted uploads, then `count` counted,
 * 32 in flight. Steady state, not a cold start: serve compiles its upload path on the first few
 * hundred requests (nginx has nothing to warm up), so every server gets the same uncounted round.
 */
async function smallPuts(urls: Target['urls'], count: number): Promise<{ perSec: number; firstGet: string }> {
  const warm = Array.from({ length: SMALL_WARM_UP }, (_, i) => urls(`warm${i}.bin`, 64 * KiB));
  const w = await putMany(
    warm.map((s) => s.put),
    64 * KiB,
    32,
    AbortSignal.timeout(60_000),
  );
  if (w.failed > 0) throw new Error(`${w.failed} of ${SMALL_WARM_UP} warm-up PUTs failed, first: ${w.firstError}`);
  const slots = Array.from({ length: count }, (_, i) => urls(`f${i}.bin`, 64 * KiB));
  const r = await putMany(
    slots.map((s) => s.put),
    64 * KiB,
    32,
    AbortSignal.timeout(120_000),
  );
  if (r.failed > 0)
    throw new Error(`${r.failed} of ${count} PUTs failed (${JSON.stringify(r.statuses)}), first: ${r.firstError}`);
  return { perSec: r.ok / (r.ms / 1000), firstGet: slots[0]!.get };
}

function rmBigFiles(dir: string): void {
  // Only the one-stream files: the small ones are cheap and GET 64 KiB may still want them.
  try {
    for (const p of execFileSync('find', [dir, '-type', 'f', '-size', '+100M'], {
      encoding: 'utf8',
      timeout: 10_000,
    }).split('\n')) {
      if (p) rmSync(p, { force: true });
    }
  } catch {
    // nothing to remove
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if ('compare' in parsed) {
    const [a, b] = parsed.compare.map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchResult);
    process.stdout.write(renderCompare(a!, b!));
    return 0;
  }
  const opts = parsed;
  for (const [bin, what] of [
    [NGINX_BIN, 'nginx (apt-get install nginx)'],
    ['/usr/bin/wrk', 'wrk (apt-get install wrk)'],
  ] as const) {
    if (!existsSync(bin)) {
      process.stderr.write(`bench: ${bin} not found: install ${what}\n`);
      return 1;
    }
  }

  const startedAt = new Date();
  const t0 = performance.now();
  const base = trackDir(mkdtempSync(join(opts.dir, 'fileupload-bench-')));
  const notes: string[] = [];
  const live = new Set<number>();
  const machine = watchMachine(() => [...live]);
  const picked = fileuploadCommand(opts.serveBin);
  const command = picked.command;
  if (picked.note) notes.push(picked.note);
  if (opts.runs % 2 === 1 && opts.runs > 1) {
    // Whoever writes first in a run measures faster on some disks (seen: up to 2x for the 1 GiB PUT).
    notes.push(
      `${opts.runs} runs: nginx goes first in one run more than serve; order-sensitive figures lean that way (use an even --runs)`,
    );
  }
  const runsWanted = hasRunPhases(opts.phases) ? opts.runs : 0;
  log(`bench: ${runsWanted} run(s) in ${base}; fileupload = ${command.kind} (${command.file})`);
  const limits = raisedLimits({ slowCount: opts.slowCount });
  if (!opts.nginxOnly && runsWanted > 0) log(`bench: ${raisedLimitsLine(limits)}`);

  const xmppPassword = randomBytes(9).toString('hex');
  let prosody: Prosody | undefined;
  let prosodyOff: (() => void) | undefined;
  let xmpp: XmppLink;
  const needsServe = !opts.nginxOnly;
  if (needsServe && (opts.phases.has('slots') || opts.phases.has('defaults'))) {
    log('bench: starting Prosody…');
    const p = await startProsodyForBench(xmppPassword);
    if (typeof p === 'string') notes.push(`slots skipped: ${p}`);
    else {
      prosody = p;
      prosodyOff = onCleanup(() => p.stop());
      live.add(p.pid());
    }
  }
  if (prosody) {
    xmpp = {
      host: '127.0.0.1',
      port: prosody.componentPort,
      domain: prosody.componentDomain,
      secret: prosody.componentSecret,
    };
  } else {
    // serve still needs XMPP settings; point them at a closed port (it is expected to retry quietly).
    xmpp = { host: '127.0.0.1', port: await freePort(), domain: 'upload.localhost', secret: 'bench-no-xmpp' };
  }

  let ceiling: BenchResult['ceiling'];
  let slotCeiling: BenchResult['slotCeiling'];
  if (opts.ceiling && runsWanted > 0) {
    log('bench: client ceiling against a null server…');
    try {
      ceiling = await measureCeiling({ bytes: opts.bigBytes, wrkSeconds: Math.min(3, opts.wrkSeconds) });
      log(
        `  PUT ${ceiling.putMBps.toFixed(0)} MB/s, GET ${ceiling.getMBps.toFixed(0)} MB/s, 64 KiB PUT ${ceiling.smallPutPerSec.toFixed(0)} files/s, wrk ${ceiling.wrkGetPerSec.toFixed(0)} req/s`,
      );
    } catch (e) {
      notes.push(`client ceiling not measured: ${(e as Error).message}`);
    }
  }

  if (prosody && opts.ceiling && opts.phases.has('slots') && runsWanted > 0) {
    log('bench: slot ceiling through Prosody with a do-nothing component…');
    try {
      slotCeiling = await measureSlotCeiling({
        c2sPort: prosody.c2sPort,
        componentPort: prosody.componentPort,
        componentDomain: prosody.componentDomain,
        componentSecret: prosody.componentSecret,
        prosodyPid: prosody.pid(),
        user: 'bench',
        password: xmppPassword,
        seconds: 5,
      });
      log(
        `  ${slotCeiling.slotsPerSec.toFixed(0)} slots/s; Prosody ${slotCeiling.prosodyCores.toFixed(2)} cores, client ${slotCeiling.clientCores.toFixed(2)} cores`,
      );
    } catch (e) {
      notes.push(`slot ceiling not measured: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  const runs: RunRecord[] = [];
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const profileDir = opts.cpuProf ? join(ROOT, 'bench-results', 'profiles', stamp) : undefined;
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    notes.push(`CPU profiles of serve (one per run, written when it exits): ${profileDir}; profiling slows serve down`);
  }
  let tls: BenchTls | undefined;
  if (opts.phases.has('tls') && runsWanted > 0) {
    try {
      tls = benchTls(mkdirOf(join(base, 'tls')));
    } catch (e) {
      notes.push(`tls skipped: no certificate (openssl): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const ctx: RunContext = { opts, base, command, xmpp, prosody, xmppPassword, live, profileDir, limits, tls };
  for (let i = 0; i < runsWanted && !isInterrupted(); i++) {
    const elapsed = (performance.now() - t0) / 60_000;
    const perRun = runs.length ? elapsed / runs.length : 0;
    if (runs.length && elapsed + perRun > opts.maxMinutes) {
      notes.push(
        `stopped after ${runs.length} of ${opts.runs} runs: another would pass --max-minutes ${opts.maxMinutes}`,
      );
      break;
    }
    log(`bench: run ${i + 1}/${opts.runs} (${i % 2 === 0 ? 'nginx' : 'serve'} first)`);
    runs.push(await oneRun(ctx, i));
  }
  let defaults: BenchResult['defaults'];
  if (opts.phases.has('defaults') && needsServe && !isInterrupted()) {
    log('bench: defaults phase (serve with no limit raised)…');
    defaults = await runDefaultsPhase({
      command,
      dir: base,
      xmpp,
      smallCount: opts.smallCount,
      ...(prosody
        ? { c2s: { port: prosody.c2sPort, user: 'bench', password: xmppPassword, component: prosody.componentDomain } }
        : {}),
      onPid: (pid, running) => (running ? live.add(pid) : live.delete(pid)),
      log,
    });
    if (!prosody) defaults.notes.push('defaults: no slot requests (no Prosody, see the notes)');
  }
  prosodyOff?.();
  if (prosody) await prosody.stop();
  live.clear();
  if (isInterrupted()) {
    log('bench: interrupted; no result written');
    return 130;
  }

  const result: BenchResult = {
    version: 1,
    startedAt: startedAt.toISOString(),
    durationSeconds: (performance.now() - t0) / 1000,
    git: gitInfo(),
    host: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      kernel: release(),
      node: process.version,
      nginx: nginxVersion(),
      memMiB: Math.round(totalmem() / MiB),
    },
    options: {
      runs: opts.runs,
      phases: [...opts.phases],
      bigBytes: opts.bigBytes,
      throttledBytes: opts.throttledBytes,
      smallCount: opts.smallCount,
      slowCount: opts.slowCount,
      wrkSeconds: opts.wrkSeconds,
      nginxOnly: opts.nginxOnly,
      cpuProf: opts.cpuProf,
      dir: opts.dir,
    },
    fileupload: { file: command.file, kind: command.kind },
    ...(opts.nginxOnly || runsWanted === 0 ? {} : { limits }),
    runs,
    summary: summarize(runs.map((r) => r.figures)),
    noise: machine.stop(),
    notes,
  };
  if (ceiling) result.ceiling = ceiling;
  if (slotCeiling) result.slotCeiling = slotCeiling;
  if (defaults) result.defaults = defaults;
  const bare = summarizeBareNode(runs.map((r) => ({ bare: r.bareNode?.put64k, ...r.figures.put64k })));
  if (bare) result.bareNode = bare;
  if (
    runs.length &&
    !runs.some((r) => Object.values(r.figures).some((f) => f.serve !== undefined)) &&
    !opts.nginxOnly
  ) {
    result.notes.push('serve produced no figures: see the run notes');
  }
  const out = opts.out ?? join(ROOT, 'bench-results', `${stamp}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(renderSummary(result));
  process.stdout.write(`result: ${out}\n`);
  return 0;
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e: Error) => {
      process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
      process.exitCode = 1;
    },
  )
  .finally(() => cleanupAll());
