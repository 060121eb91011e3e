/**
 * What the single binary loads before it answers: `--help` and `--version` must not load what
 * only a subcommand needs. Runs the binary's own bundle (dist/fileupload.cjs, built with it) on
 * the same Node with a preloaded script that lists the Node built-in modules loaded after start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinary } from '../scripts/build/freshness.ts';
import { SEA_EXEC_ARGV } from '../scripts/build/sea.ts';
import { NODE24 } from '../scripts/build/paths.ts';

let dir = '';
let bundle = '';
let preload = '';

before(async () => {
  bundle = `${await ensureBinary()}.cjs`;
  dir = mkdtempSync(join(tmpdir(), 'fileupload-startup-'));
  preload = join(dir, 'loaded.cjs');
  // Prints, at exit, the built-in modules loaded after Node's own start-up, one per line on fd 3.
  writeFileSync(
    preload,
    `const before = new Set(process.moduleLoadList);
     process.on('exit', () => require('node:fs').writeSync(3, process.moduleLoadList
       .filter((m) => !before.has(m) && m.startsWith('NativeModule ')).map((m) => m.slice(13)).join('\\n')));`,
  );
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The built-in modules `fileupload ARGS` loads, and its exit status. */
function loadedBy(args: string[]): { status: number | null; modules: Set<string> } {
  const r = spawnSync(NODE24, [...SEA_EXEC_ARGV, '--require', preload, bundle, ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
    timeout: 30_000,
  });
  const out = r.output[3] ?? '';
  return { status: r.status, modules: new Set(out.split('\n').filter((m) => m !== '')) };
}

// What subcommands need: spawning, hashing and file I/O with promises, the HTTP stacks and the
// fetch implementation (undici) behind the Web Request and Response classes. (Not net: standard
// output on a pipe is a net.Socket.)
const NOT_FOR_HELP = [
  'child_process',
  'crypto',
  'fs/promises',
  'http',
  'https',
  'http2',
  'tls',
  'zlib',
  'internal/deps/undici/undici',
];

for (const args of [['--help'], ['--version'], ['serve', '--help']]) {
  test(`fileupload ${args.join(' ')} loads none of what the subcommands need`, () => {
    const { status, modules } = loadedBy(args);
    assert.equal(status, 0);
    const loaded = NOT_FOR_HELP.filter((m) => modules.has(m));
    assert.deepEqual(loaded, [], `loaded: ${loaded.join(', ')}`);
    // The preload works: writing the help text does load something.
    assert.ok(modules.size > 0);
  });
}
