/**
 * Benchmark (not a test): what the maintenance commands, serve's start and a slot request with
 * every quota set cost on a large repository, cold and warm, in wall time and peak memory.
 *
 *   scripts/node24 scripts/bench/retention.ts [--counts 100000,1000000] [--dir /var/tmp]
 *     [--repo PATH] [--only cold|warm] [--commands 'purge,slot request']
 *
 * Uploads are written in the fs store's own format with small bodies (64 bytes), storedAt spread
 * over 60 days before the run, 1000 uploaders, no index. For each count:
 *   cold  no index (index/ removed before each command: the first run after an import or a lost
 *         index); the page cache is warm, since the files were just written or read
 *   warm  the index as purge leaves it with the default configuration (the cold `purge` rebuilt it)
 * Commands: `purge --dry-run` under maxAge 30d and a maxRepoSize of a quarter of the bytes (both
 * age rules and the multi-pass size selection run); `purge` under maxAge 90d (the same scan and
 * index upkeep, nothing deleted, so cold and warm see the same uploads); `slots ls --json`,
 * `--user`, `--limit 50`; serve from spawn to its "ready" line (its peak RSS read once `status`
 * has answered), and `status --json` against that serve. Each CLI command runs under
 * /usr/bin/time (elapsed seconds, max RSS = the process's VmHWM at exit).
 * `slot request`: a throw-away Prosody (scripts/testservers/prosody.ts) with serve as its
 * component, every quota set (userQuota, dailyQuota, globalQuota, maxRepoSize, maxFileSize) far
 * above what the requests use, the per-user request rate and unused-slot cap raised so no request
 * is refused (SLOT_PROPERTIES), serve's own purge off. One client, logged in as an uploader who owns a
 * thousandth of the uploads, asks for slots one at a time: the first request (cold: the global
 * quota's first use waits for a full scan), 20 unmeasured, then 300 measured round trips (request
 * written → answer read), and serve's VmHWM after them. The same on a fresh empty repository in
 * the same state (cold: no index; warm: after one `purge`), in the order empty, large, large,
 * empty, each run a new serve (see SLOT_USERS for who asks): medians and p90 of each
 * repository's 600 round trips, so "large − empty" is what the repository's size adds. Without
 * Prosody the phase is skipped with the reason, the rest still runs.
 *
 * --repo PATH: the repository to use and keep (default: a temp dir, removed at the end). The
 * uploads already in its files/ are counted and only the missing ones up to each count are
 * generated (the same generator and seed, so the same distribution; ages count back from the
 * run that wrote them, so a repository generated 30 days ago starts losing uploads to `purge`'s
 * 90-day rule). A count below what it holds is skipped.
 * --only cold|warm: one state. Warm needs the index purge leaves, and takes an index/ it finds as
 * such (cold commands without `purge` leave none): when index/ is missing, one unmeasured `purge`
 * (maxAge 90d) builds it first; before a warm slot request, also when the index's usage total is
 * older than serve's rescan age (serve would rescan the repository during the requests; serve's
 * own purge keeps it younger).
 * --commands: a comma-separated subset of COMMANDS, by the names the table prints.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, opendir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FsStore } from '../../src/storage/fs/index.ts';
import { encodeHeader } from '../../src/storage/fs/format.ts';
import { isStoredId, newSlotId } from '../../src/slots/id.ts';
import type { UploadMeta } from '../../src/storage/store.ts';
import { FsIndexStore } from '../../src/inventory/index-store/fs.ts';
import { readTotal } from '../../src/inventory/usage.ts';
import { startProsody } from '../testservers/prosody.ts';
import type { XmppTestServer } from '../testservers/server.ts';
import { cleanupAll, spawnTracked, stopTracked } from './cleanup.ts';
import { median, percentile } from './metrics.ts';
import { freePort } from './ports.ts';
import { memKiB } from './proc.ts';
import { isReadyLine, lineSplitter, serveConfigXml, type XmppLink } from './serve.ts';
import { measureSlotTimes, type SlotTimes } from './xmpp-slots.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// FILEUPLOAD_BIN=dist/fileupload measures the single binary (the sources add the type-stripping loader).
const BIN = process.env.FILEUPLOAD_BIN ?? join(ROOT, 'bin', 'fileupload');
const BODY = 64;
const DAY = 86_400_000;
const USER = 'user7@example.org';
/**
 * Who asks for slots in the empty/large pairs of runs: two uploaders who own a thousandth of the
 * uploads each, as every userN does, the first pair as one, the second as the other. A user's
 * unused slots stay in the index for the in-flight window (minutes) and every later check of that
 * user reads them: a run as the previous run's user would start with its slots, and the second
 * run of each repository would not be a repeat. Drawn at random, so that a bench run soon after
 * another on the same --repo does not find that one's slots either.
 */
