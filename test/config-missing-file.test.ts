/**
 * A configuration file that does not exist is an error (exit 2, "file not found") for every
 * subcommand that reads it, whether the path came from --config, FILEUPLOAD_CONFIG or the default;
 * `config set` creates it, `status --url` may run without the default file. Real processes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { configSandbox, type ConfigSandbox } from './support/config-cli.ts';
import { DEFAULT_CONFIG_PATH } from '../src/config/default-path.ts';

let t: ConfigSandbox;
before(async () => {
  t = await configSandbox();
});
after(() => t.cleanup());

const READERS = [
  ['config', 'list'],
  ['config', 'get', 'domain'],
  ['config', 'unset', 'domain'],
  ['serve'],
  ['status'],
  ['status', '--url', 'http://127.0.0.1:1/'],
  ['purge', '--dry-run'],
  ['slots', 'ls'],
  ['slots', 'rm', 'someid'],
  ['doctor'],
];

for (const args of READERS) {
  test(`${args.join(' ')} with a missing --config: exit 2, the file named, nothing created`, async () => {
    const missing = join(t.dir, 'typo.xml');
    const r = t.runBare(['--config', missing, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `fileupload: ${missing}: file not found\n`);
    assert.equal(r.stdout, '');
    await assert.rejects(stat(missing), { code: 'ENOENT' });
  });
}

test('FILEUPLOAD_CONFIG naming a missing file is the same error', () => {
  const missing = join(t.dir, 'env-typo.xml');
  const r = t.runBare(['config', 'list'], { FILEUPLOAD_CONFIG: missing });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `fileupload: ${missing}: file not found\n`);
});

test('a file below a missing directory or below a file is not found either', () => {
  for (const missing of [join(t.dir, 'no', 'dir.xml'), join(t.dir, 'typo.xml', 'x.xml')]) {
    const r = t.runBare(['--config', missing, 'config', 'get', 'domain']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /: file not found\n$/);
  }
});

test('the default path, when missing, is an error that says how to give another one', { skip: existsDefault() }, () => {
  const r = t.runBare(['config', 'list']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^fileupload: ${DEFAULT_CONFIG_PATH}: file not found \\(the default path: give --config FILE or set FILEUPLOAD_CONFIG`,
    ),
  );
});

test(
  'status --url runs without the default file (it reads it only for the admin token)',
  { skip: existsDefault() },
  () => {
    const r = t.runBare(['status', '--url', 'http://127.0.0.1:1/']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /serve is not running/);
  },
);

test('config set creates the missing file with mode 0600', async () => {
  const r = t.run(['config', 'set', 'domain', 'upload.example.org']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await stat(t.file)).mode & 0o777, 0o600);
  const get = t.run(['config', 'get', 'domain']);
  assert.deepEqual([get.code, get.stdout], [0, 'upload.example.org\n']);
});

function existsDefault(): string | false {
  try {
    statSync(DEFAULT_CONFIG_PATH);
    return `${DEFAULT_CONFIG_PATH} exists on this machine`;
  } catch {
    return false;
  }
}
