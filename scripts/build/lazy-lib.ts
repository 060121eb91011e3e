/**
 * Part of the bundle (scripts/build/bundle.ts), not of the build: the single binary carries two
 * scripts. The main one holds what every command runs (the command line, commander); the second
 * one, the "lib", holds every module the main one reaches only through `import()` (serve, the
 * storage, the XMPP component, ink…). Node compiles the main script at every start, so `--help`
 * would otherwise pay for all of it; the lib is compiled (from its own V8 code cache) on the
 * first `import()` that needs it. In the executable the lib and its code cache are assets of the
 * single executable application; run as plain files (dist/fileupload.cjs on Node) they are the
 * files beside it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Script } from 'node:vm';

/** Asset key (and file name suffix) of the lib script. */
export const LIB_ASSET = 'lib.cjs';
/** Asset key (and file name suffix) of the lib's V8 code cache. */
export const LIB_CACHE_ASSET = 'lib.cache';

/** The lib's `module.exports`: each module reached through `import()`, by its key. */
export type LibModules = Record<string, () => unknown>;

/**
 * The lib's source as a function of the CommonJS module arguments, the way Node wraps a module:
 * the build compiles exactly this text for the code cache, so the cache fits.
 *
 * @example
 * new Script(wrapLib(source), { filename: 'fileupload.lib.cjs' });
 */
export function wrapLib(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

let lib: LibModules | undefined;

/**
 * The namespace (or CommonJS exports) of the module `key`, loading the lib on first use.
 *
 * @example
 * module.exports = lazyModule('src/serve/index.ts'); // what the bundle puts in place of import()
 */
export function lazyModule(key: string): unknown {
  lib ??= loadLib();
  const load = lib[key];
  if (load === undefined) throw new Error(`the single binary's lib has no module ${key}`);
  return load();
}

function loadLib(): LibModules {
  const sea = process.getBuiltinModule('node:sea');
  const file = `${__filename.replace(/\.cjs$/, '')}.${LIB_ASSET}`;
  let source: string;
  let cachedData: Buffer | undefined;
  if (sea.isSea()) {
    source = sea.getAsset(LIB_ASSET, 'utf8');
    try {
      cachedData = Buffer.from(sea.getRawAsset(LIB_CACHE_ASSET));
    } catch {
      // Built with --no-code-cache.
    }
  } else {
    source = readFileSync(file, 'utf8');
    const cache = `${__filename.replace(/\.cjs$/, '')}.${LIB_CACHE_ASSET}`;
    if (existsSync(cache)) cachedData = readFileSync(cache);
  }
  const script = new Script(wrapLib(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  // A rejected cache costs start-up time only (V8 compiles the source instead).
  if (script.cachedDataRejected === true && process.env.FILEUPLOAD_DEBUG) {
    process.stderr.write(`fileupload: the lib's code cache was rejected; compiling it\n`);
  }
  const module = { exports: {} as LibModules };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, __filename, __dirname);
  return module.exports;
}
