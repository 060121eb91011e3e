/**
 * What the single binary loads before it answers: `--help` and `--version` must not load what
 * only a subcommand needs, and serve is ready before it loads what only requests outside the
 * upload and download routes need. Runs the binary's own bundle (dist/fileupload.cjs, built with
 * it) on the same Node with a preloaded script that lists the Node built-in modules loaded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinary } from '../scripts/build/freshness.ts';
import { SEA_EXEC_ARGV } from '../scripts/build/sea.ts';
import { NODE24 } from '../scripts/build/paths.ts';
import { freePort } from '../scripts/testservers/processes.ts';
import { openfireXml, serveConfigFor } from './support/serve.ts';

let dir = '';
let bundle = '';
let preload = '';
let readyPreload = '';

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
  readyPreload = join(dir, 'loaded-at-ready.cjs');
  // Prints the built-in modules loaded when serve writes its "ready" line, as one stderr line.
  writeFileSync(
    readyPreload,
    `const write = process.stdout.write.bind(process.stdout);
     let seen = false;
     process.stdout.write = (chunk, ...rest) => {
       if (!seen && String(chunk).includes('"msg":"ready"')) {
         seen = true;
         const loaded = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
         require('node:fs').writeSync(2, 'loaded at ready: ' + loaded.join(' ') + '\\n');
       }
       return write(chunk, ...rest);
     };`,
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

test('serve is ready before it loads the Web Request layer and the metrics, and answers with both right after', async () => {
  // XMPP at a closed port: serve keeps retrying quietly, the endpoint runs regardless.
  const config = await serveConfigFor(undefined, { xmppPort: await freePort() });
  const configFile = join(dir, 'openfire.xml');
  writeFileSync(configFile, openfireXml(config));
  const child = spawn(NODE24, [...SEA_EXEC_ARGV, '--require', readyPreload, bundle, '--config', configFile, 'serve'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.includes('"msg":"ready"')) break;
    }
    const loaded = new Set(/loaded at ready: (.*)/.exec(stderr)?.[1]?.split(' '));
    assert.ok(loaded.has('http'), `the preload reported: ${stderr}`);
    // undici and http2 come with @hono/node-server; zlib, perf_hooks and v8 with prom-client.
    const early = ['internal/deps/undici/undici', 'http2', 'zlib', 'perf_hooks', 'v8'].filter((m) => loaded.has(m));
    assert.deepEqual(early, [], `loaded before ready: ${early.join(', ')}`);
    // A target outside the upload routes goes through Hono's Web Request: 404 from the app, and
    // the CORS and safety headers every answer carries.
    const res = await fetch(`http://127.0.0.1:${config.webPort}/no-such-place`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), 'not found\n');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    // The admin API answers /metrics from the registry created after ready.
    const metrics = await fetch(`http://127.0.0.1:${config.adminPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await metrics.text(), /^fileupload_info\{version="[^"]+",node="[^"]+"\} 1$/m);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('close', resolve));
  }
});
