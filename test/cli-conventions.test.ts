/**
 * The scripting convention (README "Scripting", fileupload(1)) across every subcommand, one row
 * each, as real processes: under --json stdout is one JSON document (NDJSON for the streaming
 * slots ls / slots rm, and serve's log), values are typed, every stderr line is a JSON object,
 * and a non-zero exit ends stderr with {"error": {code, message, exitCode}} whose code is one of
 * ERROR_CODES and goes with that exit code. No XMPP server: status and doctor meet closed ports.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRepo, type TestRepo } from './retention/fixtures.ts';
import { openfireXml, runFileupload } from './support/serve.ts';
import { freePort } from '../scripts/testservers/processes.ts';
import { acquireLock } from '../src/lock/fs.ts';
import { maintenanceLockPath } from '../src/purge/job.ts';
import { newSlotId } from '../src/slots/id.ts';
import { ERROR_CODES, type ErrorCode } from '../src/cli/exit-codes.ts';

type Doc = Record<string, unknown>;

interface Row {
  /** The command line after `--config FILE` (FILE: the repository's configuration unless `config` says). */
  argv: string[];
  /** Another configuration file (a path from `files`). */
  config?: keyof typeof files;
  exit: number;
  /** What stdout holds: one JSON document, NDJSON lines, or nothing. */
  stdout: 'json' | 'ndjson' | 'empty';
  /** The error code when exit is not 0. */
  code?: ErrorCode;
  /** A note stderr must hold (as a {"note": …} line). */
  note?: RegExp;
  /** Checks on the parsed stdout (the document, or the array of NDJSON lines). */
  check?: (out: unknown) => void;
}

let repo: TestRepo;
let uploadId: string;
const files = { bare: '', invalid: '', missing: '' };
let closedPort: number;

before(async () => {
  closedPort = await freePort();
  repo = await makeRepo({
    domain: 'upload.example.org',
    sharedSecret: 'component-secret',
    slotSecret: 'slot-secret-for-the-conventions-test',
    xmppHost: '127.0.0.1',
    xmppPort: closedPort,
    adminPort: closedPort,
    webHost: '127.0.0.1',
    webPort: closedPort,
    announcedWebProtocol: 'http',
    announcedWebHost: '127.0.0.1',
    maxFileSize: '10M',
    maxAge: '7d',
  });
  uploadId = (await repo.add({ size: 1234, filename: 'a.txt' })).id;
  const dir = join(repo.config, '..');
  files.bare = join(dir, 'bare.xml');
  await writeFile(files.bare, openfireXml({ domain: 'upload.example.org' }));
  files.invalid = join(dir, 'invalid.xml');
  await writeFile(files.invalid, openfireXml({ xmppPort: 'seventy' }));
  files.missing = join(dir, 'nowhere', 'openfire.xml');
  const home = join(dir, 'openfire');
  await mkdir(join(home, 'conf'), { recursive: true });
  await writeFile(join(home, 'conf', 'openfire.xml'), '<jive><fqdn>xmpp.example.org</fqdn></jive>\n');
});
after(() => repo.remove());

const obj = (v: unknown): Doc => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `an object: ${JSON.stringify(v)}`);
  return v as Doc;
};

/** Every value of a `config get|list --json` row has the JSON type its property type says. */
function typedRow(row: Doc): void {
  for (const key of ['value', 'default'] as const) {
    const v = row[key];
    if (v === null || row.secret === true) continue;
    const want = {
      size: 'number',
      duration: 'number',
      port: 'number',
      integer: 'number',
      boolean: 'boolean',
      list: 'array',
    }[row.type as string];
    const got = Array.isArray(v) ? 'array' : typeof v;
    assert.equal(got, want ?? 'string', `${String(row.name)}.${key} = ${JSON.stringify(v)} (${String(row.type)})`);
  }
}