const SLOT_USERS = ((k: number) => [`user${k}`, `user${(k + 1) % 1000}`] as const)(randomInt(1000));
/** Slot requests answered before the measured ones (after the first, which is reported alone). */
const SLOT_WARMUP = 20;
const SLOT_REQUESTS = 300;
/**
 * How old the index's usage total may be before a warm slot request: from 30 min on, serve
 * rescans the repository in the background during the requests (src/inventory/usage.ts); serve's
 * own purge keeps it younger than that.
 */
const STALE_TOTAL_MS = 25 * 60_000;

type State = 'cold' | 'warm';
const COMMANDS = [
  'purge --dry-run',
  'purge',
  'slots ls --json',
  'slots ls --user X',
  'slots ls --limit 50',
  'serve start → ready',
  'status --json',
  'slot request',
] as const;
type Command = (typeof COMMANDS)[number];

/**
 * The quotas a slot request is checked against, all set, far above what the bench's requests
 * use; the rate limits a user's requests in a row would reach, raised; serve's own purge off.
 */
const SLOT_PROPERTIES: readonly { name: string; value: string; why: 'quota' | 'raised' | 'other' }[] = [
  { name: 'maxFileSize', value: '50M', why: 'quota' },
  { name: 'userQuota', value: '1G', why: 'quota' },
  { name: 'dailyQuota', value: '1G', why: 'quota' },
  { name: 'globalQuota', value: '1T', why: 'quota' },
  { name: 'maxRepoSize', value: '1T', why: 'quota' },
  // Finite, so the counts stay on the measured path: the requests' slots are never used.
  { name: 'maxPendingSlots', value: '1000000', why: 'raised' },
  { name: 'slotRequestRate', value: '1000000', why: 'raised' },
  { name: 'slotRequestBurst', value: '1000000', why: 'raised' },
  // serve's first purge, 30 s after its start, would run during the requests (a cold first
  // request waits for a scan that long at 1,000,000); maxAge as for `purge`.
  { name: 'purgeInterval', value: '0', why: 'other' },
  { name: 'maxAge', value: '90d', why: 'other' },
];

const { values } = parseArgs({
  options: {
    counts: { type: 'string', default: '100000' },
    dir: { type: 'string' },
    only: { type: 'string' },
    repo: { type: 'string' },
    commands: { type: 'string' },
  },
});

function usage(message: string): never {
  process.stderr.write(`retention: ${message}\n`);
  process.exit(2);
}

const counts = (values.counts ?? '')
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
  .sort((a, b) => a - b);
if (values.only !== undefined && values.only !== 'cold' && values.only !== 'warm')
  usage(`--only takes cold or warm, not ${JSON.stringify(values.only)}`);
const states: State[] = values.only === 'cold' ? ['cold'] : values.only === 'warm' ? ['warm'] : ['cold', 'warm'];
const selected = new Set<Command>();
for (const name of (values.commands ?? COMMANDS.join(',')).split(',').map((c) => c.trim())) {
  if (!(COMMANDS as readonly string[]).includes(name))
    usage(`--commands: no command ${JSON.stringify(name)}; the names are: ${COMMANDS.join(', ')}`);
  selected.add(name as Command);
}

interface Measure {
  seconds: number;
  maxRssMiB: number;
}

