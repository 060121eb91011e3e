/**
 * `npm run build`: writes the single self-contained executable dist/fileupload (a Node 24 single
 * executable application) — esbuild bundle → SEA blob (with the sendfile addon,
 * dist/native/sendfile.node, as an asset) → stripped copy of the same node → postject.
 *
 *   scripts/node24 scripts/build.ts [--entry FILE] [--out FILE] [--no-code-cache] [--no-strip]
 *
 * --entry/--out build another entry point the same way (e.g. a throw-away check of a dependency).
 */
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundle } from './build/bundle.ts';
import { makeSea, writeLibCodeCache } from './build/sea.ts';
import { LIB_ASSET, LIB_CACHE_ASSET } from './build/lazy-lib.ts';
import { BINARY, ENTRY, NODE24 } from './build/paths.ts';
import { buildNative } from './build/native.ts';
import { SENDFILE_ASSET } from '../src/native/sendfile.ts';

/** Options of `buildBinary`. */
export interface BuildOptions {
  entry: string;
  out: string;
  useCodeCache: boolean;
  strip: boolean;
}

/**
 * Builds one executable. Intermediate files go to a private directory beside `out`, then the
 * executable is renamed into place: concurrent builds never expose a half-written binary.
 * The scripts (`<out>.cjs`, `<out>.lib.cjs`, their source maps and the lib's code cache
 * `<out>.lib.cache`) and sea-config.json are kept beside it.
 *
 * @example
 * await buildBinary({ entry: 'src/main.ts', out: 'dist/fileupload', useCodeCache: true, strip: true });
 */
export async function buildBinary(opts: BuildOptions): Promise<{ bytes: number; bundleBytes: number }> {
  const outDir = dirname(opts.out);
  const name = basename(opts.out);
  const work = join(outDir, `.build-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const mainFile = `${name}.cjs`;
    const bundled = await bundle(opts.entry, join(work, mainFile));
    // The sendfile addon (large downloads without a user-space copy) rides along as an asset;
    // an absolute path, since the blob is generated in `work`.
    const assets: Record<string, string> = { [SENDFILE_ASSET]: buildNative() };
    const kept = [mainFile, `${mainFile}.map`, 'sea-config.json'];
    if (bundled.libfile !== undefined) {
      const libFile = `${name}.${LIB_ASSET}`;
      const cacheFile = `${name}.${LIB_CACHE_ASSET}`;
      // Relative, like the main script: sea-config.json stays valid beside them in the output.
      assets[LIB_ASSET] = libFile;
      if (opts.useCodeCache) {
        writeLibCodeCache(NODE24, join(work, libFile), join(work, cacheFile));
        assets[LIB_CACHE_ASSET] = cacheFile;
        kept.push(cacheFile);
      }
      kept.push(libFile, `${libFile}.map`);
    }
    const exe = join(work, name);
    await makeSea({
      node: NODE24,
      dir: work,
      mainFile,
      output: exe,
      useCodeCache: opts.useCodeCache,
      strip: opts.strip,
      assets,
    });
    for (const file of kept) {
      await rename(join(work, file), join(outDir, file));
    }
    // Copied, not renamed: a process counts in its RSS the pages of the executable it maps, and
    // right after postject wrote the file, serve started with more of them than from a copy of
    // it or from the file read back from disk (figures: scripts/bench/README.md). The copy is
    // renamed into place from beside the output, which keeps the replacement atomic.
    const copy = join(outDir, `.${name}.${process.pid}.tmp`);
    try {
      await copyFile(exe, copy);
      await rename(copy, opts.out);
    } finally {
      await rm(copy, { force: true });
    }
    return { bytes: (await stat(opts.out)).size, bundleBytes: bundled.bytes + bundled.libBytes };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      entry: { type: 'string', default: ENTRY },
      out: { type: 'string', default: BINARY },
      'no-code-cache': { type: 'boolean', default: false },
      'no-strip': { type: 'boolean', default: false },
    },
  });
  const started = performance.now();
  const out = resolve(values.out);
  const { bytes, bundleBytes } = await buildBinary({
    entry: resolve(values.entry),
    out,
    useCodeCache: !values['no-code-cache'],
    strip: !values['no-strip'],
  });
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  const kib = (n: number): string => (n / 1024).toFixed(0);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`build: ${out} (${mib(bytes)} MiB, bundle ${kib(bundleBytes)} KiB) in ${secs} s\n`);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
