import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
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
 * commander's lib/command.js: node:child_process (with net, dgram and the stream stack behind it)
 * is loaded only when a subcommand is an external executable, which fileupload never registers.
 */
export const COMMANDER_PATCHES: readonly Patch[] = [
  {
    why: 'node:child_process loaded at start-up for executable subcommands only',
    find: "import childProcess from 'node:child_process';",
    replace:
      "const childProcess = { spawn: (...args) => process.getBuiltinModule('node:child_process').spawn(...args) };",
  },
];

/**
 * An esbuild plugin applying `patches` to the files matching `filter`, failing loudly when one no
 * longer applies.
 */
function patchPlugin(name: string, filter: RegExp, patches: readonly Patch[]): Plugin {
  return {
    name,
    setup(build) {
      build.onLoad({ filter }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        return { contents: applyPatches(source, patches, args.path), loader: 'js' };
      });
    },
  };
}

/**
 * Neutralises the two dev-only top-level awaits in ink's reconciler, failing loudly when the
 * patch no longer applies.
 *
 * @example
 * await esbuild.build({ bundle: true, format: 'cjs', plugins: [inkReconcilerPlugin()] });
 */
export function inkReconcilerPlugin(): Plugin {
  return patchPlugin(
    'ink-reconciler-patch',
    /[\\/]node_modules[\\/]ink[\\/]build[\\/]reconciler\.js$/,
    INK_RECONCILER_PATCHES,
  );
}

/**
 * Keeps commander from loading node:child_process before it spawns anything, so `--help` and every
 * subcommand start without it.
 *
 * @example
 * await esbuild.build({ bundle: true, format: 'cjs', plugins: [commanderLazySpawnPlugin()] });
 */
export function commanderLazySpawnPlugin(): Plugin {
  return patchPlugin(
    'commander-lazy-spawn',
    /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/,
    COMMANDER_PATCHES,
  );
}

/** The module (bundled into the main script) that loads the lib; see scripts/build/lazy-lib.ts. */
export const LAZY_LIB = fileURLToPath(new URL('./lazy-lib.ts', import.meta.url));

/**
 * Keeps out of the bundle every module the bundle reaches only through `import()`: each such
 * `import()` gets, instead, the module from the lib script (scripts/build/lazy-lib.ts), and
 * `found` collects them (key: the path relative to `root` → absolute path) for the lib's build.
 * Node built-ins stay plain `import()`s.
 *
 * @example
 * const lazy = new Map<string, string>();
 * await esbuild.build({ bundle: true, format: 'cjs', plugins: [lazyImportsPlugin(lazy, ROOT)] });
 */
export function lazyImportsPlugin(found: Map<string, string>, root: string): Plugin {
  return {
    name: 'lazy-lib',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === LAZY_LIB) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: LAZY_LIB,
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external) return undefined;
        const key = relative(root, resolved.path);
        found.set(key, resolved.path);
        return { path: key, namespace: 'fileupload-lib' };
      });
      build.onLoad({ filter: /.*/, namespace: 'fileupload-lib' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(LAZY_LIB)}).lazyModule(${JSON.stringify(args.path)});`,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}
