/**
 * The single executable on its own: dist/fileupload copied alone into an empty directory and run
 * with an empty environment (`env -i`: no PATH, no HOME, no Node, no node_modules) must answer
 * --help, --version and every `config` subcommand. Builds the binary first when it is missing or
 * older than the sources, so this works on a fresh clone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinary } from '../scripts/build/freshness.ts';
import pkg from '../package.json' with { type: 'json' };

let dir = '';
let bin = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the copied binary under `env -i`, with only the variables given. */
function run(args: string[], env: Record<string, string> = {}): Run {
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = spawnSync('/usr/bin/env', ['-i', ...assignments, bin, ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], env?: Record<string, string>): string {
  const r = run(args, env);
  assert.equal(r.status, 0, `fileupload ${args.join(' ')} → exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  const built = await ensureBinary();
  dir = mkdtempSync(join(tmpdir(), 'fileupload-binary-'));
  bin = join(dir, 'fileupload');
  copyFileSync(built, bin);
  assert.ok((statSync(bin).mode & 0o111) !== 0, 'copied binary keeps its executable bits');
  assert.deepEqual(readdirSync(dir), ['fileupload']);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('--help prints usage, global options and exit codes', () => {
  const out = ok(['--help']);
  assert.match(out, /^Usage: fileupload /);
  assert.match(out, /--config <file>/);
  assert.match(out, /--json/);
  assert.match(out, /Exit codes/);
});

test('--version names the app version and the embedded Node 24', () => {
  const out = ok(['--version']).trim();
  assert.ok(out.includes(pkg.version), `app version ${pkg.version} in ${JSON.stringify(out)}`);
  assert.match(out, /\bv24\.\d+\.\d+\b/);
});

test('an unknown subcommand is a usage error (exit 2)', () => {
  const r = run(['no-such-command']);
  assert.equal(r.status, 2);
  assert.notEqual(r.stderr, '');
});

describe('config subcommands', () => {
  let cfgDir = '';
  let cfg = '';
  const PORT = 'plugin.httpfileupload.xmppPort';

  before(() => {
    cfgDir = mkdtempSync(join(tmpdir(), 'fileupload-binary-cfg-'));
    cfg = join(cfgDir, 'etc', 'openfire.xml'); // the directory does not exist yet
  });
  after(() => rmSync(cfgDir, { recursive: true, force: true }));

  test('config set creates the file with mode 0600 and writes the nested element', () => {
    ok(['--config', cfg, 'config', 'set', PORT, '5276']);
    assert.equal(statSync(cfg).mode & 0o777, 0o600);
    const xml = readFileSync(cfg, 'utf8');
    assert.match(xml, /<jive>[\s\S]*<plugin>[\s\S]*<httpfileupload>[\s\S]*<xmppPort>5276<\/xmppPort>/);
  });

  test('config get prints the effective value, by full or short name', () => {
    assert.equal(ok(['--config', cfg, 'config', 'get', PORT]).trim(), '5276');
    assert.equal(ok(['--config', cfg, 'config', 'get', 'xmppPort']).trim(), '5276');
  });

  test('config get --json gives name, value, source and default', () => {
    const got = JSON.parse(ok(['--config', cfg, '--json', 'config', 'get', 'xmppPort'])) as Record<string, unknown>;
    assert.equal(got.name, PORT);
    assert.equal(String(got.value), '5276');
    assert.equal(got.source, 'general');
    assert.equal(String(got.default), '5275');
  });

  test('FILEUPLOAD_CONFIG names the file when --config is absent', () => {
    assert.equal(ok(['config', 'get', PORT], { FILEUPLOAD_CONFIG: cfg }).trim(), '5276');
  });

  test('config list shows every property with value and source', () => {
    const out = ok(['--config', cfg, 'config', 'list']);
    const line = out.split('\n').find((l) => l.includes(PORT));
    assert.ok(line, `${PORT} listed`);
    assert.match(line, /5276/);
    assert.match(line, /general/);
    assert.ok(out.includes('plugin.httpfileupload.maxFileSize'));
  });

  test('config list --json lists the same properties as data', () => {
    const list = JSON.parse(ok(['--config', cfg, '--json', 'config', 'list'])) as Array<Record<string, unknown>>;
    assert.ok(Array.isArray(list));
    const port = list.find((p) => p.name === PORT);
    assert.ok(port, `${PORT} in the list`);
    assert.equal(String(port.value), '5276');
    assert.equal(port.source, 'general');
    assert.ok(list.some((p) => p.name === 'plugin.httpfileupload.maxFileSize'));
  });

  test('config set --server-specific overrides the general value', () => {
    ok(['--config', cfg, 'config', 'set', '--server-specific', 'xmppPort', '5277']);
    const got = JSON.parse(ok(['--config', cfg, '--json', 'config', 'get', PORT])) as Record<string, unknown>;
    assert.equal(String(got.value), '5277');
    assert.equal(got.source, 'serverspecific');
    ok(['--config', cfg, 'config', 'unset', '--server-specific', 'xmppPort']);
    assert.equal(ok(['--config', cfg, 'config', 'get', PORT]).trim(), '5276');
  });

  test('an invalid value is refused with exit 2, naming the property, file unchanged', () => {
    const before = readFileSync(cfg);
    const r = run(['--config', cfg, 'config', 'set', PORT, '70000']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /xmppPort/);
    assert.deepEqual(readFileSync(cfg), before);
  });

  test('config get masks a secret unless --show-secrets is given', () => {
    ok(['--config', cfg, 'config', 'set', 'sharedSecret', 'binary-s3cret']);
    assert.doesNotMatch(ok(['--config', cfg, 'config', 'get', 'sharedSecret']), /binary-s3cret/);
    assert.doesNotMatch(ok(['--config', cfg, 'config', 'list']), /binary-s3cret/);
    assert.equal(ok(['--config', cfg, 'config', 'get', 'sharedSecret', '--show-secrets']).trim(), 'binary-s3cret');
  });

  test('config unset falls back to the default', () => {
    ok(['--config', cfg, 'config', 'unset', PORT]);
    const got = JSON.parse(ok(['--config', cfg, '--json', 'config', 'get', PORT])) as Record<string, unknown>;
    assert.equal(String(got.value), '5275');
    assert.equal(got.source, 'default');
    assert.doesNotMatch(readFileSync(cfg, 'utf8'), /<xmppPort>/);
  });
});
