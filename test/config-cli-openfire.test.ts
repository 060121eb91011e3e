/**
 * An Openfire admin's configuration through the real `bin/fileupload`: values Openfire encrypted
 * (AES with an iv, as Openfire 5.1 writes them, under the key of the security.xml beside the
 * file) are read by `config` and `serve`, re-encrypted by `config set` (or written in clear
 * without the attributes when there is no security.xml), and one that does not decrypt stops
 * `config get` and `serve` with exit code 2 naming the property and the file. `<fqdn>` is the
 * announcedWebHost default; the component library's names are aliases or reported.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './support/config-cli.ts';
import { serveConfigFor, startServe } from './support/serve.ts';
import { ExitCode } from '../src/cli/exit-codes.ts';
import { OpenfireCipher, parseSecurityXml } from '../src/openfire/cipher.ts';
import { AES_GCM, AES_GCM_PLAIN, KEY_OBFUSCATED } from '../src/openfire/fixtures/known-answers.ts';

const SECRET = AES_GCM_PLAIN;

const SECURITY = `<?xml version="1.0" encoding="UTF-8"?>
<security>
  <encrypt>
    <algorithm>AES</algorithm>
    <key>
      <current>${KEY_OBFUSCATED}</current>
    </key>
    <property>
      <name>database.defaultProvider.password</name>
      <name>plugin.httpfileupload.sharedSecret</name>
    </property>
  </encrypt>
</security>
`;

const OPENFIRE_XML = `<?xml version="1.0" encoding="UTF-8"?>
<!-- as Openfire 5.1 leaves it, with the HTTP File Upload plugin's properties -->
<jive>
  <adminConsole>
    <port>9090</port>
  </adminConsole>
  <fqdn>XMPP.example.org</fqdn>
  <database>
    <defaultProvider>
      <password encrypted="true" iv="${AES_GCM.iv}">${AES_GCM.value}</password>
    </defaultProvider>
  </database>
  <plugin>
    <httpfileupload>
      <domain>upload.example.org</domain>
      <sharedSecret encrypted="true" iv="${AES_GCM.iv}">${AES_GCM.value}</sharedSecret>
      <webContextRoot>/files</webContextRoot>
      <wildcardCORS>true</wildcardCORS>
    </httpfileupload>
  </plugin>
</jive>
`;

let root = '';
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fu-config-openfire-'));
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** A conf/ folder with openfire.xml (0600) and, unless told otherwise, security.xml. */
async function conf(opts: { security?: boolean } = {}): Promise<string> {
  const dir = join(root, `conf${++n}`);
  await mkdir(dir);
  const file = join(dir, 'openfire.xml');
  await writeFile(file, OPENFIRE_XML, { mode: 0o600 });
  await chmod(file, 0o600);
  if (opts.security !== false) await writeFile(join(dir, 'security.xml'), SECURITY);
  return file;
}