const ROWS: Record<string, Row> = {
  '--version': {
    argv: ['--json', '--version'],
    exit: 0,
    stdout: 'json',
    check: (d) => {
      const { name, version, node } = obj(d);
      assert.equal(name, 'fileupload');
      assert.match(String(version), /^\d+\.\d+\.\d+/);
      assert.match(String(node), /^v\d+\.\d+\.\d+$/);
    },
  },
  'config get: a size in bytes': {
    argv: ['config', 'get', 'maxFileSize', '--json'],
    exit: 0,
    stdout: 'json',
    check: (d) => {
      assert.deepEqual([obj(d).value, obj(d).text, obj(d).source], [10 * 1024 * 1024, '10M', 'general']);
      typedRow(obj(d));
    },
  },
  'config get: a default duration in seconds, marked as the default': {
    argv: ['--json', 'config', 'get', 'slotLifetime'],
    exit: 0,
    stdout: 'json',
    check: (d) =>
      assert.deepEqual([obj(d).value, obj(d).text, obj(d).source, obj(d).default], [300, '300s', 'default', 300]),
  },
  'config get: a list as an array': {
    argv: ['--json', 'config', 'get', 'allowedDomains'],
    exit: 0,
    stdout: 'json',
    check: (d) => assert.deepEqual(obj(d).value, ['example.org']),
  },
  'config get: neither set nor defaulted is null, exit 1': {
    argv: ['--json', 'config', 'get', 'fileRepo'],
    config: 'bare',
    exit: 1,
    stdout: 'json',
    code: 'unset',
    check: (d) => assert.deepEqual([obj(d).value, obj(d).text], [null, null]),
  },
  'config get: unknown property': {
    argv: ['--json', 'config', 'get', 'maxFileSise'],
    exit: 2,
    stdout: 'empty',
    code: 'unknown-property',
  },
  'config get: an invalid configured value': {
    argv: ['--json', 'config', 'get', 'xmppPort'],
    config: 'invalid',
    exit: 2,
    stdout: 'json',
    code: 'invalid-value',
    check: (d) => assert.deepEqual([obj(d).value, obj(d).text], [null, 'seventy']),
  },
  'config list: every value typed': {
    argv: ['--json', 'config', 'list'],
    exit: 0,
    stdout: 'json',
    check: (d) => {
      assert.ok(Array.isArray(d));
      for (const row of d as Doc[]) typedRow(row);
      const by = Object.fromEntries((d as Doc[]).map((r) => [r.name, r.value]));
      assert.equal(by['plugin.httpfileupload.cluster'], false);
      assert.equal(by['plugin.httpfileupload.maxAge'], 7 * 86400);
      assert.equal(by['plugin.httpfileupload.maxRepoSize'], null);
      assert.equal(by['plugin.httpfileupload.clamavConnectionTimeout'], 3);
      assert.equal(by['plugin.httpfileupload.sharedSecret'], '********');
    },
  },
  'config list: the configuration file does not exist': {
    argv: ['--json', 'config', 'list'],
    config: 'missing',
    exit: 2,
    stdout: 'empty',
    code: 'config-not-found',
  },
  'config set: a negative size with a unit is unlimited (-1)': {
    argv: ['--json', 'config', 'set', 'maxFileSize', '-2M'],
    config: 'bare',
    exit: 0,
    stdout: 'json',
    check: (d) => {
      assert.deepEqual([obj(d).value, obj(d).text], [-1, '-2M']);
      assert.deepEqual(obj(d).effective, { value: -1, source: 'general' });
    },
  },
  'config set: its notes are JSON lines on stderr': {
    argv: ['--json', 'config', 'set', 'xmppPort', '5276'],
    config: 'bare',
    exit: 0,
    stdout: 'json',
    note: /^restart serve for xmppPort to take effect$/,
    check: (d) => assert.deepEqual([obj(d).value, obj(d).text], [5276, '5276']),
  },
  'config set: a negative duration reaches the rule': {
    argv: ['--json', 'config', 'set', 'slotLifetime', '-5m'],
    config: 'bare',
    exit: 2,
    stdout: 'empty',
    code: 'invalid-value',
  },
  'config set cluster true without a shared place': {
    argv: ['--json', 'config', 'set', 'cluster', 'TRUE'],
    config: 'bare',
    exit: 2,
    stdout: 'empty',
    code: 'precondition',
  },
  'config set: a bad option': {
    argv: ['--json', 'config', 'set', '--bogus', 'maxFileSize', '1M'],
    config: 'bare',
    exit: 2,
    stdout: 'empty',
    code: 'usage',
  },
  'config unset: the effective value after, typed': {
    argv: ['--json', 'config', 'unset', 'maxFileSize'],
    config: 'bare',
    exit: 0,
    stdout: 'json',
    check: (d) => assert.deepEqual(obj(d).effective, { value: 52428800, source: 'default' }),
  },
  'config check: valid': {
    argv: ['--json', 'config', 'check'],
    exit: 0,
    stdout: 'json',
    check: (d) => assert.equal(obj(d).ok, true),
  },
  'config check: invalid': {
    argv: ['--json', 'config', 'check'],
    config: 'invalid',
    exit: 2,
    stdout: 'json',
    code: 'invalid-config',
    check: (d) => assert.equal(obj(d).ok, false),
  },
  'doctor: a check fails (nothing listens)': {
    argv: ['--json', 'doctor', '--timeout', '1s'],
    exit: 1,
    stdout: 'json',
    code: 'check-failed',
    check: (d) => {
      const { checks, summary } = obj(d);
      assert.ok(Array.isArray(checks) && checks.length > 0);
      assert.equal(typeof obj(summary).fail, 'number');
    },
  },
  'purge --dry-run: one document, durations in seconds': {
    argv: ['--json', 'purge', '--dry-run'],
    exit: 0,
    stdout: 'json',
    check: (d) => {
      const summary = obj(obj(d).summary);
      assert.equal(obj(d).dryRun, true);
      assert.deepEqual(obj(d).deletions, []);
      assert.equal(typeof summary.duration, 'number');
      assert.ok(!('durationMs' in summary));
      assert.match(String(summary.startedAt), /^\d{4}-\d\d-\d\dT.*Z$/);
    },
  },
  'slots ls: NDJSON, sizes in bytes, instants in ISO 8601': {
    argv: ['--json', 'slots', 'ls'],
    exit: 0,
    stdout: 'ndjson',
    check: (lines) => {
      const [row] = lines as Doc[];
      assert.equal((lines as Doc[]).length, 1);
      assert.deepEqual([row?.id, row?.size, row?.filename], [uploadId, 1234, 'a.txt']);
      assert.match(String(row?.created), /^\d{4}-\d\d-\d\dT.*Z$/);
    },
  },
  'slots ls: a bad --state': {
    argv: ['--json', 'slots', 'ls', '--state', 'gone'],
    exit: 2,
    stdout: 'empty',
    code: 'usage',
  },
  'slots rm: an id that names nothing': {
    argv: ['--json', 'slots', 'rm', '--dry-run', 'ID-NOT-FOUND'],
    exit: 1,
    stdout: 'ndjson',
    code: 'not-found',
    check: (lines) =>
      assert.deepEqual(
        (lines as Doc[]).map((l) => l.outcome),
        ['not-found'],
      ),
  },
  'blocklist ls: one document': {
    argv: ['--json', 'blocklist', 'ls'],
    exit: 0,
    stdout: 'json',
    check: (d) => assert.deepEqual(d, { entries: [] }),
  },
  'blocklist add: neither a URL, an id nor a sha256': {
    argv: ['--json', 'blocklist', 'add', 'cat.jpg'],
    exit: 2,
    stdout: 'empty',
    code: 'usage',
  },
  'blocklist add: an id that names no upload': {
    argv: ['--json', 'blocklist', 'add', 'ID-NOT-FOUND'],
    exit: 1,
    stdout: 'empty',
    code: 'not-found',
  },
  'blocklist rm: a hash that is not listed': {
    argv: ['--json', 'blocklist', 'rm', 'a'.repeat(64)],
    exit: 1,
    stdout: 'json',
    code: 'not-found',
    check: (d) => assert.deepEqual(d, { sha256: 'a'.repeat(64), removed: false }),
  },
  'status: serve is not running': {
    argv: ['--json', 'status'],
    exit: 4,
    stdout: 'empty',
    code: 'not-running',
  },
  'import openfire: typed property values': {
    argv: ['--json', 'import', 'openfire', 'OPENFIRE_HOME', '--dry-run'],
    config: 'bare',
    exit: 0,
    stdout: 'json',
    check: (d) => {
      const props = obj(d).properties as Doc[];
      const port = props.find((p) => p.name === 'plugin.httpfileupload.announcedWebPort');
      assert.deepEqual([port?.value, port?.text], [7443, '7443']);
    },
  },
  'import openfire: no Openfire there': {
    argv: ['--json', 'import', 'openfire', '/nonexistent-openfire'],
    config: 'bare',
    exit: 2,
    stdout: 'empty',
    code: 'usage',
  },
  'completion: the script in a document': {
    argv: ['--json', 'completion', 'bash'],
    exit: 0,
    stdout: 'json',
    check: (d) => {
      assert.equal(obj(d).shell, 'bash');
      assert.match(String(obj(d).script), /complete -F _fileupload fileupload/);
    },
  },
  'completion: an unknown shell': {
    argv: ['--json', 'completion', 'fish'],
    exit: 2,
    stdout: 'empty',
    code: 'usage',
  },
  'serve: logs NDJSON; a configuration it refuses': {
    argv: ['--json', 'serve'],
    config: 'bare',
    exit: 2,
    stdout: 'ndjson',
    code: 'invalid-config',
  },
  'an unknown subcommand': {
    argv: ['--json', 'frobnicate'],
    exit: 2,
    stdout: 'empty',
    code: 'usage',
  },
};

