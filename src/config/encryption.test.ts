import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenfireCipher, parseSecurityXml } from '../openfire/cipher.ts';
import { readConfigDocument, setConfigProperty, unsetConfigProperty } from './edit.ts';
import { ConfigEncryption, mayHoldEncrypted, readValue, securityFileOf, UndecryptableValue } from './encryption.ts';
import { ConfigError } from './errors.ts';
import { loadSettings } from './load.ts';
import { parseOpenfireXml, readAttributes, readProperty } from './openfire-xml.ts';
import { AES_GCM, KEY_OBFUSCATED } from '../openfire/fixtures/known-answers.ts';

/** '127.0.0.1' under Blowfish with Openfire's default key (no security.xml, or one without a key). */
const BLOWFISH_DEFAULT = 'fae8f71ba71587eded2c85991a03167600c731c08505bbda1fc2c2714fb1411e';

const SECURITY_AES = `<?xml version="1.0" encoding="UTF-8"?>
<security>
  <encrypt>
    <algorithm>AES</algorithm>
    <key>
      <current>${KEY_OBFUSCATED}</current>
    </key>
    <property>
      <name>plugin.httpfileupload.serverspecific.sharedSecret</name>
    </property>
  </encrypt>
</security>
`;

/** An openfire.xml as Openfire 5.1 writes it: an AES value with its iv, a Blowfish-era value without. */
const configXml = (extra = '') => `<?xml version="1.0" encoding="UTF-8"?>
<jive>
  <fqdn>XMPP.example.org</fqdn>
  <database>
    <defaultProvider>
      <password encrypted="true" iv="${AES_GCM.iv}">${AES_GCM.value}</password>
    </defaultProvider>
  </database>
  <plugin>
    <httpfileupload>
      <domain>upload.example.org</domain>
      <serverspecific>
        <sharedSecret encrypted="true" iv="${AES_GCM.iv}">${AES_GCM.value}</sharedSecret>${extra}
      </serverspecific>
    </httpfileupload>
  </plugin>
</jive>
`;

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fu-encryption-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const SS = 'plugin.httpfileupload.serverspecific.sharedSecret';
const host = { hostname: () => 'box.example.org' };

test('security.xml is the one beside the configuration file; only a marked element makes it read', () => {
  assert.equal(securityFileOf('/opt/openfire/conf/openfire.xml'), '/opt/openfire/conf/security.xml');
  assert.equal(mayHoldEncrypted(configXml()), true);
  assert.equal(mayHoldEncrypted('<jive><a>encrypted="true"</a><b enc="x"/></jive>'), false);
});

test('an AES value with its iv decrypts with the key of the security.xml beside the file', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(file, configXml());
    await writeFile(join(dir, 'security.xml'), SECURITY_AES);
    const read = await readConfigDocument(file);
    assert.equal(read.encryption?.state, 'file');
    assert.equal(readValue(read.doc!, SS, read.encryption), 'gcm secret ✓');
    assert.equal(readValue(read.doc!, 'plugin.httpfileupload.domain', read.encryption), 'upload.example.org');
    const s = await loadSettings(file, host);
    assert.equal(s.sharedSecret, 'gcm secret ✓');
  });
});

test('without security.xml a value decrypts with Openfire’s default Blowfish key', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(
      file,
      `<jive><plugin><httpfileupload><xmppHost encrypted="true">${BLOWFISH_DEFAULT}</xmppHost></httpfileupload></plugin></jive>`,
    );
    const s = await loadSettings(file, host);
    assert.equal(s.xmppHost, '127.0.0.1');
    assert.equal((await readConfigDocument(file)).encryption?.state, 'absent');
  });
});

test('a value that does not decrypt is a config error naming the property and the file', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    // The AES value without the AES security.xml: Openfire's default (Blowfish) cannot read it.
    await writeFile(file, configXml());
    await assert.rejects(loadSettings(file, host), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 1);
      assert.equal(err.property, SS);
      assert.match(
        err.message,
        new RegExp(
          `${SS}: is encrypted in ${file} but does not decrypt with Openfire's default key \\(there is no ${join(dir, 'security.xml')}`,
        ),
      );
      return true;
    });
    // A security.xml that is not one: the error says so, and only because a value needs it.
    await writeFile(join(dir, 'security.xml'), '<security><encrypt>');
    await assert.rejects(
      loadSettings(file, host),
      /sharedSecret: is encrypted in .*, but .*security\.xml:1: not well-formed XML/,
    );
    await writeFile(
      file,
      '<jive><plugin><httpfileupload><domain>upload.example.org</domain></httpfileupload></plugin></jive>',
    );
    assert.equal((await loadSettings(file, host)).domain, 'upload.example.org');
    // A computed default that reads the undecryptable value does not name a second property.
    await writeFile(
      file,
      `<jive><plugin><httpfileupload><announcedWebPort encrypted="true">0011</announcedWebPort></httpfileupload></plugin></jive>`,
    );
    await assert.rejects(loadSettings(file, host), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.problems.map((p) => p.property),
        ['plugin.httpfileupload.announcedWebPort'],
      );
      return true;
    });
  });
});

