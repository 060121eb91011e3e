/**
 * The files an administrator installs: the systemd unit (systemd's own verifier, and the
 * hardening it promises), the cron line (run for real against a repository), and the README's
 * install steps (every `config set` names a real property with a valid value).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupProperty } from '../../src/config/catalogue.ts';
import { FILEUPLOAD_BIN, openfireXml, REPO_ROOT, runFileupload } from '../support/serve.ts';

const UNIT = readFileSync(join(REPO_ROOT, 'contrib', 'fileupload.service'), 'utf8');
const CRON = readFileSync(join(REPO_ROOT, 'contrib', 'fileupload.cron'), 'utf8');
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'contrib-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Directive → values (a directive may repeat), comments and sections left out. */
function directives(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

test(
  'systemd-analyze verify accepts the unit without a warning',
  { skip: !hasSystemdAnalyze && 'systemd-analyze is not installed' },
  () => {
    // verify insists that ExecStart exists: point it at a binary that does.
    const unit = join(dir, 'fileupload.service');
    writeFileSync(unit, UNIT.replace('/usr/local/bin/fileupload', '/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'systemd ignores unknown or malformed directives with only a warning');
  },
);

test('the unit is hardened as documented', () => {
  const d = directives(UNIT);
  const one = (k: string) => d.get(k)?.at(-1);
  assert.equal(one('User'), 'fileupload');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.deepEqual(one('ReadWritePaths')?.split(/\s+/), ['/var/lib/fileupload', '/etc/fileupload']);
  for (const k of ['NoNewPrivileges', 'PrivateTmp', 'ProtectHome']) assert.equal(one(k), 'yes', k);
  assert.equal(one('CapabilityBoundingSet'), '');
  assert.equal(one('AmbientCapabilities'), '');
  assert.equal(one('RestrictAddressFamilies'), 'AF_INET AF_INET6 AF_UNIX');
  assert.equal(one('SystemCallFilter'), '@system-service');
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(d.has('MemoryDenyWriteExecute'), false, 'V8 needs W+X memory for its JIT');
  assert.match(
    one('ExecStart') ?? '',
    /^\/usr\/local\/bin\/fileupload --config \/etc\/fileupload\/openfire\.xml serve$/,
  );
});

test("the unit's ExecStart names a real subcommand", async () => {
  const args = (directives(UNIT).get('ExecStart')?.[0] ?? '').split(' ').slice(1);
  const r = await runFileupload([...args, '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: fileupload serve/);
});

test('the cron line is well-formed and its command purges a repository (exit 0)', async () => {
  const lines = CRON.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^[A-Z]+=/.test(l));
  assert.equal(lines.length, 1);
  const fields = lines[0]!.trim().split(/\s+/);
  assert.equal(fields.length >= 7, true);
  assert.deepEqual(fields.slice(0, 6), ['*/15', '*', '*', '*', '*', 'fileupload']);
  const command = fields.slice(6).join(' ');
  assert.doesNotMatch(command, /%/, 'cron turns % into newlines');

  // A real repository (serve's first start creates the marker purge looks for).
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  writeFileSync(join(repo, '.fileupload-repository'), JSON.stringify({ format: 'fileupload', version: 1 }) + '\n');
  const config = join(dir, 'cron.xml');
  writeFileSync(config, openfireXml({ domain: 'upload.example.org', sharedSecret: 's', fileRepo: repo }));
  const runnable = command
    .replace('/etc/fileupload/openfire.xml', config)
    .replace(/^fileupload /, `${FILEUPLOAD_BIN} `);
  const r = spawnSync('/bin/sh', ['-c', runnable], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '', 'cron would mail the summary every run');
});

test("the README's install steps set real properties to valid values", () => {
  const start = README.indexOf('<!-- install:start -->');
  const end = README.indexOf('<!-- install:end -->');
  assert.ok(start >= 0 && end > start, 'the install section and its markers');
  const section = README.slice(start, end);
  const sets = [...section.matchAll(/fileupload config set ([A-Za-z.]+) ('[^']*'|"[^"]*"|\S+)/g)];
  assert.ok(sets.length >= 8, `only ${sets.length} config set lines`);
  for (const [, name, raw] of sets) {
    const found = lookupProperty(name!);
    assert.ok(found, `unknown property ${name}`);
    const value = raw!.replace(/^['"]|['"]$/g, '');
    if (value.includes('$(')) continue;
    assert.doesNotThrow(() => found.property.parse(value), `${name} ${value}`);
  }
  assert.match(section, /install -m 0644 contrib\/fileupload\.service \/etc\/systemd\/system\//);
  assert.match(section, /install -m 0644 contrib\/fileupload\.cron \/etc\/cron\.d\/fileupload/);
  assert.match(section, /useradd --system/);
});