/** One repository's slot requests over its serve runs: round trips in ms, the highest VmHWM. */
interface SlotRun {
  /** The first request of each run, in run order. */
  firstMs: number[];
  medianMs: number;
  p90Ms: number;
  maxRssMiB: number;
}

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;
const ms2 = (ms: number): number => Math.round(ms * 100) / 100;
const say = (line: string): boolean => process.stderr.write(line + '\n');

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

/**
 * Starts serve and waits for its "ready" line; its output keeps being read (a full pipe would
 * stall it), the first few KiB kept for an error message.
 */
async function startServe(config: string): Promise<{ child: ReturnType<typeof spawnTracked>; readyMs: number }> {
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
    child.removeAllListeners('exit');
    return { child, readyMs };
  } catch (e) {
    child.removeAllListeners('exit');
    await stopTracked(child, 10_000);
    throw e;
  }
}

/** serve from spawn to "ready", then `status --json` against it; serve's VmHWM after that. */
async function serveAndStatus(config: string): Promise<{ serve: Measure; status: Measure }> {
  const { child, readyMs } = await startServe(config);
  try {
    // Exit 1 (degraded) is expected: there is no XMPP server to connect to.
    const status = await timed(['--config', config, '--json', 'status', '--once'], [0, 1]);
    const hwm = memKiB(child.pid ?? 0)?.hwm ?? NaN;
    return { serve: { seconds: Math.round(readyMs) / 1000, maxRssMiB: mib(hwm) }, status };
  } finally {
    await stopTracked(child, 10_000);
  }
}

/** How many uploads files/ holds: a count of the names, no file opened. */
async function countUploads(repo: string): Promise<number> {
  if (!existsSync(join(repo, 'files'))) return 0;
  let n = 0;
  for await (const e of await opendir(join(repo, 'files'), { bufferSize: 1024 })) if (isStoredId(e.name)) n++;
  return n;
}

/** Creates the fs store's folders in `repo` (a no-op on an existing repository). */
async function openRepo(repo: string): Promise<void> {
  await mkdir(repo, { recursive: true });
  const store = new FsStore(repo, { durable: false });
  await store.open();
  await store.close();
}

/** The index's usage total: when its last full scan began, or undefined without one. */
async function totalAt(repo: string): Promise<number | undefined> {
  return (await readTotal(new FsIndexStore(join(repo, 'index'))))?.at;
}

/** The Prosody every slot run's serve joins, and the password of its users. */
interface SlotSetup {
  prosody: XmppTestServer;
  password: string;
}

/**
 * serve with every quota set on `repo` as Prosody's component; one client's requests in a row.
 * Returns the first request's round trip, the measured ones, and serve's VmHWM (KiB) after them.
 */
async function slotRun(
  setup: SlotSetup,
  user: string,
  repo: string,
  config: string,
): Promise<{ firstMs: number; ms: number[]; hwmKiB: number }> {
  const { prosody } = setup;
  const xmpp: XmppLink = {
    host: '127.0.0.1',
    port: prosody.componentPort,
    domain: prosody.componentDomain,
    secret: prosody.componentSecret,
  };
  await writeFile(
    config,
    serveConfigXml({
      repo,
      port: await freePort(),
      contextRoot: '/upload',
      slotSecret: randomBytes(32).toString('base64url'),
      xmpp,
      properties: SLOT_PROPERTIES,
    }),
  );
  const { child } = await startServe(config);
  let t: SlotTimes;
  let hwm: number;
  try {
    t = await measureSlotTimes({
      host: '127.0.0.1',
      port: prosody.c2sPort,
      domain: 'example.org',
      user,
      password: setup.password,
      component: prosody.componentDomain,
      warmup: SLOT_WARMUP,
      requests: SLOT_REQUESTS,
    });
    hwm = memKiB(child.pid ?? 0)?.hwm ?? NaN;
  } finally {
    await stopTracked(child, 10_000);
  }
  if (t.notSlots > 0)
    throw new Error(`${t.notSlots} of the slot requests were not granted; first answer: ${t.firstNotSlot}`);
  return { firstMs: t.firstMs, ms: t.ms, hwmKiB: hwm };
}

