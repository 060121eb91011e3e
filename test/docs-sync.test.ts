/**
 * The README's configuration reference and exit codes, and the man pages, must match the code.
 * When this fails, run: scripts/node24 scripts/gen-docs.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedFiles, ROOT, splice } from '../scripts/gen-docs.ts';
import { properties } from '../src/config/catalogue.ts';

test('README.md and the man pages are generated from the current catalogue and exit codes', async () => {
  for (const f of await expectedFiles()) {
    assert.equal(f.current, f.expected, `${f.file} is out of date: run scripts/node24 scripts/gen-docs.ts`);
  }
});

test('every property appears in the README and in fileupload-config(1)', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const man = readFileSync(join(ROOT, 'man/fileupload-config.1'), 'utf8');
  for (const p of properties) {
    assert.ok(readme.includes(`| \`${p.short}\` |`), `README lacks ${p.short}`);
    assert.ok(man.includes(`.BR ${p.name} `), `man page lacks ${p.name}`);
  }
});

test('splice replaces only between the markers, or appends them', () => {
  assert.equal(
    splice('a\n<!-- s -->\nold\n<!-- e -->\nb\n', '<!-- s -->', '<!-- e -->', 'new\n'),
    'a\n<!-- s -->\nnew\n<!-- e -->\nb\n',
  );
  assert.equal(splice('# t\n', '<!-- s -->', '<!-- e -->', 'x\n'), '# t\n\n<!-- s -->\nx\n<!-- e -->\n');
});

test(
  'the man pages render without warnings',
  { skip: spawnSync('groff', ['-v']).error ? 'groff not installed' : false },
  () => {
    for (const page of ['man/fileupload.1', 'man/fileupload-config.1']) {
      const r = spawnSync('groff', ['-ww', '-man', '-Tutf8', join(ROOT, page)], { encoding: 'utf8' });
      assert.equal(r.status, 0, page);
      assert.equal(r.stderr, '', `${page}: ${r.stderr}`);
    }
  },
);
