import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle } from './bundle.ts';
import { NODE24, ROOT } from './paths.ts';

let dir = '';

before(() => {
  // Inside the checkout (dist/ is ignored by git), like the real entry.
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  dir = mkdtempSync(join(ROOT, 'dist', '.bundle-check-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

test('what the entry reaches through import() is in the lib, loaded on the first import()', async () => {
  write(
    'heavy.ts',
    `export class Heavy {}\nexport const marker = 'the heavy module';\n(globalThis.order ??= []).push('heavy');\n`,
  );
  write('user.ts', `import { Heavy } from './heavy.ts';\nexport const make = () => new Heavy();\n`);
  const entry = write(
    'entry.ts',
    `(globalThis.order ??= []).push('main');
     void (async () => {
       const [{ make }, { Heavy }] = await Promise.all([import('./user.ts'), import('./heavy.ts')]);
       process.stdout.write(JSON.stringify({ order: globalThis.order, same: make() instanceof Heavy }));
     })();`,
  );
  const { outfile, libfile } = await bundle(entry, join(dir, 'entry.cjs'));
  assert.ok(libfile !== undefined);
  assert.doesNotMatch(readFileSync(outfile, 'utf8'), /the heavy module/);
  assert.match(readFileSync(libfile, 'utf8'), /the heavy module/);
  const out = execFileSync(NODE24, [outfile], { encoding: 'utf8' });
  // One Heavy module, shared by both import()s, evaluated after the main script.
  assert.deepEqual(JSON.parse(out), { order: ['main', 'heavy'], same: true });
});

test('a module both scripts import stops the build, named', async () => {
  write('state.ts', `export const seen = new Set();\n`);
  write('lazy.ts', `import { seen } from './state.ts';\nexport const add = (x) => seen.add(x);\n`);
  const entry = write('entry2.ts', `import { seen } from './state.ts';\nvoid import('./lazy.ts').then(() => seen);\n`);
  await assert.rejects(
    bundle(entry, join(dir, 'entry2.cjs')),
    /\.bundle-check-\w+\/state\.ts would be evaluated twice/,
  );
});
