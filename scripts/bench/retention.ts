/**
 * Benchmark (not a test): wall time and peak memory of `purge --dry-run` and `slots ls --json`
 * over 25,000 / 50,000 / 100,000 stored uploads, to show memory stays flat as the count grows.
 *
 *   scripts/node24 scripts/bench/retention.ts [--counts 25000,50000,100000] [--dir /var/tmp]
 *
 * Uploads are written in the fs store's own format with small bodies (64 bytes), storedAt spread
 * over 60 days, 1000 uploaders. The configuration sets maxAge 30d and a maxRepoSize of a quarter
 * of the bytes, so purge runs both age rules and the two-pass oldest-first selection. Each command
 * runs under /usr/bin/time (elapsed seconds, max RSS = the process's VmHWM at exit).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FsStore } from '../../src/storage/fs/index.ts';
import { encodeHeader } from '../../src/storage/fs/format.ts';
import { newSlotId } from '../../src/slots/id.ts';
import type { UploadMeta } from '../../src/storage/store.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// FILEUPLOAD_BIN=dist/fileupload measures the single binary (the sources add the type-stripping loader).
const BIN = process.env.FILEUPLOAD_BIN ?? join(ROOT, 'bin', 'fileupload');
const BODY = 64;
const DAY = 86_400_000;

const { values } = parseArgs({
  options: { counts: { type: 'string', default: '25000,50000,100000' }, dir: { type: 'string' } },
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

function timed(args: string[]): Promise<Measure> {
  return new Promise((resolve, reject) => {
    // stdout goes to /dev/null via sh so the measured process writes at full speed.
    const cmd = `/usr/bin/time -f '%e %M' ${[BIN, ...args].map((a) => `'${a}'`).join(' ')} > /dev/null`;
    execFile('/bin/sh', ['-c', cmd], { maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (err) return reject(new Error(`${args.join(' ')} failed: ${stderr}`));
      const last = stderr.trim().split('\n').pop() ?? '';
      const [s, kib] = last.split(' ').map(Number);
      resolve({ seconds: s ?? NaN, maxRssMiB: Math.round(((kib ?? NaN) / 1024) * 10) / 10 });
    });
  });
}

async function main(): Promise<void> {
  const repo = await mkdtemp(join(values.dir ?? tmpdir(), 'fileupload-bench-retention-'));
  const config = join(repo, '..', `${repo.split('/').pop()}.xml`);
  try {
    const store = new FsStore(repo, { durable: false });
    await store.open();
    await store.close();
    const now = Date.now();
    let have = 0;
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const rows: Array<{ uploads: number; purge: Measure; slots: Measure }> = [];
    // What the CLI costs before doing anything (Node + TypeScript stripping + commander).
    const baseline = await timed(['--version']);
    for (const n of counts) {
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
      const xml = `<jive><plugin><httpfileupload><fileRepo>${repo}</fileRepo><maxAge>30d</maxAge><maxRepoSize>${Math.floor((n * BODY) / 4)}</maxRepoSize></httpfileupload></plugin></jive>\n`;
      await writeFile(config, xml);
      const purge = await timed(['--config', config, '--json', 'purge', '--dry-run']);
      const slots = await timed(['--config', config, '--json', 'slots', 'ls']);
      rows.push({ uploads: n, purge, slots });
      process.stderr.write(
        `  purge --dry-run: ${purge.seconds} s, ${purge.maxRssMiB} MiB; slots ls --json: ${slots.seconds} s, ${slots.maxRssMiB} MiB\n`,
      );
    }
    process.stdout.write(
      '| uploads | purge --dry-run time | purge --dry-run peak RSS | slots ls --json time | slots ls --json peak RSS |\n|---|---|---|---|---|\n',
    );
    for (const r of rows) {
      process.stdout.write(
        `| ${r.uploads.toLocaleString('en')} | ${r.purge.seconds} s | ${r.purge.maxRssMiB} MiB | ${r.slots.seconds} s | ${r.slots.maxRssMiB} MiB |\n`,
      );
    }
    process.stdout.write(`\nBaseline: \`fileupload --version\` peaks at ${baseline.maxRssMiB} MiB.\n`);
  } finally {
    await rm(repo, { recursive: true, force: true });
    await rm(config, { force: true });
  }
}

void main();
