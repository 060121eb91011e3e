import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leafNames, parseOpenfireXml, readAttributes, readProperty } from '../config/openfire-xml.ts';
import { DEFAULT_SECURITY, OpenfireCipher } from './cipher.ts';
import { OpenfireDecryptError } from './errors.ts';
import { readOpenfireXmlValues, type OpenfireXmlReader } from './xml.ts';
import { AES_GCM, AES_GCM_PLAIN, KEY } from './fixtures/known-answers.ts';

const reader = (text: string): OpenfireXmlReader => {
  const doc = parseOpenfireXml(text);
  return {
    value: (n) => readProperty(doc, n),
    attributes: (n) => readAttributes(doc, n),
    leafNames: (p) => leafNames(doc, p),
  };
};

/** As Openfire 5.x writes it: declaration, comments, setup state, encrypted values with and without iv. */
const OPENFIRE_XML = (clamav: string) => `<?xml version="1.0" encoding="UTF-8"?>

<!--
    This file stores bootstrap properties needed by Openfire.
-->
<jive>
  <adminConsole>
    <port>9090</port>
    <securePort>9091</securePort>
  </adminConsole>
  <locale>en</locale>
  <connectionProvider>
    <className>org.jivesoftware.database.EmbeddedConnectionProvider</className>
  </connectionProvider>
  <setup>true</setup>
  <fqdn>xmpp.example.org</fqdn>
  <plugin>
    <httpfileupload>
      <announcedWebContextRoot>/httpfileupload</announcedWebContextRoot>
      <serverspecific>
        <fileRepo>/var/lib/openfire/uploads</fileRepo>
        ${clamav}
        <announcedWebPort>7443</announcedWebPort>
      </serverspecific>
    </httpfileupload>
  </plugin>
</jive>
`;

test('fqdn and the plugin’s properties; an encrypted Blowfish value (Openfire’s default key) decrypted', () => {
  // Written by Openfire's own Blowfish class under the default key.
  const xml = OPENFIRE_XML(
    '<clamavHost encrypted="true" iv="c29tZSBpdiBpZ25vcmVkIGJ5IEJG">fae8f71ba71587eded2c85991a03167600c731c08505bbda1fc2c2714fb1411e</clamavHost>',
  );
  const values = readOpenfireXmlValues(reader(xml), new OpenfireCipher());
  assert.equal(values.fqdn, 'xmpp.example.org');
  assert.deepEqual(Object.fromEntries(values.properties), {
    'plugin.httpfileupload.announcedWebContextRoot': '/httpfileupload',
    'plugin.httpfileupload.serverspecific.fileRepo': '/var/lib/openfire/uploads',
    'plugin.httpfileupload.serverspecific.clamavHost': '127.0.0.1',
    'plugin.httpfileupload.serverspecific.announcedWebPort': '7443',
  });
});

test('AES-GCM with the iv attribute (Openfire 5.1+), and clear text without the attribute', () => {
  const cipher = new OpenfireCipher({ ...DEFAULT_SECURITY, algorithm: 'AES', key: KEY });
  const gcm = OPENFIRE_XML(`<clamavHost encrypted="true" iv="${AES_GCM.iv}">${AES_GCM.value}</clamavHost>`);
  assert.equal(
    readOpenfireXmlValues(reader(gcm), cipher).properties.get('plugin.httpfileupload.serverspecific.clamavHost'),
    AES_GCM_PLAIN,
  );
  const clear = OPENFIRE_XML('<clamavHost>clamd.local</clamavHost>');
  assert.equal(
    readOpenfireXmlValues(reader(clear), cipher).properties.get('plugin.httpfileupload.serverspecific.clamavHost'),
    'clamd.local',
  );
  assert.equal(readOpenfireXmlValues(reader('<jive><fqdn/></jive>'), cipher).fqdn, undefined);
});

test('an encrypted value the key does not fit names the property', () => {
  const xml = OPENFIRE_XML('<clamavHost encrypted="true">0011223344556677deadbeefdeadbeef</clamavHost>');
  assert.throws(
    () => readOpenfireXmlValues(reader(xml), new OpenfireCipher()),
    (e: unknown) =>
      e instanceof OpenfireDecryptError && e.property === 'plugin.httpfileupload.serverspecific.clamavHost',
  );
});
