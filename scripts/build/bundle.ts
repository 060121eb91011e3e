import * as esbuild from 'esbuild';
import { relative } from 'node:path';
import { commanderLazySpawnPlugin, inkReconcilerPlugin, lazyImportsPlugin, yogaShimPlugin } from './esbuild-plugins.ts';
import { LIB_ASSET } from './lazy-lib.ts';
import { ROOT } from './paths.ts';

/** What `bundle` wrote and what went into it. */
export interface BundleResult {
  /** The CommonJS bundle: the main script. */
  outfile: string;
  /** The lib script beside it (`<name>.lib.cjs`), or undefined when the entry imports nothing lazily. */
  libfile: string | undefined;
  /** Input files (relative to the working directory) of both, as esbuild's metafiles list them. */
  inputs: string[];
  /** Size of the main script and of the lib script. */
  bytes: number;
  libBytes: number;
}

// A CommonJS bundle has no import.meta: code that reads it gets values describing the bundle's
// own file, which inside the single binary is the executable itself (__filename = execPath).
const IMPORT_META_URL = '__fileupload_import_meta_url';
const BANNER = `var ${IMPORT_META_URL}=require("node:url").pathToFileURL(__filename).href;`;

/**
 * Modules in both scripts are evaluated twice, once in each, with two sets of state and of
 * classes (an `instanceof` across the two fails). Only these stateless ones may be; any other
 * stops the build, to be made lazy in the main script or moved out of its reach.
 */
export const SHARED_MODULES: readonly string[] = [
  'package.json',
  'src/errno.ts',
  'src/version.ts',
  'src/config/default-path.ts',
];

/**
 * Bundles `entry` into minified CommonJS for Node 24 (a Node 24 single executable takes a
 * CommonJS main only), as two scripts (scripts/build/lazy-lib.ts says why): `outfile` with what
 * the entry imports statically, and `<name>.lib.cjs` with every module it reaches through
 * `import()` and all they import. JSON imports are inlined, React runs its production build,
 * `yoga-layout` and ink's reconciler are made top-level-await free, and commander loads
 * node:child_process only when it spawns. External source maps are written beside the scripts;
 * none is embedded.
 *
 * @example
 * const { bytes, libfile } = await bundle('src/main.ts', 'dist/fileupload.cjs');
 */
export async function bundle(entry: string, outfile: string): Promise<BundleResult> {
  const common: esbuild.BuildOptions & { metafile: true } = {
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    sourcemap: 'external',
    metafile: true,
    logLevel: 'warning',
    define: {
      'process.env.NODE_ENV': '"production"',
      'import.meta.url': IMPORT_META_URL,
      'import.meta.filename': '__filename',
      'import.meta.dirname': '__dirname',
    },
    banner: { js: BANNER },
  };
  const plugins = [yogaShimPlugin(), inkReconcilerPlugin(), commanderLazySpawnPlugin()];
  const lazy = new Map<string, string>();
  const main = await esbuild.build({
    ...common,
    entryPoints: [entry],
    outfile,
    // First: it sees every import() before another plugin resolves it.
    plugins: [lazyImportsPlugin(lazy, ROOT), ...plugins],
  });
  const mainInputs = Object.keys(main.metafile.inputs).filter((f) => !f.startsWith('fileupload-lib:'));
  const result: BundleResult = {
    outfile,
    libfile: undefined,
    inputs: mainInputs,
    bytes: outputBytes(main.metafile),
    libBytes: 0,
  };
  if (lazy.size === 0) return result;

  const libfile = `${outfile.replace(/\.cjs$/, '')}.${LIB_ASSET}`;
  const modules = [...lazy].map(([key, path]) => `  ${JSON.stringify(key)}: () => require(${JSON.stringify(path)}),`);
  const lib = await esbuild.build({
    ...common,
    stdin: { contents: `module.exports = {\n${modules.join('\n')}\n};\n`, resolveDir: ROOT, loader: 'js' },
    outfile: libfile,
    plugins,
  });
  const libInputs = Object.keys(lib.metafile.inputs).filter((f) => f !== '<stdin>');
  const rel = (f: string) => relative(ROOT, f);
  const mainSet = new Set(mainInputs.map(rel));
  const shared = libInputs.map(rel).filter((f) => mainSet.has(f) && !SHARED_MODULES.includes(f));
  if (shared.length > 0) {
    throw new Error(
      `build: ${shared.join(', ')} would be evaluated twice, in the main script and in the lib ` +
        `(see SHARED_MODULES in scripts/build/bundle.ts)`,
    );
  }
  return {
    ...result,
    libfile,
    inputs: [...new Set([...mainInputs, ...libInputs])],
    libBytes: outputBytes(lib.metafile),
  };
}

function outputBytes(metafile: esbuild.Metafile): number {
  return Object.entries(metafile.outputs).find(([file]) => file.endsWith('.cjs'))?.[1].bytes ?? 0;
}
