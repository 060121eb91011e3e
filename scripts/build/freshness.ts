import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BINARY, NODE24, ROOT } from './paths.ts';

/** What the binary is made of: a change to any of these makes dist/fileupload stale. */
const SOURCE_ROOTS = ['src', 'scripts/build', 'scripts/build.ts', 'package.json', 'package-lock.json', 'types'];

function newestMtime(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return path.endsWith('.test.ts') ? 0 : st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file shows only as a newer directory
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/**
 * True when `binary` is missing or older than any source that goes into it (tests excluded).
 *
 * @example
 * if (binaryIsStale()) console.log('run npm run build');
 */
export function binaryIsStale(binary: string = BINARY): boolean {
  const built = statSync(binary, { throwIfNoEntry: false });
  if (!built) return true;
  const newest = Math.max(...SOURCE_ROOTS.map((p) => newestMtime(join(ROOT, p))));
  return newest > built.mtimeMs;
}

const LOCK = join(ROOT, 'dist', '.ensure-lock');

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the build lock, or returns false when another live process holds it. */
function tryLock(): boolean {
  try {
    mkdirSync(LOCK, { recursive: false });
    writeFileSync(join(LOCK, 'pid'), String(process.pid));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number(readFileSync(join(LOCK, 'pid'), { encoding: 'utf8', flag: 'a+' }));
    // A holder that died (or has not written its pid within the wait below) is stale.
    if (holder > 0 && !pidAlive(holder)) rmSync(LOCK, { recursive: true, force: true });
    return false;
  }
}

/**
 * Returns the path of dist/fileupload, building it first (`npm run build`'s script, on Node 24)
 * when it is missing or stale. Test files running in parallel take turns through a lock
 * directory, so only one of them builds. Throws with the build's output when the build fails.
 *
 * @example
 * const bin = await ensureBinary();
 * execFileSync(bin, ['--version']);
 */
export async function ensureBinary(): Promise<string> {
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (let attempt = 0; attempt < 1200; attempt++) {
    if (!binaryIsStale()) return BINARY;
    if (tryLock()) {
      try {
        if (!binaryIsStale()) return BINARY;
        const run = spawnSync(NODE24, [join(ROOT, 'scripts', 'build.ts')], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          encoding: 'utf8',
        });
        if (run.status !== 0) {
          throw new Error(`build failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
        }
        return BINARY;
      } finally {
        rmSync(LOCK, { recursive: true, force: true });
      }
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for another build (lock ${LOCK})`);
}
