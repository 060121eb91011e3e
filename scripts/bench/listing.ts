/**
 * Benchmark (not a test): wall time and peak memory of `slots ls` over a large repository whose
 * index is warm — every upload's per-user `stored/` entry written, as serve writes it under a
 * per-user quota (the default: dailyQuota) — listed from the index, and the same repository with
 * the per-user quota off (dailyQuota 0), where every listing scans the store.
 *
 *   scripts/node24 scripts/bench/listing.ts [--count 100000] [--dir /var/tmp] [--index-only]
 *
 * --index-only measures only the listings the index answers (--limit 50, --user), which is what
 * a million uploads leaves time for.
 *
 * Uploads are written in the fs store's own format with small bodies (64 bytes), storedAt spread
 * over 60 days, 1000 uploaders (so --user lists a thousandth of them). Each command runs under
 * /usr/bin/time (elapsed seconds, max RSS = the process's VmHWM at exit); the page cache is warm
 * (the files were just written).
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
import { FsIndexStore } from '../../src/inventory/index-store/fs.ts';
import { paths, storedName, userKey } from '../../src/inventory/names.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// FILEUPLOAD_BIN=dist/fileupload measures the single binary (the sources add the type-stripping loader).
const BIN = process.env.FILEUPLOAD_BIN ?? join(ROOT, 'bin', 'fileupload');
const BODY = 64;
const DAY = 86_400_000;
const USERS = 1000;

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    dir: { type: 'string' },
    'index-only': { type: 'boolean', default: false },
  },
});
const count = Number(values.count);

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
  const repo = await mkdtemp(join(values.dir ?? tmpdir(), 'fileupload-bench-listing-'));
  const config = join(repo, '..', `${repo.split('/').pop()}.xml`);
  try {
    const store = new FsStore(repo, { durable: false });
    await store.open();
    await store.close();
    const index = new FsIndexStore(join(repo, 'index'));
    const now = Date.now();
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const t0 = Date.now();
    const batch: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const age = Math.floor(rand() * 60 * DAY) + 120_000;
      const meta: UploadMeta = {
        id: newSlotId(),
        filename: `file-${i}.jpg`,
        size: BODY,
        contentType: 'image/jpeg',
        uploader: `user${i % USERS}@example.org`,
        issuedAt: now - age - 1000,
        storedAt: now - age,
        purpose: i % 10 === 0 ? 'profile' : 'message',
      };
      batch.push(
        writeFile(join(repo, 'files', meta.id), Buffer.concat([encodeHeader(meta), Buffer.alloc(BODY, 0x61)]), {
          flag: 'wx',
        }),
        index.put(`${paths.stored(userKey(meta.uploader))}/${storedName(meta)}`),
      );
      if (batch.length >= 256) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    process.stderr.write(
      `created ${count} uploads and their index entries in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const xml = (extra: string): string =>
      `<jive><plugin><httpfileupload><fileRepo>${repo}</fileRepo><maxAge>30d</maxAge>${extra}</httpfileupload></plugin></jive>\n`;
    const commands: Array<[string, string[]]> = [
      ['slots ls --limit 50', ['slots', 'ls', '--limit', '50']],
      ['slots ls --user X', ['slots', 'ls', '--user', 'user7@example.org']],
      ['slots ls --json', ['--json', 'slots', 'ls']],
    ];
    const rows: string[] = [];
    const modes: Array<[string, string]> = [['index (default dailyQuota)', '']];
    if (!values['index-only']) modes.push(['scan (dailyQuota 0)', '<dailyQuota>0</dailyQuota>']);
    for (const [mode, extra] of modes) {
      await writeFile(config, xml(extra));
      for (const [name, args] of values['index-only'] ? commands.slice(0, 2) : commands) {
        const m = await timed(['--config', config, ...args]);
        process.stderr.write(`  ${mode}: ${name}: ${m.seconds} s, ${m.maxRssMiB} MiB\n`);
        rows.push(`| ${count.toLocaleString('en')} | ${mode} | \`${name}\` | ${m.seconds} s | ${m.maxRssMiB} MiB |`);
      }
    }
    process.stdout.write(
      `| uploads | listed from | command | time | peak RSS |\n|---|---|---|---|---|\n${rows.join('\n')}\n`,
    );
  } finally {
    await rm(repo, { recursive: true, force: true });
    await rm(config, { force: true });
  }
}

void main();
