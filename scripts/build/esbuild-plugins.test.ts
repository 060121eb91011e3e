import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { COMMANDER_PATCHES, INK_RECONCILER_PATCHES, applyPatches } from './esbuild-plugins.ts';
import { bundle } from './bundle.ts';
import { NODE24, ROOT } from './paths.ts';

const reconciler = join(ROOT, 'node_modules', 'ink', 'build', 'reconciler.js');
const toCjs = (code: string) => esbuild.transform(code, { format: 'cjs', platform: 'node', loader: 'js' });

test('a patch that no longer matches exactly once fails naming the file', () => {
  const patch = { why: 'x', find: 'await foo()', replace: 'foo()' };
  assert.throws(() => applyPatches('bar()', [patch], 'r.js'), /cannot patch r\.js \(x\).*found 0/);
  assert.throws(() => applyPatches('await foo(); await foo()', [patch], 'r.js'), /found 2/);
  assert.equal(applyPatches('a; await foo();', [patch], 'r.js'), 'a; foo();');
});

test("the installed ink's reconciler takes the patch and then converts to CommonJS", async () => {
  const source = readFileSync(reconciler, 'utf8');
  await assert.rejects(toCjs(source), /[Tt]op-level await/);
  await toCjs(applyPatches(source, INK_RECONCILER_PATCHES, reconciler));
});

test("the installed commander's command.js takes the patch and no longer imports node:child_process", async () => {
  const file = join(ROOT, 'node_modules', 'commander', 'lib', 'command.js');
  const patched = applyPatches(readFileSync(file, 'utf8'), COMMANDER_PATCHES, file);
  assert.doesNotMatch(patched, /from 'node:child_process'/);
  await toCjs(patched);
});

test('a bundled ink 6 + react 19 entry renders after awaiting yoga ready', async () => {
  // Inside the checkout (dist/ is ignored by git) so the entry resolves react and ink.
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'dist', '.ink-check-'));
  try {
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `void (async () => {
         const yoga = await import('yoga-layout');
         if (!(yoga.ready instanceof Promise)) throw new Error('yoga-layout was not replaced by the shim');
         await yoga.ready;
         const { default: React } = await import('react');
         const { renderToString, Text, Box } = await import('ink');
         process.stdout.write(renderToString(React.createElement(Box, { borderStyle: 'single' },
           React.createElement(Text, null, 'bundled ink renders'))) + '\\n');
       })();`,
    );
    const { outfile, libfile, inputs } = await bundle(entry, join(dir, 'entry.cjs'));
    assert.ok(!inputs.some((f) => f.endsWith('yoga-layout/dist/src/index.js')), 'real yoga entry not bundled');
    assert.ok(libfile !== undefined, 'what the entry imports lazily is in the lib');
    // Run outside the checkout so nothing can be resolved from node_modules at run time.
    const runDir = mkdtempSync(join(tmpdir(), 'ink-check-'));
    try {
      const copy = join(runDir, 'entry.cjs');
      writeFileSync(copy, readFileSync(outfile));
      writeFileSync(join(runDir, 'entry.lib.cjs'), readFileSync(libfile));
      const out = execFileSync(NODE24, [copy], { cwd: runDir, encoding: 'utf8', env: {} });
      assert.match(out, /│bundled ink renders\s*│/);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