/** Pools the runs of one repository. */
function slotSummary(runs: readonly { firstMs: number; ms: number[]; hwmKiB: number }[]): SlotRun {
  const all = runs.flatMap((r) => r.ms);
  return {
    firstMs: runs.map((r) => ms2(r.firstMs)),
    medianMs: ms2(median(all) ?? NaN),
    p90Ms: ms2(percentile(all, 90) ?? NaN),
    maxRssMiB: mib(Math.max(...runs.map((r) => r.hwmKiB))),
  };
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(values.dir ?? tmpdir(), 'fileupload-bench-retention-'));
  const repo = values.repo !== undefined ? resolve(values.repo) : join(base, 'repo');
  const rules = join(base, 'rules.xml');
  const keep = join(base, 'keep.xml');
  const serveXml = join(base, 'serve.xml');
  const slotXml = join(base, 'slots.xml');
  const load0 = loadavg();
  let slots: SlotSetup | string | undefined;
  try {
    await openRepo(repo);
    let have = await countUploads(repo);
    if (values.repo !== undefined) say(`repository ${repo}: ${have} uploads in files/ (kept at the end)`);
    const now = Date.now();
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    // The uploads already there drew their ages from the start of the same sequence.
    for (let i = 0; i < have; i++) rand();
    if (selected.has('slot request')) {
      const password = randomBytes(9).toString('hex');
      try {
        const prosody = await startProsody({
          users: SLOT_USERS.map((user) => ({ user, password, host: 'example.org' })),
          componentDomain: 'upload.example.org',
        });
        slots = { prosody, password };
        const text = (why: (typeof SLOT_PROPERTIES)[number]['why']): string =>
          SLOT_PROPERTIES.filter((p) => p.why === why)
            .map((p) => `${p.name}=${p.value}`)
            .join(' ');
        say(
          `slot request: as ${SLOT_USERS.map((u) => `${u}@example.org`).join(' and ')}; serve with ${text('quota')};`,
        );
        say(`  raised so the requests in a row are not refused: ${text('raised')}; also ${text('other')}`);
      } catch (e) {
        slots = `no Prosody: ${(e as Error).message.split('\n')[0]}`;
        say(`slot request skipped: ${slots}`);
      }
    }
    const rows: Array<{ uploads: number; command: Command; cold?: Measure; warm?: Measure }> = [];
    const slotRows: Array<{ uploads: number; state: State; empty: SlotRun; large: SlotRun }> = [];
    const slotFailures: string[] = [];
    // What the CLI costs before doing anything (Node + TypeScript stripping + commander).
    const baseline = await timed(['--version']);
    for (const n of counts) {
      if (have > n) {
        say(`${n} uploads skipped: the repository already holds ${have}`);
        continue;
      }
      const t0 = Date.now();
      if (have < n) await rm(join(repo, 'index'), { recursive: true, force: true });
      const made = n - have;
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
      if (made > 0)
        say(`created ${made} uploads, ${n} in all (${((Date.now() - t0) / 1000).toFixed(1)} s for this step)`);
      else say(`${n} uploads: all there already`);
      const plugin = (dir: string, props: string): string =>
        `<jive><plugin><httpfileupload><fileRepo>${dir}</fileRepo>${props}</httpfileupload></plugin></jive>\n`;
      await writeFile(
        rules,
        plugin(repo, `<maxAge>30d</maxAge><maxRepoSize>${Math.floor((n * BODY) / 4)}</maxRepoSize>`),
      );
      await writeFile(keep, plugin(repo, '<maxAge>90d</maxAge>'));
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

      const cli: Record<Exclude<Command, 'serve start → ready' | 'status --json' | 'slot request'>, string[]> = {
        'purge --dry-run': ['--config', rules, '--json', 'purge', '--dry-run'],
        purge: ['--config', keep, '--json', 'purge'],
        'slots ls --json': ['--config', keep, '--json', 'slots', 'ls'],
        'slots ls --user X': ['--config', keep, '--json', 'slots', 'ls', '--user', USER],
        'slots ls --limit 50': ['--config', keep, '--json', 'slots', 'ls', '--limit', '50'],
      };
      const got = new Map<Command, { cold?: Measure; warm?: Measure }>(COMMANDS.map((c) => [c, {}]));
      const note = (c: Command, s: State, m: Measure): void => {
        (got.get(c) as { cold?: Measure; warm?: Measure })[s] = m;
        say(`  ${n} ${s} ${c}: ${m.seconds} s, ${m.maxRssMiB} MiB`);
      };
      /** One `purge` under the keep rules, not measured: the index a warm command expects. */
      const buildIndex = async (why: string): Promise<void> => {
        say(`  ${n} warm: ${why}: one unmeasured \`purge\` (maxAge 90d) builds the index first`);
        await rm(join(repo, 'index'), { recursive: true, force: true });
        await timed(cli.purge);
      };
      /**
       * The slot requests on a fresh empty repository and on the large one, in `state`, in the
       * order empty, large, large, empty: a machine that gets busier or quieter during the phase
       * weighs on both alike. Each serve run starts from the state: cold removes the index first.
       */
      const slotPhase = async (setup: SlotSetup, uploads: number, state: State) => {
        const runs = {
          empty: [] as Awaited<ReturnType<typeof slotRun>>[],
          large: [] as Awaited<ReturnType<typeof slotRun>>[],
        };
        const emptyRepo = join(base, 'empty');
        await rm(emptyRepo, { recursive: true, force: true });
        await openRepo(emptyRepo);
        if (state === 'warm') {
          const keepEmpty = join(base, 'keep-empty.xml');
          await writeFile(keepEmpty, plugin(emptyRepo, '<maxAge>90d</maxAge>'));
          await timed(['--config', keepEmpty, '--json', 'purge']);
        }
        const order = [
          ['empty', SLOT_USERS[0]],
          ['large', SLOT_USERS[0]],
          ['large', SLOT_USERS[1]],
          ['empty', SLOT_USERS[1]],
        ] as const;
        for (const [which, user] of order) {
          const dir = which === 'empty' ? emptyRepo : repo;
          if (state === 'cold') await rm(join(dir, 'index'), { recursive: true, force: true });
          else if (which === 'large') {
            const at = await totalAt(repo);
            if (at === undefined) await buildIndex('no usage total in the index');
            else if (Date.now() - at > STALE_TOTAL_MS) await buildIndex('the usage total is over 25 min old');
          }
          runs[which].push(await slotRun(setup, user, dir, slotXml));
        }
        const empty = slotSummary(runs.empty);
        const large = slotSummary(runs.large);
        const perRun = (rs: typeof runs.empty): string => rs.map((r) => ms2(median(r.ms) ?? NaN)).join(', ');
        say(
          `  ${uploads} ${state} slot request, median of each run: empty ${perRun(runs.empty)}, large ${perRun(runs.large)} ms`,
        );
        say(
          `  ${uploads} ${state} slot request: median ${large.medianMs} ms, p90 ${large.p90Ms} ms (empty ${empty.medianMs}, ${empty.p90Ms}); first ${large.firstMs.join(', ')} ms (empty ${empty.firstMs.join(', ')}); serve ${large.maxRssMiB} MiB (empty ${empty.maxRssMiB})`,
        );
        return { uploads, state, empty, large };
      };
      for (const state of states) {
        if (state === 'warm' && !existsSync(join(repo, 'index')))
          await buildIndex(states.includes('cold') ? 'the cold commands ran without purge' : 'no index/');
        // Cold: index/ goes before each command; `purge` comes last, as it rebuilds the index.
        // Warm: the slot requests come after `purge`, whose usage total they then find fresh.
        const order: Array<keyof typeof cli | 'serve start → ready' | 'slot request'> = [
          'purge --dry-run',
          'slots ls --json',
          'slots ls --user X',
          'slots ls --limit 50',
          'serve start → ready',
          ...(state === 'cold' ? (['slot request', 'purge'] as const) : (['purge', 'slot request'] as const)),
        ];
        for (const c of order) {
          if (c === 'serve start → ready') {
            if (!selected.has(c) && !selected.has('status --json')) continue;
            if (state === 'cold') await rm(join(repo, 'index'), { recursive: true, force: true });
            const r = await serveAndStatus(serveXml);
            if (selected.has(c)) note(c, state, r.serve);
            if (selected.has('status --json')) note('status --json', state, r.status);
          } else if (c === 'slot request') {
            if (!selected.has(c) || typeof slots !== 'object') continue;
            try {
              const r = await slotPhase(slots, n, state);
              slotRows.push(r);
              (got.get(c) as { cold?: Measure; warm?: Measure })[state] = {
                seconds: r.large.medianMs / 1000,
                maxRssMiB: r.large.maxRssMiB,
              };
            } catch (e) {
              const why = `${n} ${state}: ${(e as Error).message.split('\n')[0]}`;
              slotFailures.push(why);
              say(`  slot request failed, ${why}`);
            }
          } else {
            if (!selected.has(c)) continue;
            if (state === 'cold') await rm(join(repo, 'index'), { recursive: true, force: true });
            note(c, state, await timed(cli[c]));
          }
        }
        // Whatever the cold commands left is not the index purge leaves: none, for a later warm
        // state (this run's or, with --repo, another's) to build.
        if (state === 'cold' && !selected.has('purge')) await rm(join(repo, 'index'), { recursive: true, force: true });
      }
      for (const c of COMMANDS) if (selected.has(c)) rows.push({ uploads: n, command: c, ...got.get(c) });
    }
    const slotOf = (uploads: number, state: State) => slotRows.find((r) => r.uploads === uploads && r.state === state);
    const cell = (r: (typeof rows)[number], state: State): string => {
      const m = r[state];
      if (!m) return '– | –';
      const s = r.command === 'slot request' ? slotOf(r.uploads, state) : undefined;
      return s
        ? `${s.large.medianMs} ms (empty ${s.empty.medianMs}) | ${m.maxRssMiB} MiB`
        : `${m.seconds} s | ${m.maxRssMiB} MiB`;
    };
    process.stdout.write('| uploads | command | cold time | cold peak RSS | warm time | warm peak RSS |\n');
    process.stdout.write('|---|---|---|---|---|---|\n');
    for (const r of rows) {
      process.stdout.write(
        `| ${r.uploads.toLocaleString('en')} | \`${r.command}\` | ${cell(r, 'cold')} | ${cell(r, 'warm')} |\n`,
      );
    }
    if (slotRows.length > 0) {
      process.stdout.write(
        `\nSlot requests, one at a time, round trip through Prosody in ms. Each repository gets two serve runs (empty, large, large, empty); per run, the first request, ${SLOT_WARMUP} unmeasured, ${SLOT_REQUESTS} measured:\n\n`,
      );
      process.stdout.write(
        '| uploads | state | first of each run: empty → large | median: empty → large | large − empty | p90: empty → large | large − empty | serve peak RSS: empty → large |\n',
      );
      process.stdout.write('|---|---|---|---|---|---|---|---|\n');
      for (const { uploads, state, empty: e, large: l } of slotRows) {
        process.stdout.write(
          `| ${uploads.toLocaleString('en')} | ${state} | ${e.firstMs.join(', ')} → ${l.firstMs.join(', ')} | ${e.medianMs} → ${l.medianMs} | ${ms2(l.medianMs - e.medianMs)} | ${e.p90Ms} → ${l.p90Ms} | ${ms2(l.p90Ms - e.p90Ms)} | ${e.maxRssMiB} → ${l.maxRssMiB} MiB |\n`,
        );
      }
    }
    if (typeof slots === 'string') process.stdout.write(`\n\`slot request\` skipped: ${slots}\n`);
    for (const why of slotFailures) process.stdout.write(`\n\`slot request\` failed at ${why}\n`);
    const la = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ');
    process.stdout.write(`\nBaseline: \`fileupload --version\` peaks at ${baseline.maxRssMiB} MiB.\n`);
    process.stdout.write(`Load average (1, 5, 15 min): ${la(load0)} at the start, ${la(loadavg())} at the end.\n`);
  } finally {
    if (typeof slots === 'object') await slots.prosody.stop();
    await cleanupAll();
    await rm(base, { recursive: true, force: true });
  }
}

void main();
