/**
 * `fileupload config` refusing bad input: every rule violation, unknown names and malformed XML
 * exit 2 with a message naming the problem, and the file stays byte-for-byte as it was. Also a
 * crash between the temp write and the rename, and mode/owner preservation, through the CLI.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { configSandbox, OPENFIRE_FIXTURE, type ConfigSandbox } from './support/config-cli.ts';

let t: ConfigSandbox;
before(async () => {
  t = await configSandbox();
  await mkdir(dirname(t.file), { recursive: true });
});
after(() => t.cleanup());

async function freshFixture(): Promise<Buffer> {
  await copyFile(OPENFIRE_FIXTURE, t.file);
  return (await t.bytes())!;
}

test('every rule violation: exit 2, property and rule named, file byte-identical', async () => {
  const original = await freshFixture();
  const cases: [string[], RegExp][] = [
    [['maxFileSize', 'fifty'], /plugin\.httpfileupload\.maxFileSize: "fifty" is not a size.*rule: a size in bytes/],
    [['maxFileSize', '50MB'], /maxFileSize: "50MB" is ambiguous/],
    [['maxFileSize', '-5.5'], /maxFileSize: "-5.5" is not a size.*rule: .*0 or less = unlimited/],
    [['xmppPort', '0'], /xmppPort: 0 is outside 1–65535.*rule: a port number from 1 to 65535/],
    [['webPort', '65536'], /webPort: 65536 is outside 1–65535/],
    [['announcedWebPort', 'https'], /announcedWebPort: "https" is not a port number/],
    [['announcedWebProtocol', 'ftp'], /announcedWebProtocol: "ftp" is not one of http, https/],
    [
      ['announcedWebContextRoot', 'httpfileupload'],
      /announcedWebContextRoot: "httpfileupload" does not start with \/.*rule: a URL path starting with \//,
    ],
    [['fileRepo', 'relative/dir'], /fileRepo: "relative\/dir" is not an absolute path/],
    [['domain', 'not a domain'], /domain: "not a domain" is not a domain name/],
    [['slotLifetime', 'soon'], /slotLifetime: "soon" is not a duration.*rule: a duration/],
    [['allowedDomains', 'example.org,bad domain'], /allowedDomains: list item "bad domain"/],
    [['corsOrigins', 'chat.example.org'], /corsOrigins: list item "chat\.example\.org" is not \* or an origin/],
    [['--server-specific', 'xmppPort', '99999'], /plugin\.httpfileupload\.serverspecific\.xmppPort: 99999 is outside/],
    [['maxFileSize', '  '], /maxFileSize: an empty value means unset; use "fileupload config unset maxFileSize"/],
  ];
  for (const [args, message] of cases) {
    const r = t.run(['config', 'set', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '');
    assert.deepEqual(await t.bytes(), original, `file changed by: config set ${args.join(' ')}`);
  }
});

test('unknown names: exit 2, the name and a suggestion, file byte-identical', async () => {
  const original = await freshFixture();
  for (const [args, message] of [
    [['set', 'maxfilesize', '1M'], /unknown property "maxfilesize"; did you mean maxFileSize\?/],
    [
      ['set', 'plugin.httpfileupload.sharedSecrt', 'x'],
      /unknown property "plugin\.httpfileupload\.sharedSecrt"; did you mean sharedSecret\?/,
    ],
    [['unset', 'bogus'], /unknown property "bogus"/],
    [['get', 'port'], /unknown property "port"; did you mean .*xmppPort/],
  ] as [string[], RegExp][]) {
    const r = t.run(['config', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.deepEqual(await t.bytes(), original);
  }
});

test('a failed set does not create a missing file', async () => {
  const file = `${t.dir}/never/openfire.xml`;
  const r = t.runBare(['-c', file, 'config', 'set', 'xmppPort', 'x']);
  assert.equal(r.code, 2);
  await assert.rejects(stat(`${t.dir}/never`));
});

test('malformed XML: exit 2 with file:line:col, never overwritten', async () => {
  const broken = '<?xml version="1.0"?>\n<jive>\n  <plugin>\n    <httpfileupload>\n  </plugin>\n</jive>\n';
  await writeFile(t.file, broken);
  for (const args of [['set', 'maxFileSize', '1M'], ['unset', 'maxFileSize'], ['get', 'maxFileSize'], ['list']]) {
    const r = t.run(['config', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(
      r.stderr,
      new RegExp(`${t.file.replace(/[.]/g, '\\.')}:5:3: malformed configuration: </plugin> closes <httpfileupload>`),
    );
    assert.equal((await t.bytes())!.toString(), broken);
  }
  await writeFile(t.file, '<config><x/></config>');
  const r = t.run(['config', 'set', 'maxFileSize', '1M']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /:1:1: malformed configuration: the root element is <config>, expected <jive>/);
  assert.equal((await t.bytes())!.toString(), '<config><x/></config>');
});

test('an invalid value already in the file: get and list show it and exit 2', async () => {
  await writeFile(
    t.file,
    '<jive><plugin><httpfileupload><serverspecific><xmppPort>http</xmppPort></serverspecific><maxFilesize>1</maxFilesize></httpfileupload></plugin></jive>',
  );
  let r = t.run(['config', 'get', 'xmppPort']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, 'http\n');
  assert.match(r.stderr, /invalid: plugin\.httpfileupload\.serverspecific\.xmppPort: "http" is not a port number/);
  r = t.run(['config', 'list']);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /^plugin\.httpfileupload\.xmppPort\s+http\s+serverspecific\s+\(invalid\)$/m);
  assert.match(
    r.stderr,
    /plugin\.httpfileupload\.maxFilesize in the configuration file is not a known property and is ignored \(did you mean maxFileSize\?\)/,
  );
});

test('a crash between the temp write and the rename leaves the old file intact', async () => {
  const original = await freshFixture();
  const r = t.run(['config', 'set', 'maxFileSize', '1G'], { FILEUPLOAD_TEST_HOOK: 'crash-before-rename' });
  assert.equal(r.signal, 'SIGKILL');
  assert.deepEqual(await t.bytes(), original);
  const leftovers = (await readdir(dirname(t.file))).filter((n) => n !== 'openfire.xml');
  assert.equal(leftovers.length, 1, 'the crash happened after the temp file was written');
  const ok = t.run(['config', 'set', 'maxFileSize', '1G']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('set keeps the mode (and, as root, the owner) of an existing file', async () => {
  await freshFixture();
  await chmod(t.file, 0o640);
  const root = process.getuid?.() === 0;
  if (root) await chown(t.file, 1234, 5678);
  const r = t.run(['config', 'set', 'maxFileSize', '2G']);
  assert.equal(r.code, 0, r.stderr);
  const st = await stat(t.file);
  assert.equal(st.mode & 0o7777, 0o640);
  if (root) assert.deepEqual([st.uid, st.gid], [1234, 5678]);
});

test('a missing argument is a usage error (exit 2)', () => {
  const r = t.run(['config', 'set', 'maxFileSize']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /maxFileSize: no value given: pass it, - to read it from standard input, or --from-file PATH/);
});
