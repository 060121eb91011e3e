import { execFileSync } from 'node:child_process';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'postject';

/** The fuse Node checks to know a SEA blob was injected (fixed by Node, see `node --help`'s SEA docs). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

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
}

/**
 * Makes a Node single executable application: writes sea-config.json, generates the blob with
 * `opts.node`, copies that same node to `opts.output`, strips it and injects the blob with postject.
 *
 * @example
 * await makeSea({ node, dir: 'dist/.work', mainFile: 'fileupload.cjs', output: 'dist/x',
 *                 useCodeCache: true, strip: true });
 */
export async function makeSea(opts: SeaOptions): Promise<void> {
  const blobFile = 'fileupload.blob';
  const config = {
    main: opts.mainFile,
    output: blobFile,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: opts.useCodeCache,
  };
  // Relative paths: node resolves them against its working directory, and the file stays valid
  // when moved into dist/ beside the bundle.
  await writeFile(join(opts.dir, 'sea-config.json'), JSON.stringify(config, null, 2) + '\n');
  execFileSync(opts.node, ['--experimental-sea-config', 'sea-config.json'], {
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
