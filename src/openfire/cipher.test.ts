import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { BlowfishCipher, openfireBlowfishEncrypt, openfireBlowfishKey } from './blowfish.ts';
import { DEFAULT_SECURITY, OpenfireCipher, parseSecurityXml } from './cipher.ts';
import { OpenfireDecryptError, OpenfireFormatError } from './errors.ts';
import { AES_GCM, AES_GCM_PLAIN, KEY, KEY_OBFUSCATED } from './fixtures/known-answers.ts';

/** Openfire’s AesEncryptorTest: this text under the built-in key and fixed IV (also how security.xml hides the key). */
const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod';
const LOREM_AES =
  'PwwA2Ejt1HDS0xwbEg4qMzk/E9fDA1aA6TdL2zBPMVtwW9C2UnUafAmm/twRZxY89euheVg0rxoQVfo5to825asMcx/bJNPY136oZstULDU=';

const securityXml = (algorithm: string, current: string, extra = '') => `<?xml version="1.0" encoding="UTF-8"?>
<!-- as Openfire ships it, with a key set -->
<security>
  <encrypt>
    <algorithm>${algorithm}</algorithm>
    <key>
      <!-- <old></old> <new></new> -->
      <current>${current}</current>
    </key>
    <property>
      <name>database.defaultProvider.username</name>
      <name>database.defaultProvider.password</name>
      <name>plugin.httpfileupload.clamavHost</name>
    </property>${extra}
  </encrypt>
</security>
`;

test('AES known answer from Openfire’s own test, with the pre-4.9 line-broken base64 too', () => {
  const aes = new OpenfireCipher({ ...DEFAULT_SECURITY, algorithm: 'AES' });
  assert.equal(aes.decrypt('p', { value: LOREM_AES, iv: undefined }), LOREM);
  const wrapped = LOREM_AES.slice(0, 76) + ' ' + LOREM_AES.slice(76);
  assert.equal(aes.decrypt('p', { value: wrapped, iv: undefined }), LOREM);
});

test('security.xml: the obfuscated current key is read (Openfire’s test vector as the key), names listed', () => {
  const s = parseSecurityXml(securityXml('AES', LOREM_AES));
  assert.equal(s.algorithm, 'AES');
  assert.equal(s.key, LOREM);
  assert.deepEqual(
    [...s.encryptedNames],
    ['database.defaultProvider.username', 'database.defaultProvider.password', 'plugin.httpfileupload.clamavHost'],
  );
  assert.equal(s.pendingNewKey, false);
  const shipped = parseSecurityXml(securityXml('Blowfish', '').replace('<current></current>', '<current />'));
  assert.equal(shipped.algorithm, 'Blowfish');
  assert.equal(shipped.key, undefined);
  assert.equal(parseSecurityXml('<security/>').algorithm, 'Blowfish', 'Blowfish unless AES is named');
  const one = parseSecurityXml('<security><encrypt><property><name> only.one </name></property></encrypt></security>');
  assert.deepEqual([...one.encryptedNames], ['only.one']);
});

test('AES with a custom key: the key’s first 16 UTF-8 bytes, IV from the iv attribute (CBC ≤ 5.0, GCM 5.1+)', () => {
  const cipher = new OpenfireCipher(parseSecurityXml(securityXml('AES', LOREM_AES)));
  const key = Buffer.from('Lorem ipsum dolo');
  const iv = Buffer.from('0123456789abcdef');
  const cbc = createCipheriv('aes-128-cbc', key, iv);
  const cbcValue = Buffer.concat([cbc.update('clamd.example', 'utf8'), cbc.final()]).toString('base64');
  assert.equal(cipher.decrypt('p', { value: cbcValue, iv: iv.toString('base64') }), 'clamd.example');
  const gcm = createCipheriv('aes-128-gcm', key, iv);
  const gcmValue = Buffer.concat([gcm.update('gcm value', 'utf8'), gcm.final(), gcm.getAuthTag()]).toString('base64');
  assert.equal(cipher.decrypt('p', { value: gcmValue, iv: iv.toString('base64') }), 'gcm value');
  const back = cipher.encrypt('written back');
  assert.ok(back.iv !== undefined && Buffer.from(back.iv, 'base64').length === 16);
  assert.equal(cipher.decrypt('p', back), 'written back');
  const short = new OpenfireCipher(parseSecurityXml(securityXml('AES', '')));
  assert.throws(() => short.decrypt('p', back), OpenfireDecryptError, 'the default key does not fit');
});

