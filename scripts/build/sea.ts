import { execFileSync } from 'node:child_process';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inject } from 'postject';

/** The fuse Node checks to know a SEA blob was injected (fixed by Node, see `node --help`'s SEA docs). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Node options the executable always runs with (sea-config.json `execArgv`); bin/fileupload
 * passes the same ones to the sources. All three keep `serve` within its memory budget
 * (measured with `npm run bench` and test/e2e/memory-1gib.test.ts):
 *
 * - `--max-semi-space-size=2`: V8's young generation otherwise grows to 3 × 16 MiB under load;
 *   a 1 GiB upload peaked at ~150 MiB RSS with the default, ~115 MiB with this.
 * - `--max-old-space-size=1024`: V8 lets the old generation grow to 4 × its live size between
 *   full collections when the heap limit is large (the default here is ~4 GiB); at 1 GiB the
 *   factor is ~1.6, so garbage promoted under load is collected sooner. serve's live heap is
 *   tens of MiB (~27 KiB per running upload).
 * - `--expose-gc`: lets src/http/memory.ts reclaim dead request-body buffers under heavy upload
 *   load.
 */
export const SEA_EXEC_ARGV: readonly string[] = ['--max-semi-space-size=2', '--max-old-space-size=1024', '--expose-gc'];

/**
 * Writes V8's code cache of the lib script (scripts/build/lazy-lib.ts) to `cacheFile`: `node`
 * compiles the lib as the executable will, under the options it runs with (V8 rejects a cache
 * made under other flags), then checks that a second compile accepts it.
 *
 * @example
 * writeLibCodeCache(NODE24, 'dist/fileupload.lib.cjs', 'dist/fileupload.lib.cache');
 */
export function writeLibCodeCache(node: string, libFile: string, cacheFile: string): void {
  const lazyLib = pathToFileURL(join(import.meta.dirname, 'lazy-lib.ts')).href;
  const code = `
    import { readFileSync, writeFileSync } from 'node:fs';
    import { Script } from 'node:vm';
    import { wrapLib } from ${JSON.stringify(lazyLib)};
    const [lib, out] = process.argv.slice(1);
    const source = wrapLib(readFileSync(lib, 'utf8'));
    writeFileSync(out, new Script(source, { filename: lib }).createCachedData());
    if (new Script(source, { filename: lib, cachedData: readFileSync(out) }).cachedDataRejected) {
      throw new Error('V8 rejects the code cache it just made');
    }`;
  execFileSync(node, [...SEA_EXEC_ARGV, '--input-type=module', '--eval', code, libFile, cacheFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** What `makeSea` needs. */
export interface SeaOptions {
  /** The node binary that both generates the blob and becomes the executable (must be the same one). */
  node: string;
  /** Directory holding `mainFile`; the blob and sea-config.json are written there too. */
  dir: string;
  /** CommonJS bundle file name inside `dir`. */
  mainFile: string;
  /** Path of the executable to write (not yet marked executable until complete). */
  output: string;
  /** Embed V8's compiled code for the bundle (faster start-up, larger binary). */
  useCodeCache: boolean;
  /** Run `strip` on the copied node before injection (~12 MiB smaller). */
  strip: boolean;
  /** Files embedded in the blob, by asset key (read at run time with node:sea getRawAsset). */
  assets?: Record<string, string>;
}

/**
 * Makes a Node single executable application: writes sea-config.json, generates the blob with
 * `opts.node`, copies that same node to `opts.output`, strips it and injects the blob with postject.
 *
 * @example
 * await makeSea({ node, dir: 'dist/.work', mainFile: 'fileupload.cjs', output: 'dist/x',
 *                 useCodeCache: true, strip: true, assets: { 'sendfile.node': 'dist/native/sendfile.node' } });
 */
export async function makeSea(opts: SeaOptions): Promise<void> {
  const blobFile = 'fileupload.blob';
  const config = {
    main: opts.mainFile,
    output: blobFile,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: opts.useCodeCache,
    execArgv: SEA_EXEC_ARGV,
    ...(opts.assets ? { assets: opts.assets } : {}),
  };
  // Relative paths: node resolves them against its working directory, and the file stays valid
  // when moved into dist/ beside the bundle.
  await writeFile(join(opts.dir, 'sea-config.json'), JSON.stringify(config, null, 2) + '\n');
  // The code cache is only accepted by a V8 configured like the one that made it: generate it
  // under the same options the executable will run with.
  execFileSync(opts.node, [...SEA_EXEC_ARGV, '--experimental-sea-config', 'sea-config.json'], {
    cwd: opts.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const blob = await readFile(join(opts.dir, blobFile));

  await copyFile(opts.node, opts.output);
  await chmod(opts.output, 0o644);
  if (opts.strip) {
    try {
      execFileSync('strip', [opts.output], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      throw new Error(`build: strip failed (install binutils): ${String(err)}`);
    }
  }
  await quietly(() => inject(opts.output, 'NODE_SEA_BLOB', blob, { sentinelFuse: SEA_FUSE }));
  await chmod(opts.output, 0o755);
}

// postject's ELF writer (LIEF) warns "Can't find string offset for section name '.note…'" a dozen
// times on every Node binary; it is harmless (Node's SEA docs say so) and drowns real messages.
const HARMLESS_WARNING = /^warning: Can't find string offset for section name/;

async function quietly<T>(run: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]): void => {
    if (!HARMLESS_WARNING.test(String(args[0]))) warn(...args);
  };
  try {
    return await run();
  } finally {
    console.warn = warn;
  }
}
