/**
 * `fileupload config get|set|unset|list` as a real process: precedence and sources, aliases,
 * empty-as-unset, --json shapes, secret masking, Openfire files kept intact.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configSandbox, OPENFIRE_FIXTURE, type ConfigSandbox } from './support/config-cli.ts';
import { properties } from '../src/config/catalogue.ts';

let t: ConfigSandbox;
before(async () => {
  t = await configSandbox();
});
after(() => t.cleanup());

const json = (args: string[]) => {
  const r = t.run(['--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};
/** The fields of a `config get --json` row that say the value and where it came from. */
const row = ({ name, value, text, source, default: def }: Record<string, unknown>) => ({
  name,
  value,
  text,
  source,
  default: def,
});

test('--help lists config; config --help lists its subcommands', () => {
  const top = t.run(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^\s+config\s+show and change the configuration/m);
  const sub = t.run(['config', '--help']);
  assert.equal(sub.code, 0);
  for (const c of ['get', 'set', 'unset', 'list', 'check']) assert.match(sub.stdout, new RegExp(`^\\s+${c} `, 'm'));
});

test('missing file: reading it is an error naming it (exit 2), and creates nothing', async () => {
  const r = t.run(['config', 'get', 'xmppPort']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `fileupload: ${t.file}: file not found\n`]);
  assert.equal(await t.bytes(), undefined);
});

test('empty file: every value is a default', async () => {
  const file = join(t.dir, 'empty.xml');
  await writeFile(file, '');
  assert.deepEqual(JSON.parse(t.runBare(['--json', '-c', file, 'config', 'get', 'maxFileSize']).stdout), {
    name: 'plugin.httpfileupload.maxFileSize',
    value: 52428800,
    text: '52428800',
    source: 'default',
    default: 52428800,
    type: 'size',
    restart: false,
    secret: false,
  });
  const r = t.runBare(['-c', file, 'config', 'get', 'xmppPort']);
  assert.deepEqual([r.code, r.stdout], [0, '5275\n']);
});

