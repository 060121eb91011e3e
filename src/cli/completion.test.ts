import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from './program.ts';
import { bashScript, completedProperties, completionSpec, zshScript } from './completion.ts';
import { properties, SERVER_SPECIFIC_PREFIX } from '../config/catalogue.ts';
import { FILEUPLOAD_BIN } from '../../test/support/serve.ts';

const dir = mkdtempSync(join(tmpdir(), 'completion-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const spec = () => completionSpec(buildProgram(), completedProperties(properties, SERVER_SPECIFIC_PREFIX));

const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;

test('the spec follows the command tree: subcommands, options, value options, argument kinds', () => {
  const s = spec();
  const root = s.commands.find((c) => c.path.length === 0)!;
  assert.ok(
    root.subcommands.includes('doctor') &&
      root.subcommands.includes('config') &&
      root.subcommands.includes('completion'),
  );
  assert.ok(root.valueOptions.includes('--config') && root.fileOptions.includes('-c'));
  assert.deepEqual(s.globalOptions, ['-c', '--config', '--json']);
  const doctor = s.commands.find((c) => c.path.join(' ') === 'doctor')!;
  assert.ok(doctor.valueOptions.includes('--as') && !doctor.valueOptions.includes('--insecure-xmpp-tls'));
  assert.deepEqual(s.commands.find((c) => c.path.join(' ') === 'config set')!.args, ['property', 'value']);
});

describe('bash', () => {
  let script: string;
  before(() => {
    // Through the real CLI, as a user loads it.
    script = join(dir, 'fileupload.bash');
    writeFileSync(script, execFileSync(FILEUPLOAD_BIN, ['completion', 'bash'], { encoding: 'utf8' }));
  });

  /** Runs _fileupload in a real bash for the words (the last one is being completed). */
  function complete(...words: string[]): string[] {
    const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const out = execFileSync(
      'bash',
      [
        '-c',
        `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _fileupload; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8', cwd: dir },
    );
    return out.split('\n').filter((l) => l !== '');
  }

  test('it loads and registers _fileupload for fileupload', () => {
    const out = execFileSync('bash', ['-c', `source <('${FILEUPLOAD_BIN}' completion bash); complete -p fileupload`], {
      encoding: 'utf8',
    });
    assert.equal(out.trim(), 'complete -F _fileupload fileupload');
  });

  test('subcommands at the top and below config', () => {
    assert.deepEqual(complete('fileupload', 'do'), ['doctor']);
    assert.ok(complete('fileupload', '').includes('serve'));
    assert.deepEqual(complete('fileupload', 'config', ''), ['get', 'set', 'unset', 'list', 'check', 'help']);
  });

  test('property names after config get/set/unset, full names after "plugin."', () => {
    assert.deepEqual(complete('fileupload', 'config', 'get', 'maxF'), ['maxFileSize']);
    assert.deepEqual(complete('fileupload', '--config', '/tmp/x.xml', 'config', 'set', 'slotS'), ['slotSecret']);
    assert.deepEqual(complete('fileupload', 'config', 'unset', 'plugin.httpfileupload.xmppP'), [
      'plugin.httpfileupload.xmppPort',
    ]);
    assert.deepEqual(complete('fileupload', 'config', 'set', 'maxFileSize', ''), [], 'no completion for a size');
  });

  test('the words of an enum or boolean property after config set NAME, by any of its names', () => {
    assert.deepEqual(complete('fileupload', 'config', 'set', 'storage', ''), ['fs', 's3']);
    assert.deepEqual(complete('fileupload', 'config', 'set', 'cluster', 't'), ['true']);
    assert.deepEqual(complete('fileupload', 'config', 'set', '--local', 'plugin.httpfileupload.clamavTooLarge', ''), [
      'refuse',
      'publish-unscanned',
    ]);
    assert.deepEqual(
      complete('fileupload', 'config', 'set', 'plugin.httpfileupload.serverspecific.s3UploadMode', 'd'),
      ['direct'],
    );
    assert.deepEqual(complete('fileupload', 'config', 'get', 'storage', ''), [], 'get takes no value');
  });

  test('options of the subcommand plus the global ones; option values are skipped', () => {
    const opts = complete('fileupload', 'doctor', '--');
    for (const o of ['--as', '--password', '--xmpp-c2s-host', '--config', '--json']) assert.ok(opts.includes(o), o);
    assert.deepEqual(complete('fileupload', 'doctor', '--as', 'alice@example.org', '--pass'), [
      '--password',
      '--password-file',
    ]);
  });

  test('file names after --config', () => {
    writeFileSync(join(dir, 'openfire.xml'), '');
    assert.deepEqual(complete('fileupload', '--config', 'open'), ['openfire.xml']);
  });

  test('the shells after completion', () => {
    assert.deepEqual(complete('fileupload', 'completion', ''), ['bash', 'zsh']);
  });
});

describe('zsh', { skip: !hasZsh && 'zsh is not installed' }, () => {
  /** Runs _fileupload in zsh with compadd/_files stubbed to print what would be offered. */
  function complete(...words: string[]): string {
    const script = join(dir, '_fileupload');
    writeFileSync(script, zshScript(spec()));
    const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    return execFileSync(
      'zsh',
      [
        '-f',
        '-c',
        `compdef() { :; }; _files() { print FILES; }; compadd() { [[ $1 == -- ]] && shift; print -r -- "$*"; }; source '${script}'; words=(${quoted}); CURRENT=${words.length}; _fileupload`,
      ],
      { encoding: 'utf8' },
    ).trim();
  }

  test('it parses and completes subcommands, properties, options and files', () => {
    execFileSync('zsh', ['-n', '-c', zshScript(spec())]);
    const top = complete('fileupload', '').split(' ');
    assert.ok(top.includes('doctor') && top.includes('serve'), top.join(' '));
    assert.ok(complete('fileupload', 'config', 'get', '').split(' ').includes('maxFileSize'));
    assert.ok(complete('fileupload', 'doctor', '--').split(' ').includes('--as'));
    assert.equal(complete('fileupload', '-c', ''), 'FILES');
    assert.equal(complete('fileupload', 'completion', ''), 'bash zsh');
    assert.equal(complete('fileupload', 'config', 'set', 'announcedWebProtocol', ''), 'http https');
    assert.equal(complete('fileupload', 'config', 'set', 'clamavEnabled', ''), 'true false');
  });
});

test('bash and zsh scripts name the program they complete', () => {
  const s = spec();
  assert.match(bashScript(s), /complete -F _fileupload fileupload\n$/);
  assert.match(zshScript(s), /^#compdef fileupload\n/);
});
