/**
 * Benchmark (not a test): what the maintenance commands and serve's start cost on a large
 * repository, cold and warm, in wall time and peak memory.
 *
 *   scripts/node24 scripts/bench/retention.ts [--counts 100000,1000000] [--dir /var/tmp] [--only cold]
 *
 * Uploads are written in the fs store's own format with small bodies (64 bytes), storedAt spread
 * over 60 days, 1000 uploaders, no index. For each count:
 *   cold  no index (index/ removed before each command: the first run after an import or a lost
 *         index); the page cache is warm, since the files were just written or read
 *   warm  the index as purge leaves it with the default configuration (the cold `purge` rebuilt it)
 * Commands: `purge --dry-run` under maxAge 30d and a maxRepoSize of a quarter of the bytes (both
 * age rules and the multi-pass size selection run); `purge` under maxAge 90d (the same scan and
 * index upkeep, nothing deleted, so cold and warm see the same uploads); `slots ls --json`,
 * `--user`, `--limit 50`; serve from spawn to its "ready" line (its peak RSS read once `status`
 * has answered), and `status --json` against that serve. Each CLI command runs under
 * /usr/bin/time (elapsed seconds, max RSS = the process's VmHWM at exit).
 * Not measured: a slot request with quotas set (needs an XMPP server; scripts/testservers/prosody.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FsStore } from '../../src/storage/fs/index.ts';
import { encodeHeader } from '../../src/storage/fs/format.ts';
import { newSlotId } from '../../src/slots/id.ts';
import type { UploadMeta } from '../../src/storage/store.ts';
import { cleanupAll, spawnTracked, stopTracked } from './cleanup.ts';
import { freePort } from './ports.ts';
import { isReadyLine, lineSplitter, serveConfigXml } from './serve.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// FILEUPLOAD_BIN=dist/fileupload measures the single binary (the sources add the type-stripping loader).
const BIN = process.env.FILEUPLOAD_BIN ?? join(ROOT, 'bin', 'fileupload');
const BODY = 64;
const DAY = 86_400_000;
const USER = 'user7@example.org';

const { values } = parseArgs({
  options: {
    counts: { type: 'string', default: '100000' },
    dir: { type: 'string' },
    only: { type: 'string' },
  },
});
const counts = (values.counts ?? '')
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
  .sort((a, b) => a - b);

interface Measure {
  seconds: number;
  maxRssMiB: number;
}

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

/** Runs one command under /usr/bin/time; `okCodes`: the exit codes that still measure it. */
function timed(args: string[], okCodes: readonly number[] = [0]): Promise<Measure> {
  return new Promise((resolve, reject) => {
    // stdout goes to /dev/null via sh so the measured process writes at full speed.
    const cmd = `/usr/bin/time -f '%e %M' ${[BIN, ...args].map((a) => `'${a}'`).join(' ')} > /dev/null`;
    execFile('/bin/sh', ['-c', cmd], { maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (!okCodes.includes(code)) return reject(new Error(`${args.join(' ')} failed: ${stderr}`));
      const last = stderr.trim().split('\n').pop() ?? '';
      const [s, kib] = last.split(' ').map(Number);
      resolve({ seconds: s ?? NaN, maxRssMiB: mib(kib ?? NaN) });
    });
  });
}