test('set creates the file (and its directory) with mode 0600; three levels of precedence', async () => {
  let r = t.run(['config', 'set', 'maxFileSize', '10M']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'plugin.httpfileupload.maxFileSize = 10M\n');
  assert.equal((await stat(t.file)).mode & 0o777, 0o600);
  assert.deepEqual(row(json(['config', 'get', 'maxFileSize'])), {
    name: 'plugin.httpfileupload.maxFileSize',
    value: 10 * 1024 * 1024,
    text: '10M',
    source: 'general',
    default: 52428800,
  });

  r = t.run(['config', 'set', '--server-specific', 'maxFileSize', '20M']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'plugin.httpfileupload.serverspecific.maxFileSize = 20M\n');
  assert.deepEqual(json(['config', 'get', 'plugin.httpfileupload.maxFileSize']).source, 'serverspecific');
  assert.equal(json(['config', 'get', 'maxFileSize']).text, '20M');

  r = t.run(['config', 'set', 'maxFileSize', '30M']);
  assert.match(r.stderr, /serverspecific value of maxFileSize takes precedence/);
  assert.equal(json(['config', 'get', 'maxFileSize']).text, '20M');

  r = t.run(['config', 'unset', 'plugin.httpfileupload.serverspecific.maxFileSize']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /serverspecific\.maxFileSize removed; effective value: 30M \(general\)/);
  assert.deepEqual(row(json(['config', 'get', 'maxFileSize'])), {
    name: 'plugin.httpfileupload.maxFileSize',
    value: 30 * 1024 * 1024,
    text: '30M',
    source: 'general',
    default: 52428800,
  });

  r = t.run(['config', 'unset', 'maxFileSize']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(json(['config', 'get', 'maxFileSize']).source, 'default');
  r = t.run(['config', 'unset', 'maxFileSize']);
  assert.deepEqual(
    [r.code, r.stdout],
    [0, 'plugin.httpfileupload.maxFileSize was not set; effective value: 52428800 (default)\n'],
  );
  assert.equal(
    await readFile(t.file, 'utf8'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<jive>\n</jive>\n',
    'unset removed the elements it had created',
  );
});

test('short, full and serverspecific spellings all name the same property', () => {
  for (const name of ['xmppHost', 'plugin.httpfileupload.xmppHost']) {
    const r = t.run(['config', 'set', name, `${name.length}.example.org`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json(['config', 'get', 'xmppHost']).value, `${name.length}.example.org`);
    assert.equal(json(['config', 'get', 'plugin.httpfileupload.xmppHost']).value, `${name.length}.example.org`);
  }
  assert.equal(t.run(['config', 'set', 'serverspecific.xmppHost', 'node.example.org']).code, 0);
  assert.deepEqual(json(['config', 'get', 'xmppHost']).source, 'serverspecific');
  assert.equal(t.run(['config', 'unset', 'xmppHost', '--server-specific']).code, 0);
  assert.equal(t.run(['config', 'unset', 'xmppHost']).code, 0);
  assert.equal(json(['config', 'get', 'xmppHost']).value, 'localhost');
});

test('an empty or blank element counts as unset', async () => {
  await mkdir(t.dir, { recursive: true });
  const file = `${t.dir}/empty.xml`;
  await writeFile(
    file,
    '<jive><plugin><httpfileupload><serverspecific><xmppPort>  </xmppPort></serverspecific><xmppPort/><webHost>127.0.0.1</webHost><maxFileSize></maxFileSize></httpfileupload></plugin></jive>',
  );
  const get = (name: string) =>
    JSON.parse(t.runBare(['--json', '-c', file, 'config', 'get', name]).stdout) as Record<string, unknown>;
  assert.deepEqual(row(get('xmppPort')), {
    name: 'plugin.httpfileupload.xmppPort',
    value: 5275,
    text: '5275',
    source: 'default',
    default: 5275,
  });
  assert.equal(get('maxFileSize').source, 'default');
  assert.equal(get('webHost').source, 'general');
});

test('computed defaults: announcedWebPort follows the protocol, webPort follows announcedWebPort', () => {
  assert.equal(t.run(['config', 'set', 'announcedWebProtocol', 'http']).code, 0);
  assert.deepEqual(row(json(['config', 'get', 'announcedWebPort'])), {
    name: 'plugin.httpfileupload.announcedWebPort',
    value: 7070,
    text: '7070',
    source: 'default',
    default: 7070,
  });
  assert.equal(json(['config', 'get', 'webPort']).value, 7070);
  assert.equal(t.run(['config', 'unset', 'announcedWebProtocol']).code, 0);
  assert.equal(json(['config', 'get', 'webPort']).value, 7443);
});

test('secrets are masked unless --show-secrets', () => {
  let r = t.run(['config', 'set', 'sharedSecret', 'hunter2']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
  assert.match(r.stderr, /restart serve for sharedSecret/);
  assert.match(
    r.stderr,
    /note: the value of sharedSecret was on the command line, where other users see it .*"fileupload config set sharedSecret -" reads it from standard input/,
  );
  r = t.run(['config', 'get', 'sharedSecret']);
  assert.deepEqual([r.code, r.stdout], [0, '********\n']);
  r = t.run(['config', 'get', 'sharedSecret', '--show-secrets']);
  assert.equal(r.stdout, 'hunter2\n');
  assert.equal(json(['config', 'get', 'sharedSecret']).value, '********');
  assert.equal(json(['config', 'get', 'sharedSecret', '--show-secrets']).value, 'hunter2');
  r = t.run(['config', 'list']);
  assert.doesNotMatch(r.stdout, /hunter2/);
  assert.match(r.stdout, /^plugin\.httpfileupload\.sharedSecret\s+\*{8}\s+general$/m);
  assert.match(
    t.run(['config', 'list', '--show-secrets']).stdout,
    /^plugin\.httpfileupload\.sharedSecret\s+hunter2\s+general$/m,
  );
  const rows = JSON.parse(t.run(['--json', 'config', 'list']).stdout) as { name: string; value: string | null }[];
  assert.equal(rows.find((x) => x.name.endsWith('.sharedSecret'))?.value, '********');
  assert.equal(rows.find((x) => x.name.endsWith('.slotSecret'))?.value, null, 'an unset secret shows as unset');
  assert.equal(t.run(['config', 'unset', 'sharedSecret']).code, 0);
});

test('list shows every property with value and source; --json is an array', () => {
  assert.equal(t.run(['config', 'set', 'corsOrigins', 'https://chat.example.org']).code, 0);
  const r = t.run(['config', 'list']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME\s+VALUE\s+SOURCE$/);
  assert.equal(lines.length, 1 + properties.length);
  assert.match(r.stdout, /^plugin\.httpfileupload\.corsOrigins\s+https:\/\/chat\.example\.org\s+general$/m);
  assert.match(r.stdout, /^plugin\.httpfileupload\.fileRepo\s+\(unset\)\s+default$/m);
  const rows = JSON.parse(t.run(['config', 'list', '--json']).stdout) as Record<string, unknown>[];
  assert.deepEqual(
    rows.map((x) => x.name),
    properties.map((p) => p.name),
  );
  assert.deepEqual(
    rows.find((x) => x.name === 'plugin.httpfileupload.xmppPort'),
    {
      name: 'plugin.httpfileupload.xmppPort',
      value: 5275,
      text: '5275',
      source: 'default',
      default: 5275,
      type: 'port',
      restart: true,
      secret: false,
    },
  );
  assert.equal(t.run(['config', 'unset', 'corsOrigins']).code, 0);
});

test('FILEUPLOAD_CONFIG names the file when --config is absent', async () => {
  const file = `${t.dir}/env.xml`;
  await writeFile(file, '<jive><plugin><httpfileupload><xmppPort>5999</xmppPort></httpfileupload></plugin></jive>');
  const r = t.runBare(['config', 'get', 'xmppPort'], { FILEUPLOAD_CONFIG: file });
  assert.deepEqual([r.code, r.stdout], [0, '5999\n']);
});

test('an Openfire openfire.xml: set and unset touch nothing but the property', async () => {
  const file = `${t.dir}/openfire-real.xml`;
  await copyFile(OPENFIRE_FIXTURE, file);
  const original = await readFile(file, 'utf8');
  const run = (...args: string[]) => {
    const r = t.runBare(['-c', file, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  run('config', 'set', 'maxFileSize', '1G');
  const at = original.indexOf('104857600');
  assert.equal(await readFile(file, 'utf8'), original.slice(0, at) + '1G' + original.slice(at + 9));
  run('config', 'set', 'maxFileSize', '104857600');
  assert.equal(await readFile(file, 'utf8'), original);
  run('config', 'set', 'domain', 'upload.example.org');
  const withDomain = await readFile(file, 'utf8');
  const insertAt = original.indexOf('\n        </httpfileupload>');
  assert.equal(
    withDomain,
    original.slice(0, insertAt) + '\n            <domain>upload.example.org</domain>' + original.slice(insertAt),
  );
  assert.equal(
    JSON.parse(t.runBare(['--json', '-c', file, 'config', 'get', 'fileRepo']).stdout).source,
    'serverspecific',
  );
  run('config', 'unset', 'domain');
  assert.equal(await readFile(file, 'utf8'), original);
});

test('get of a property neither set nor defaulted prints nothing and exits 1; one with a default exits 0', async () => {
  const file = join(t.dir, 'unset-get.xml');
  await writeFile(file, '<jive></jive>\n');
  let r = t.runBare(['-c', file, 'config', 'get', 'fileRepo']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', '']);
  r = t.runBare(['--json', '-c', file, 'config', 'get', 'fileRepo']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(row(JSON.parse(r.stdout) as Record<string, unknown>), {
    name: 'plugin.httpfileupload.fileRepo',
    value: null,
    text: null,
    source: 'default',
    default: null,
  });
  assert.deepEqual(JSON.parse(r.stderr), {
    error: {
      code: 'unset',
      message: 'plugin.httpfileupload.fileRepo is neither set nor has a default',
      exitCode: 1,
    },
  });
  r = t.runBare(['-c', file, 'config', 'get', 'xmppPort']);
  assert.deepEqual([r.code, r.stdout], [0, '5275\n']);
  assert.equal(JSON.parse(t.runBare(['--json', '-c', file, 'config', 'get', 'xmppPort']).stdout).source, 'default');
  assert.equal(t.runBare(['-c', file, 'config', 'set', 'fileRepo', join(t.dir, 'repo')]).code, 0);
  r = t.runBare(['-c', file, 'config', 'get', 'fileRepo']);
  assert.deepEqual([r.code, r.stdout], [0, join(t.dir, 'repo') + '\n'], r.stderr);
});

test('set takes a value starting with a dash without --; options after it still count', async () => {
  const file = join(t.dir, 'negative.xml');
  await writeFile(file, '<jive></jive>\n');
  let r = t.runBare(['-c', file, 'config', 'set', 'slotLifetime', '-5m']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^fileupload: plugin\.httpfileupload\.slotLifetime: "-5m" is not a duration; nothing was changed/,
  );
  assert.equal(await readFile(file, 'utf8'), '<jive></jive>\n');
  r = t.runBare(['-c', file, 'config', 'set', 'slotLifetime', '-5m', '--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--bogus'/);
  r = t.runBare(['-c', file, 'config', 'set', 'maxFileSize', '-1', '--server-specific', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { name: string }).name, 'plugin.httpfileupload.serverspecific.maxFileSize');
  assert.equal(t.runBare(['-c', file, 'config', 'get', 'maxFileSize']).stdout, '-1\n');
  assert.match(await readFile(file, 'utf8'), /<maxFileSize>-1<\/maxFileSize>/);
});

test('set keeps the file’s space indentation when one line is indented with a tab', async () => {
  const file = join(t.dir, 'spaces.xml');
  const before = '<jive>\n\t<locale>en</locale>\n  <adminConsole>\n    <port>9090</port>\n  </adminConsole>\n</jive>\n';
  await writeFile(file, before);
  const r = t.runBare(['-c', file, 'config', 'set', 'maxFileSize', '10M']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await readFile(file, 'utf8'),
    before.replace(
      '</jive>',
      '  <plugin>\n    <httpfileupload>\n      <maxFileSize>10M</maxFileSize>\n    </httpfileupload>\n  </plugin>\n</jive>',
    ),
  );
});