/** Runs a row and checks the convention; returns the parsed stdout for the row's own checks. */
async function runRow(row: Row): Promise<unknown> {
  const config = row.config ? files[row.config] : repo.config;
  const home = join(repo.config, '..', 'openfire');
  const argv = row.argv.map((a) => (a === 'OPENFIRE_HOME' ? home : a === 'ID-NOT-FOUND' ? newSlotId() : a));
  const r = await runFileupload(['--config', config, ...argv], { timeoutMs: 60_000 });
  const where = `${argv.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.code, row.exit, where);

  const errLines = r.stderr.split('\n').filter((l) => l !== '');
  const errs = errLines.map((l) => obj(JSON.parse(l)));
  for (const e of errs.slice(0, -1)) assert.ok('note' in e || 'warning' in e, `a note or warning: ${where}`);
  const last = errs.at(-1);
  if (row.note)
    assert.ok(
      errs.some((e) => row.note!.test(String(e.note))),
      where,
    );
  if (row.exit === 0) {
    assert.ok(!errs.some((e) => 'error' in e), where);
  } else {
    const error = obj(last?.error);
    assert.deepEqual(Object.keys(error).sort(), ['code', 'exitCode', 'message'], where);
    assert.equal(error.code, row.code, where);
    assert.equal(error.exitCode, row.exit, where);
    assert.equal(ERROR_CODES[row.code!], row.exit, 'the code goes with its exit code');
    assert.ok(typeof error.message === 'string' && error.message !== '', where);
  }

  if (row.stdout === 'empty') {
    assert.equal(r.stdout, '', where);
    return undefined;
  }
  if (row.stdout === 'ndjson')
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
  assert.ok(r.stdout.endsWith('\n'), where);
  return JSON.parse(r.stdout);
}

for (const [name, row] of Object.entries(ROWS)) {
  test(`${row.argv
    .filter((a) => a !== '--json')
    .slice(0, 2)
    .join(' ')} — ${name}`, async () => {
    const out = await runRow(row);
    row.check?.(out);
  });
}

test('purge and slots rm while another process holds the lock: exit 3, lock-held', async () => {
  const lock = await acquireLock(maintenanceLockPath(repo.dir), { command: 'cli-conventions test' });
  try {
    for (const argv of [
      ['--json', 'purge'],
      ['--json', 'slots', 'rm', uploadId],
    ]) {
      await runRow({ argv, exit: 3, stdout: 'empty', code: 'lock-held' });
    }
  } finally {
    await lock.release();
  }
});

test('every subcommand has a row', async () => {
  const { buildProgram } = await import('../src/cli/program.ts');
  const covered = new Set(
    Object.values(ROWS).map((r) =>
      r.argv
        .filter((a) => !a.startsWith('-'))
        .slice(0, 2)
        .join(' '),
    ),
  );
  const leaves: string[] = [];
  const walk = (cmd: import('commander').Command, path: string[]): void => {
    if (cmd.commands.length === 0) leaves.push(path.join(' '));
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram(), []);
  const missing = leaves.filter((l) => ![...covered].some((c) => c === l || c.startsWith(`${l} `)));
  assert.deepEqual(missing, []);
});