/** serve from spawn to "ready", then `status --json` against it; serve's VmHWM after that. */
async function serveAndStatus(config: string): Promise<{ serve: Measure; status: Measure }> {
  const t0 = performance.now();
  const child = spawnTracked(BIN, ['--config', config, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const split = lineSplitter();
      const timer = setTimeout(() => reject(new Error(`serve: no "ready" line within 120 s\n${tail}`)), 120_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        for (const line of split(chunk)) {
          if (tail.length < 4000) tail += line + '\n';
          if (isReadyLine(line)) {
            clearTimeout(timer);
            resolve(performance.now() - t0);
          }
        }
      });
      child.stderr?.on('data', (c: Buffer) => (tail += c.toString().slice(0, 2000)));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code}) before ready\n${tail}`));
      });
    });
    // Exit 1 (degraded) is expected: there is no XMPP server to connect to.
    const status = await timed(['--config', config, '--json', 'status', '--once'], [0, 1]);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return { serve: { seconds: Math.round(readyMs) / 1000, maxRssMiB: mib(Number(hwm?.[1])) }, status };
  } finally {
    child.removeAllListeners('exit');
    await stopTracked(child, 10_000);
  }
}

type State = 'cold' | 'warm';
const COMMANDS = [
  'purge --dry-run',
  'purge',
  'slots ls --json',
  'slots ls --user X',
  'slots ls --limit 50',
  'serve start → ready',
  'status --json',
] as const;
type Command = (typeof COMMANDS)[number];

async function main(): Promise<void> {
  const base = await mkdtemp(join(values.dir ?? tmpdir(), 'fileupload-bench-retention-'));
  const repo = join(base, 'repo');
  const rules = join(base, 'rules.xml');
  const keep = join(base, 'keep.xml');
  const serveXml = join(base, 'serve.xml');
  const states: State[] = values.only === 'cold' ? ['cold'] : ['cold', 'warm'];
  try {
    await mkdir(repo);
    const store = new FsStore(repo, { durable: false });
    await store.open();
    await store.close();
    const now = Date.now();
    let have = 0;
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const rows: Array<{ uploads: number; command: Command; cold?: Measure; warm?: Measure }> = [];
    // What the CLI costs before doing anything (Node + TypeScript stripping + commander).
    const baseline = await timed(['--version']);
    for (const n of counts) {
      await rm(join(repo, 'index'), { recursive: true, force: true });
      const t0 = Date.now();
      const batch: Promise<void>[] = [];
      for (; have < n; have++) {
        const age = Math.floor(rand() * 60 * DAY) + 120_000;
        const meta: UploadMeta = {
          id: newSlotId(),
          filename: `file-${have}.jpg`,
          size: BODY,
          contentType: 'image/jpeg',
          uploader: `user${have % 1000}@example.org`,
          issuedAt: now - age - 1000,
          storedAt: now - age,
          purpose: have % 10 === 0 ? 'profile' : 'message',
        };
        batch.push(
          writeFile(join(repo, 'files', meta.id), Buffer.concat([encodeHeader(meta), Buffer.alloc(BODY, 0x61)]), {
            flag: 'wx',
          }),
        );
        if (batch.length >= 256) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
      process.stderr.write(`created ${n} uploads (${((Date.now() - t0) / 1000).toFixed(1)} s for this step)\n`);
      const plugin = (props: string): string =>
        `<jive><plugin><httpfileupload><fileRepo>${repo}</fileRepo>${props}</httpfileupload></plugin></jive>\n`;
      await writeFile(rules, plugin(`<maxAge>30d</maxAge><maxRepoSize>${Math.floor((n * BODY) / 4)}</maxRepoSize>`));
      await writeFile(keep, plugin('<maxAge>90d</maxAge>'));
      // No XMPP server: serve is ready without one (the component keeps trying in the background).
      const xml = serveConfigXml({
        repo,
        port: await freePort(),
        contextRoot: '/upload',
        slotSecret: randomBytes(32).toString('base64url'),
        xmpp: { host: '127.0.0.1', port: await freePort(), domain: 'upload.localhost', secret: 'secret' },
        properties: [{ name: 'maxAge', value: '90d' }],
      });
      await writeFile(serveXml, xml.replace('<adminPort>0</adminPort>', `<adminPort>${await freePort()}</adminPort>`));

      const cli: Record<Exclude<Command, 'serve start → ready' | 'status --json'>, string[]> = {
        'purge --dry-run': ['--config', rules, '--json', 'purge', '--dry-run'],
        purge: ['--config', keep, '--json', 'purge'],
        'slots ls --json': ['--config', keep, '--json', 'slots', 'ls'],
        'slots ls --user X': ['--config', keep, '--json', 'slots', 'ls', '--user', USER],
        'slots ls --limit 50': ['--config', keep, '--json', 'slots', 'ls', '--limit', '50'],
      };
      const got = new Map<Command, { cold?: Measure; warm?: Measure }>(COMMANDS.map((c) => [c, {}]));
      const note = (c: Command, s: State, m: Measure): void => {
        (got.get(c) as { cold?: Measure; warm?: Measure })[s] = m;
        process.stderr.write(`  ${n} ${s} ${c}: ${m.seconds} s, ${m.maxRssMiB} MiB\n`);
      };
      for (const state of states) {
        // Cold: index/ goes before each command; `purge` comes last, as it rebuilds the index.
        const order: Array<keyof typeof cli | 'serve start → ready'> = [
          'purge --dry-run',
          'slots ls --json',
          'slots ls --user X',
          'slots ls --limit 50',
          'serve start → ready',
          'purge',
        ];
        for (const c of order) {
          if (state === 'cold') await rm(join(repo, 'index'), { recursive: true, force: true });
          if (c === 'serve start → ready') {
            const r = await serveAndStatus(serveXml);
            note(c, state, r.serve);
            note('status --json', state, r.status);
          } else note(c, state, await timed(cli[c]));
        }
      }
      for (const c of COMMANDS) rows.push({ uploads: n, command: c, ...got.get(c) });
    }
    const cell = (m: Measure | undefined): string => (m ? `${m.seconds} s | ${m.maxRssMiB} MiB` : '– | –');
    process.stdout.write('| uploads | command | cold time | cold peak RSS | warm time | warm peak RSS |\n');
    process.stdout.write('|---|---|---|---|---|---|\n');
    for (const r of rows) {
      process.stdout.write(
        `| ${r.uploads.toLocaleString('en')} | \`${r.command}\` | ${cell(r.cold)} | ${cell(r.warm)} |\n`,
      );
    }
    process.stdout.write(`\nBaseline: \`fileupload --version\` peaks at ${baseline.maxRssMiB} MiB.\n`);
  } finally {
    await cleanupAll();
    await rm(base, { recursive: true, force: true });
  }
}

void main();
