import * as esbuild from 'esbuild';
import { commanderLazySpawnPlugin, inkReconcilerPlugin, yogaShimPlugin } from './esbuild-plugins.ts';

/** What `bundle` wrote and what went into it. */
export interface BundleResult {
  /** The CommonJS bundle. */
  outfile: string;
  /** Input files (relative to the working directory), as esbuild's metafile lists them. */
  inputs: string[];
  bytes: number;
}

// A CommonJS bundle has no import.meta: code that reads it gets values describing the bundle's
// own file, which inside the single binary is the executable itself (__filename = execPath).
const IMPORT_META_URL = '__fileupload_import_meta_url';
const BANNER = `var ${IMPORT_META_URL}=require("node:url").pathToFileURL(__filename).href;`;

/**
 * Bundles `entry` and everything it imports into one minified CommonJS file for Node 24
 * (a Node 24 single executable takes a CommonJS main only). JSON imports are inlined, React runs
 * its production build, `yoga-layout` and ink's reconciler are made top-level-await free, and
 * commander loads node:child_process only when it spawns.
 * An external source map is written beside the bundle; none is embedded.
 *
 * @example
 * const { bytes } = await bundle('src/main.ts', 'dist/fileupload.cjs');
 */
export async function bundle(entry: string, outfile: string): Promise<BundleResult> {
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
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
    plugins: [yogaShimPlugin(), inkReconcilerPlugin(), commanderLazySpawnPlugin()],
  });
  const out = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.cjs'));
  return {
    outfile,
    inputs: Object.keys(result.metafile.inputs),
    bytes: out?.[1].bytes ?? 0,
  };
}
