/**
 * Docs move with the code: every subcommand in --help has its man page and a place in
 * fileupload(1), no page describes a command that is not there, and every page renders cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../src/cli/program.ts';

const ROOT = join(import.meta.dirname, '..');
const MAN = join(ROOT, 'man');
const commands = buildProgram()
  .commands.map((c) => c.name())
  .filter((name) => name !== 'help');
const pages = readdirSync(MAN).filter((f) => f.endsWith('.1'));

test('every subcommand has a man page and is listed in fileupload(1)', () => {
  const main = readFileSync(join(MAN, 'fileupload.1'), 'utf8');
  const listed = main.slice(main.indexOf('.SH SUBCOMMANDS'), main.indexOf('.SH EXIT STATUS'));
  for (const name of commands) {
    assert.ok(pages.includes(`fileupload-${name}.1`), `man/fileupload-${name}.1 is missing`);
    assert.match(listed, new RegExp(`^\\.B ${name}$`, 'm'), `fileupload(1) SUBCOMMANDS lacks ${name}`);
    assert.ok(main.includes(`.BR fileupload\\-${name} (1)`), `fileupload(1) does not refer to fileupload-${name}(1)`);
  }
});

test('no man page describes a subcommand that is not registered', () => {
  for (const page of pages) {
    if (page === 'fileupload.1') continue;
    const name = page.replace(/^fileupload-/, '').replace(/\.1$/, '');
    assert.ok(commands.includes(name), `${page} documents "${name}", which --help does not offer`);
  }
});

test(
  'every man page renders without warnings',
  { skip: spawnSync('groff', ['-v']).error ? 'groff not installed' : false },
  () => {
    for (const page of pages) {
      const r = spawnSync('groff', ['-ww', '-man', '-Tutf8', join(MAN, page)], { encoding: 'utf8' });
      assert.equal(r.status, 0, page);
      assert.equal(r.stderr, '', `${page}: ${r.stderr}`);
      assert.ok(r.stdout.length > 200, `${page} rendered almost nothing`);
    }
  },
);