test('Blowfish with the key of security.xml, the default key, and PBKDF2 with the stored salt', () => {
  const custom = new OpenfireCipher(parseSecurityXml(securityXml('Blowfish', LOREM_AES)));
  const hex = openfireBlowfishEncrypt(new BlowfishCipher(openfireBlowfishKey(LOREM, { kind: 'sha1' })), 'bf secret');
  assert.equal(custom.decrypt('p', { value: hex, iv: 'ignored-by-blowfish' }), 'bf secret');
  assert.equal(new OpenfireCipher().decrypt('p', new OpenfireCipher().encrypt('default key')), 'default key');

  const salt = Buffer.alloc(32, 9).toString('base64');
  const pbkdf2 = parseSecurityXml(
    securityXml('Blowfish', LOREM_AES, `\n    <blowfish><kdf>pbkdf2</kdf><salt>${salt}</salt></blowfish>`),
  );
  assert.equal(pbkdf2.blowfishKdf.kind, 'pbkdf2');
  const c = new OpenfireCipher(pbkdf2);
  const v = openfireBlowfishEncrypt(
    new BlowfishCipher(openfireBlowfishKey(LOREM, { kind: 'pbkdf2', salt: Buffer.from(salt, 'base64') })),
    'pbkdf2 secret',
  );
  assert.equal(c.decrypt('p', { value: v, iv: undefined }), 'pbkdf2 secret');
  assert.throws(() => custom.decrypt('p', { value: v, iv: undefined }), /does not fit/);
});

test('an undecryptable value names the property and why', () => {
  const c = new OpenfireCipher();
  assert.throws(
    () => c.decrypt('plugin.httpfileupload.clamavHost', { value: 'plain text', iv: undefined }),
    (err: unknown) =>
      err instanceof OpenfireDecryptError &&
      err.property === 'plugin.httpfileupload.clamavHost' &&
      /cannot decrypt property plugin\.httpfileupload\.clamavHost: .*Blowfish format/.test(err.message),
  );
  const aes = new OpenfireCipher({ ...DEFAULT_SECURITY, algorithm: 'AES' });
  assert.throws(() => aes.decrypt('x.y', { value: '***', iv: undefined }), /x\.y: it is not base64/);
});

test('a security.xml Openfire did not write is refused with the file named', () => {
  assert.throws(
    () => parseSecurityXml('<security><encrypt>', 'conf/security.xml'),
    (e: unknown) => {
      return e instanceof OpenfireFormatError && e.message.startsWith('conf/security.xml');
    },
  );
  assert.throws(() => parseSecurityXml('<jive/>'), /root element is not <security>/);
  assert.throws(
    () => parseSecurityXml(securityXml('AES', 'bm90IGEga2V5IQ==')),
    /<current> is not a key Openfire wrote/,
  );
  assert.throws(
    () => parseSecurityXml(securityXml('Blowfish', '', '<blowfish><kdf>pbkdf2</kdf></blowfish>')),
    /pbkdf2 but <salt>/,
  );
});

test('known answers from Openfire’s classes: AES-GCM with iv (5.1+), AES legacy, obfuscated key', () => {
  const s = parseSecurityXml(securityXml('AES', KEY_OBFUSCATED));
  assert.equal(s.key, KEY);
  const c = new OpenfireCipher(s);
  assert.equal(c.decrypt('p', AES_GCM), AES_GCM_PLAIN);
  const dflt = new OpenfireCipher({ ...DEFAULT_SECURITY, algorithm: 'AES' });
  assert.equal(dflt.decrypt('p', { value: 'hAfJhQWdFB7m1vqYWRhvLw==', iv: undefined }), 'legacy cbc');
});

test('known answers from Openfire’s classes: Blowfish with SHA-1 and with PBKDF2 key derivation', () => {
  // Key: the AES test vector’s text (LOREM), stored obfuscated as LOREM_AES.
  const sha1 = new OpenfireCipher(parseSecurityXml(securityXml('Blowfish', LOREM_AES)));
  assert.equal(
    sha1.decrypt('p', {
      value: '29aee1e21a73c796d3d341e5b894659460e668ea1561fb388fa0a24e9b1607d7f9b4c7259f32f78a',
      iv: undefined,
    }),
    'bf secret héllo',
  );
  const salt = Buffer.alloc(32, 9).toString('base64');
  const pbkdf2 = new OpenfireCipher(
    parseSecurityXml(securityXml('Blowfish', LOREM_AES, `<blowfish><kdf>pbkdf2</kdf><salt>${salt}</salt></blowfish>`)),
  );
  assert.equal(
    pbkdf2.decrypt('p', {
      value: '9af2b91526bed083d22cdde0490aa78f05ad6f17c354f7f61c45ec74391a86a700f5a5fbb6f4d429',
      iv: undefined,
    }),
    'pbkdf2 secret',
  );
  assert.equal(
    new OpenfireCipher().decrypt('p', {
      value: 'fae8f71ba71587eded2c85991a03167600c731c08505bbda1fc2c2714fb1411e',
      iv: undefined,
    }),
    '127.0.0.1',
  );
});
