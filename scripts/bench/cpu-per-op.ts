/**
 * CPU time per request, by thread: what serve, nginx and the bare node:http reference spend on one
 * 64 KiB PUT, one HEAD and one 64 KiB GET. Throughput on a shared machine moves with everyone
 * else's load; the CPU a server's threads use for a fixed number of requests (utime + stime from
 * /proc/PID/task/TID/stat) moves much less, so A/B comparisons of builds hold up under load.
 * Each server is measured in turn, the whole round `--rounds` times (interleaved), and the
 * medians are printed: µs per request on the main thread, in libuv's pool, in other threads
 * (V8's platform workers: GC, compilation) and in total.
 *
 *   scripts/node24 scripts/bench/cpu-per-op.ts [--serve-bin PATH]... [--count N] [--rounds N]
 *
 * Several --serve-bin give an A/B of builds (copies in /tmp, say). The bare reference answers
 * PUT only. Files stay until the end: on ext4 without a journal, creating a file skips every
 * inode freed in its group in the last minutes (the kernel's recently_deleted check), so
 * deleting one round's files would make the next round's creations dearer than the first's.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanupAll, onCleanup, trackDir } from './cleanup.ts';
import { putMany } from './http-client.ts';
import { median } from './metrics.ts';
import { startNginx } from './nginx.ts';
import { startBareNode } from './bare-node.ts';
import { freePort } from './ports.ts';
import { fileuploadCommand, startServe } from './serve.ts';
import { raisedLimits, SMALL_WARM_UP } from './limits.ts';
import { newSlotId } from '../../src/slots/id.ts';

const CLK_TCK = 100;
const KiB = 1024;
const IN_FLIGHT = 32;

/** CPU seconds of each thread group of the processes `pids`: main thread, libuv pool, the rest. */
interface ThreadCpu {
  main: number;
  pool: number;
  other: number;
}

function threadCpu(pids: readonly number[]): ThreadCpu {
  const out: ThreadCpu = { main: 0, pool: 0, other: 0 };
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let text: string;
      try {
        text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
      } catch {
        continue;
      }
      const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const s = (Number(f[11]) + Number(f[12])) / CLK_TCK;
      // nginx's master is idle; its worker is the one thread doing the work.
      if (Number(tid) === pid) out.main += s;
      else if (comm.startsWith('libuv-worker')) out.pool += s;
      else out.other += s;
    }
  }
  return out;
}

/** `count` requests of `method` on `url`, IN_FLIGHT at a time on keep-alive connections. */
async function requestMany(url: string, method: 'GET' | 'HEAD', count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT, maxFreeSockets: IN_FLIGHT });
  const u = new URL(url);
  const options = { host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent };
  let next = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(options, (res) => {
        if ((res.statusCode ?? 0) >= 300) failed++;
        res.on('data', () => {});
        res.once('end', resolve);
        res.once('error', () => (failed++, resolve()));
      });
      req.once('error', () => (failed++, resolve()));
      req.end();
    });
  const worker = async () => {
    while (next++ < count) await one();
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  agent.destroy();
  if (failed > 0) throw new Error(`${failed} of ${count} ${method} requests failed`);
}

interface Subject {
  name: string;
  pids(): number[];
  urls(filename: string, size: number): { put: string; get: string };
  putOnly?: boolean;
  stop(): Promise<void>;
}

type Figures = Record<string, ThreadCpu[]>;