function run(file: string, args: string[], input?: string) {
  const env = { ...process.env };
  delete env.FILEUPLOAD_CONFIG;
  const r = spawnSync(BIN, ['--config', file, ...args], { env, input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The stored value and attributes of `<sharedSecret>`. */
async function storedSecret(file: string) {
  const m = /<sharedSecret([^>]*)>([^<]*)<\/sharedSecret>/.exec(await readFile(file, 'utf8'));
  assert.ok(m, 'sharedSecret element');
  const attrs = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
  return { attrs, value: m[2] ?? '' };
}

test('config get and list decrypt; a secret stays masked unless --show-secrets', async () => {
  const file = await conf();
  const masked = run(file, ['config', 'get', 'sharedSecret']);
  assert.deepEqual([masked.code, masked.stdout], [0, '********\n'], masked.stderr);
  const shown = run(file, ['config', 'get', '--show-secrets', 'sharedSecret']);
  assert.deepEqual([shown.code, shown.stdout], [0, `${SECRET}\n`], shown.stderr);
  const list = run(file, ['--json', 'config', 'list', '--show-secrets']);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { name: string; value: unknown; source: string }[];
  const row = (short: string) => rows.find((r) => r.name === `plugin.httpfileupload.${short}`);
  assert.equal(row('sharedSecret')?.value, SECRET);
  assert.deepEqual([row('announcedWebHost')?.value, row('announcedWebHost')?.source], ['xmpp.example.org', 'default']);
  assert.deepEqual(
    [row('announcedWebContextRoot')?.value, row('announcedWebContextRoot')?.source],
    ['/files', 'general'],
  );
  // The component library's names: the alias and the option not read are both spoken of (as JSON lines under --json).
  assert.match(
    list.stderr,
    /^\{"note":"plugin\.httpfileupload\.wildcardCORS is an option of the component library that fileupload does not read: CORS follows corsOrigins/m,
  );
  assert.match(
    run(file, ['config', 'list']).stderr,
    /^fileupload: note: plugin\.httpfileupload\.wildcardCORS is an option of the component library that fileupload does not read: CORS follows corsOrigins/m,
  );
  assert.match(
    list.stderr,
    /"note":"plugin\.httpfileupload\.webContextRoot is read as plugin\.httpfileupload\.announcedWebContextRoot/,
  );
  assert.doesNotMatch(list.stderr, /not a known property/);
});

test('config set re-encrypts with security.xml: Openfire’s cipher reads the new value; other bytes and 0600 stay', async () => {
  const file = await conf();
  const r = run(file, ['config', 'set', 'sharedSecret', '-'], 'the new secret\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'plugin.httpfileupload.sharedSecret = ********\n');
  assert.doesNotMatch(r.stderr, /in clear/);
  const after = await readFile(file, 'utf8');
  const { attrs, value } = await storedSecret(file);
  assert.equal(attrs.encrypted, 'true');
  assert.ok(attrs.iv && attrs.iv !== AES_GCM.iv);
  assert.ok(!after.includes('the new secret'));
  const cipher = new OpenfireCipher(parseSecurityXml(SECURITY));
  assert.equal(cipher.decrypt('plugin.httpfileupload.sharedSecret', { value, iv: attrs.iv }), 'the new secret');
  // Everything else, the other encrypted value included, is as Openfire wrote it.
  const [head, tail] = OPENFIRE_XML.split(/<sharedSecret[^>]*>[^<]*<\/sharedSecret>/);
  assert.ok(after.startsWith(head!) && after.endsWith(tail!));
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const back = run(file, ['config', 'get', '--show-secrets', 'sharedSecret']);
  assert.equal(back.stdout, 'the new secret\n');
});

test('config set without security.xml writes the value in clear, drops encrypted and iv, and says so', async () => {
  const file = await conf({ security: false });
  // Openfire's default key does not fit this AES value: reading it fails, naming it and the file.
  const get = run(file, ['config', 'get', 'sharedSecret']);
  assert.equal(get.code, ExitCode.Usage);
  assert.match(
    get.stderr,
    new RegExp(
      `invalid: plugin\\.httpfileupload\\.sharedSecret: is encrypted in ${file} but does not decrypt with Openfire's default key`,
    ),
  );
  const r = run(file, ['config', 'set', 'sharedSecret', '-'], 'plain now\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /note: plugin\.httpfileupload\.sharedSecret was encrypted in .*; it is now written in clear, without the encrypted attribute, because there is no .*security\.xml/,
  );
  assert.deepEqual(await storedSecret(file), { attrs: {}, value: 'plain now' });
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.ok(
    (await readFile(file, 'utf8')).includes(
      `<password encrypted="true" iv="${AES_GCM.iv}">${AES_GCM.value}</password>`,
    ),
  );
  assert.equal(run(file, ['config', 'get', '--show-secrets', 'sharedSecret']).stdout, 'plain now\n');
});

test('a value that does not decrypt: config list and serve exit 2 naming the property and the file', async () => {
  const file = await conf();
  await writeFile(
    file,
    OPENFIRE_XML.replace(`>${AES_GCM.value}</sharedSecret>`, '>bm90IHRoZSBzZWNyZXQ=</sharedSecret>'),
  );
  const list = run(file, ['config', 'list']);
  assert.equal(list.code, ExitCode.Usage);
  assert.match(
    list.stderr,
    new RegExp(
      `invalid: plugin\\.httpfileupload\\.sharedSecret: is encrypted in ${file} but does not decrypt with ${file.replace('openfire.xml', 'security.xml')}`,
    ),
  );
  const serve = run(file, ['serve']);
  assert.equal(serve.code, ExitCode.Usage, serve.stderr);
  assert.match(
    serve.stderr,
    new RegExp(`plugin\\.httpfileupload\\.sharedSecret: is encrypted in ${file} but does not decrypt`),
  );
});

test('the component library’s names: an alias is set under its property; an option not read is refused with why', async () => {
  const file = await conf();
  const set = run(file, ['config', 'set', 'webContextRoot', '/uploads']);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(set.stdout, 'plugin.httpfileupload.announcedWebContextRoot = /uploads\n');
  assert.match(await readFile(file, 'utf8'), /<announcedWebContextRoot>\/uploads<\/announcedWebContextRoot>/);
  const list = run(file, ['config', 'list']);
  assert.match(
    list.stderr,
    /webContextRoot is not read: it is an alias of plugin\.httpfileupload\.announcedWebContextRoot, which is set too and wins/,
  );
  const refused = run(file, ['config', 'set', 'wildcardCORS', 'false']);
  assert.equal(refused.code, ExitCode.Usage);
  assert.match(
    refused.stderr,
    /wildcardCORS is an option of the component library that fileupload does not read: CORS follows corsOrigins/,
  );
  // It can be removed, though, in any spelling.
  const removed = run(file, ['config', 'unset', 'plugin.httpfileupload.wildcardCORS']);
  assert.deepEqual([removed.code, removed.stdout], [0, 'plugin.httpfileupload.wildcardCORS removed\n'], removed.stderr);
  assert.doesNotMatch(await readFile(file, 'utf8'), /wildcardCORS/);
  assert.equal(
    run(file, ['config', 'unset', 'wildcardCORS']).stdout,
    'plugin.httpfileupload.wildcardCORS was not set\n',
  );
  const temp = run(file, ['config', 'get', 'tempFileRepo']);
  assert.equal(temp.code, ExitCode.Usage);
  assert.match(temp.stderr, /tempFileRepo is an option of the component library that fileupload does not read/);
});

test('serve says once at start which component library options it does not read', async () => {
  const serve = await startServe({
    config: await serveConfigFor(undefined, { wildcardCORS: 'true', contentSecurityPolicy: "default-src 'none'" }),
    waitFor: 'ready',
  });
  try {
    const notes = serve
      .logLines()
      .filter((l) => l.level === 'warn' && /option of the component library/.test(String(l.msg)));
    assert.deepEqual(
      notes.map((l) => /(wildcardCORS|contentSecurityPolicy)/.exec(String(l.msg))?.[1]).sort(),
      ['contentSecurityPolicy', 'wildcardCORS'],
      JSON.stringify(notes),
    );
  } finally {
    await serve.stop();
  }
});