test('readValue: a marked element without a loaded security.xml is refused, an unmarked one is clear text', () => {
  const doc = parseOpenfireXml(
    `<jive><a encrypted="true">${BLOWFISH_DEFAULT}</a><b>clear</b><c encrypted="true"/></jive>`,
  );
  assert.throws(() => readValue(doc, 'a', undefined, '/x/openfire.xml'), UndecryptableValue);
  assert.equal(readValue(doc, 'b', undefined), 'clear');
  assert.equal(readValue(doc, 'c', undefined), '', 'an empty element is unset, nothing to decrypt');
  assert.equal(readValue(doc, 'd', undefined), undefined);
});

test('set over an encrypted value re-encrypts it with security.xml; every other byte stays', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    const before = configXml();
    await writeFile(file, before);
    await writeFile(join(dir, 'security.xml'), SECURITY_AES);
    const note = await setConfigProperty(file, SS, 'a new secret');
    assert.equal(note, undefined);
    const after = await readFile(file, 'utf8');
    const doc = parseOpenfireXml(after);
    const attrs = readAttributes(doc, SS)!;
    assert.equal(attrs.encrypted, 'true');
    assert.notEqual(attrs.iv, AES_GCM.iv, 'a fresh iv');
    assert.notEqual(readProperty(doc, SS), 'a new secret');
    const cipher = new OpenfireCipher(parseSecurityXml(SECURITY_AES));
    assert.equal(cipher.decrypt(SS, { value: readProperty(doc, SS)!, iv: attrs.iv }), 'a new secret');
    // Only the element's iv and text changed: the database password keeps its bytes.
    const start = before.indexOf('<sharedSecret');
    assert.equal(after.slice(0, start), before.slice(0, start));
    const tail = before.slice(before.indexOf('</sharedSecret>'));
    assert.ok(after.endsWith(tail));
    assert.equal(after.slice(start, after.indexOf('>', start) + 1), `<sharedSecret encrypted="true" iv="${attrs.iv}">`);
    assert.equal((await loadSettings(file, host)).sharedSecret, 'a new secret');
  });
});

test('set over a Blowfish value re-encrypts without an iv; a stale iv goes', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(
      join(dir, 'security.xml'),
      '<security><encrypt><algorithm>Blowfish</algorithm></encrypt></security>',
    );
    await writeFile(
      file,
      `<jive><plugin><httpfileupload><xmppHost encrypted="true" iv="c3RhbGU=">${BLOWFISH_DEFAULT}</xmppHost></httpfileupload></plugin></jive>`,
    );
    assert.equal((await loadSettings(file, host)).xmppHost, '127.0.0.1');
    await setConfigProperty(file, 'plugin.httpfileupload.xmppHost', 'xmpp.example.org');
    const doc = parseOpenfireXml(await readFile(file, 'utf8'));
    assert.deepEqual(readAttributes(doc, 'plugin.httpfileupload.xmppHost'), { encrypted: 'true' });
    assert.equal(
      new OpenfireCipher().decrypt('x', { value: readProperty(doc, 'plugin.httpfileupload.xmppHost')!, iv: undefined }),
      'xmpp.example.org',
    );
  });
});

test('set without security.xml writes the value in clear, drops encrypted and iv, and says so', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    const before = configXml();
    await writeFile(file, before);
    await chmod(file, 0o600);
    const note = await setConfigProperty(file, SS, 'clear secret');
    assert.match(
      note ?? '',
      new RegExp(
        `${SS} was encrypted in ${file}; it is now written in clear, .*there is no ${join(dir, 'security.xml')}`,
      ),
    );
    const after = await readFile(file, 'utf8');
    assert.equal(
      after,
      before.replace(
        `<sharedSecret encrypted="true" iv="${AES_GCM.iv}">${AES_GCM.value}<`,
        '<sharedSecret>clear secret<',
      ),
    );
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await loadSettings(file, host)).sharedSecret, 'clear secret');
    // An unusable security.xml is no key either.
    await writeFile(file, before);
    await writeFile(join(dir, 'security.xml'), 'not xml');
    assert.match((await setConfigProperty(file, SS, 'again')) ?? '', /not well-formed XML/);
    assert.equal(readAttributes(parseOpenfireXml(await readFile(file, 'utf8')), SS)?.encrypted, undefined);
  });
});

test('unset of an encrypted property removes it; the other encrypted element keeps its bytes', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(file, configXml());
    assert.equal(await unsetConfigProperty(file, SS), true);
    const after = await readFile(file, 'utf8');
    assert.ok(!after.includes('sharedSecret'));
    assert.ok(after.includes(`<password encrypted="true" iv="${AES_GCM.iv}">${AES_GCM.value}</password>`));
  });
});

test('ConfigEncryption.load never throws for what lies beside the file', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    assert.equal((await ConfigEncryption.load(file)).state, 'absent');
    await writeFile(join(dir, 'security.xml'), SECURITY_AES);
    const ok = await ConfigEncryption.load(file);
    assert.equal(ok.state, 'file');
    assert.ok(ok.reencrypt('x')?.iv);
    await writeFile(join(dir, 'security.xml'), '<security/>');
    await chmod(join(dir, 'security.xml'), 0o000);
    const locked = await ConfigEncryption.load(file);
    if (process.getuid?.() !== 0) {
      assert.equal(locked.state, 'unreadable');
      assert.equal(locked.reencrypt('x'), undefined);
      assert.match(locked.whyClear(), /cannot be read \(EACCES\)/);
    }
  });
});