async function measureOne(s: Subject, count: number, figures: Figures): Promise<void> {
  const body = 64 * KiB;
  const warm = Array.from({ length: SMALL_WARM_UP }, (_, i) => s.urls(`w${i}.bin`, body).put);
  await putMany(warm, body, IN_FLIGHT, AbortSignal.timeout(60_000));
  const slots = Array.from({ length: count }, (_, i) => s.urls(`f${i}.bin`, body));
  const take = async (phase: string, fn: () => Promise<void>, n: number) => {
    const a = threadCpu(s.pids());
    await fn();
    const b = threadCpu(s.pids());
    const per = (k: keyof ThreadCpu) => ((b[k] - a[k]) / n) * 1e6;
    (figures[`${phase} ${s.name}`] ??= []).push({ main: per('main'), pool: per('pool'), other: per('other') });
  };
  await take(
    'put64k',
    async () => {
      const r = await putMany(
        slots.map((x) => x.put),
        body,
        IN_FLIGHT,
        AbortSignal.timeout(120_000),
      );
      if (r.failed > 0) throw new Error(`${s.name}: ${r.failed} of ${count} PUTs failed: ${r.firstError}`);
    },
    count,
  );
  if (s.putOnly) return;
  const url = slots[0]!.get;
  await requestMany(url, 'HEAD', 2000); // warm-up
  await take('head', () => requestMany(url, 'HEAD', count * 10), count * 10);
  await requestMany(url, 'GET', 2000);
  await take('get64k', () => requestMany(url, 'GET', count * 5), count * 5);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'serve-bin': { type: 'string', multiple: true },
      count: { type: 'string', default: '2000' },
      rounds: { type: 'string', default: '3' },
      'no-nginx': { type: 'boolean', default: false },
      'no-bare': { type: 'boolean', default: false },
    },
  });
  const count = Number(values.count);
  const rounds = Number(values.rounds);
  const bins = values['serve-bin'] ?? [fileuploadCommand().command.file];
  const base = trackDir(mkdtempSync(join(tmpdir(), 'fileupload-cpu-')));
  const xmpp = { host: '127.0.0.1', port: await freePort(), domain: 'upload.localhost', secret: 'bench-no-xmpp' };
  const figures: Figures = {};
  try {
    for (let round = 0; round < rounds; round++) {
      const dir = join(base, `r${round}`);
      const starters: (() => Promise<Subject>)[] = bins.map((file, i) => async () => {
        const s = await startServe({
          command: { file, kind: 'custom' },
          dir: join(dir, `serve${i}`),
          repo: join(dir, `serve${i}-repo`),
          xmpp,
          properties: raisedLimits({ slowCount: 1 }),
        });
        return { name: bins.length > 1 ? `serve:${basename(file)}` : 'serve', ...s, urls: s.mint, stop: s.stop };
      });
      if (!values['no-nginx'])
        starters.push(async () => {
          const n = await startNginx({ dir: join(dir, 'nginx'), root: join(dir, 'nginx-root') });
          return {
            name: 'nginx',
            pids: n.pids,
            urls: (f) => {
              const url = `http://127.0.0.1:${n.port}/upload/${newSlotId()}/${f}`;
              return { put: url, get: url };
            },
            stop: n.stop,
          };
        });
      if (!values['no-bare'])
        starters.push(async () => {
          const root = join(dir, 'bare');
          mkdirSync(root, { recursive: true });
          const b = await startBareNode(root);
          return {
            name: 'bare',
            pids: () => [b.pid],
            urls: (f) => ({ put: `http://127.0.0.1:${b.port}/${f}`, get: '' }),
            putOnly: true,
            stop: b.stop,
          };
        });
      // Rotate the order each round so no server always follows another.
      const order = starters.map((_, i) => starters[(i + round) % starters.length]!);
      for (const start of order) {
        const s = await start();
        const off = onCleanup(s.stop);
        try {
          await measureOne(s, count, figures);
        } finally {
          off();
          await s.stop();
        }
      }
    }
  } finally {
    await cleanupAll();
  }
  const f = (n: number) => n.toFixed(0).padStart(6);
  process.stdout.write(`µs of CPU per request, medians of ${rounds} rounds (${count} PUTs of 64 KiB, 32 in flight)\n`);
  process.stdout.write(`${'phase server'.padEnd(32)}  main    pool   other   total\n`);
  for (const [k, list] of Object.entries(figures).sort(([a], [b]) => a.localeCompare(b))) {
    const m = (g: (t: ThreadCpu) => number) => median(list.map(g)) ?? 0;
    process.stdout.write(
      `${k.padEnd(32)} ${f(m((t) => t.main))}  ${f(m((t) => t.pool))}  ${f(m((t) => t.other))}  ${f(m((t) => t.main + t.pool + t.other))}` +
        `   main by round: ${list.map((t) => t.main.toFixed(0)).join(' ')}\n`,
    );
  }
}

await main();
