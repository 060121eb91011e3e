import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

/** Absolute path of the module that replaces `yoga-layout` in the bundle. */
export const YOGA_SHIM = fileURLToPath(new URL('./yoga-shim.ts', import.meta.url));

/**
 * Resolves exactly `yoga-layout` (not `yoga-layout/load`, which the shim itself imports) to the
 * shim: the package's default entry holds a top-level await that a CommonJS bundle cannot contain.
 * esbuild's `alias` would also rewrite `yoga-layout/load`, hence a plugin matching the exact name.
 *
 * @example
 * await esbuild.build({ bundle: true, format: 'cjs', plugins: [yogaShimPlugin()] });
 */
export function yogaShimPlugin(): Plugin {
  return {
    name: 'yoga-shim',
    setup(build) {
      build.onResolve({ filter: /^yoga-layout$/ }, () => ({ path: YOGA_SHIM }));
    },
  };
}

/** One exact textual replacement; it must match exactly once or the build fails. */
export interface Patch {
  /** What the replacement does, for the error message. */
  why: string;
  find: string;
  replace: string;
}

/** ink's build/reconciler.js: two dev-only top-level awaits (only run when DEV=true). */
export const INK_RECONCILER_PATCHES: readonly Patch[] = [
  {
    why: 'dev-only React devtools import (top-level await)',
    find: "await import('./devtools.js');",
    replace: '/* fileupload: React devtools are not part of the single binary */',
  },
  {
    why: 'dev-only package.json read (top-level await, import.meta.url)',
    find: '? await loadPackageJson()',
    replace: '? { name: undefined, version: undefined }',
  },
];

/**
 * Applies every patch to `source`, throwing (naming `file` and the patch) when one does not match
 * exactly once — so an ink upgrade that moves the code breaks the build instead of the binary.
 *
 * @example
 * applyPatches('if (x) await import(\'./devtools.js\');', INK_RECONCILER_PATCHES.slice(0, 1), 'r.js');
 */
export function applyPatches(source: string, patches: readonly Patch[], file: string): string {
  let out = source;
  for (const patch of patches) {
    const count = out.split(patch.find).length - 1;
    if (count !== 1) {
      throw new Error(
        `build: cannot patch ${file} (${patch.why}): expected exactly 1 occurrence of ` +
          `${JSON.stringify(patch.find)}, found ${count}. Did ink change? Update scripts/build/esbuild-plugins.ts.`,
      );
    }
    out = out.replace(patch.find, () => patch.replace);
  }
  return out;
}

/**
 * Neutralises the two dev-only top-level awaits in ink's reconciler, failing loudly when the
 * patch no longer applies.
 *
 * @example
 * await esbuild.build({ bundle: true, format: 'cjs', plugins: [inkReconcilerPlugin()] });
 */
export function inkReconcilerPlugin(): Plugin {
  return {
    name: 'ink-reconciler-patch',
    setup(build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/]ink[\\/]build[\\/]reconciler\.js$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        return { contents: applyPatches(source, INK_RECONCILER_PATCHES, args.path), loader: 'js' };
      });
    },
  };
}
