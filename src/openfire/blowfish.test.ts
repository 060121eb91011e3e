import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  BlowfishCipher,
  OPENFIRE_BLOWFISH_DEFAULT_KEY,
  openfireBlowfishDecrypt,
  openfireBlowfishEncrypt,
  openfireBlowfishKey,
} from './blowfish.ts';

const sha1Key = (s: string) => new BlowfishCipher(openfireBlowfishKey(s, { kind: 'sha1' }));

test('Schneier’s test vectors (the ones Openfire’s BlowfishECB.selfTest checks)', () => {
  const a = new BlowfishCipher(Buffer.from('1c587f1c13924fef', 'hex'));
  const lr = new Uint32Array([0x30553228, 0x6d6f295a]);
  a.encryptWords(lr);
  assert.deepEqual([...lr], [0x55cb3774, 0xd13ef201]);
  a.decryptWords(lr);
  assert.deepEqual([...lr], [0x30553228, 0x6d6f295a]);
  const b = new BlowfishCipher(Buffer.from('Who is John Galt?'));
  const lr2 = new Uint32Array([0xfedcba98, 0x76543210]);
  b.encryptWords(lr2);
  assert.deepEqual([...lr2], [0xcc91732b, 0x8022f684]);
});

test('a value a real Openfire 4.7 install wrote decrypts (user password under passwordKey)', () => {
  // From a published openfire.script: OFUSER.ENCRYPTEDPASSWORD with ofProperty passwordKey.
  const c = sha1Key('hGXiFzsKaAeYLjn');
  const hex =
    'becb0c67cfec25aa266ae077e18177c5c3308e2255db062e4f0b77c577e159a11a94016d57ac62d4e89b2856b0289b365f3069802e59d442';
  assert.equal(openfireBlowfishDecrypt(c, hex), 'ThisPasswordShouldDo!@');
  assert.equal(openfireBlowfishDecrypt(sha1Key('another key'), hex), undefined, 'a wrong key fails the padding check');
});

test('CBC agrees with OpenSSL’s bf-cbc (legacy provider) byte for byte', () => {
  const key = openfireBlowfishKey(OPENFIRE_BLOWFISH_DEFAULT_KEY, { kind: 'sha1' });
  const iv = Buffer.from('0011223344556677', 'hex');
  const data = Buffer.from('0123456789abcdef fedcba9876543210 ~~~~~~', 'latin1');
  const mine = new BlowfishCipher(key).encryptCbc(iv, data).toString('hex');
  const script =
    "const c=require('crypto').createCipheriv('bf-cbc',Buffer.from(process.argv[1],'hex'),Buffer.from(process.argv[2],'hex'));" +
    "c.setAutoPadding(false);process.stdout.write(Buffer.concat([c.update(Buffer.from(process.argv[3],'hex')),c.final()]).toString('hex'))";
  const theirs = execFileSync(
    process.execPath,
    ['--openssl-legacy-provider', '-e', script, key.toString('hex'), iv.toString('hex'), data.toString('hex')],
    { encoding: 'utf8' },
  );
  assert.equal(mine, theirs);
  assert.deepEqual(new BlowfishCipher(key).decryptCbc(iv, Buffer.from(mine, 'hex')), data);
});

test('Openfire’s string format: UTF-16BE, 1..8 bytes of padding, IV first, lower-case hex', () => {
  const c = sha1Key(OPENFIRE_BLOWFISH_DEFAULT_KEY);
  const iv = Buffer.alloc(8, 7);
  const four = openfireBlowfishEncrypt(c, 'abcd', iv); // 8 bytes of text → a whole block of padding
  assert.equal(four.length, 16 + 32);
  assert.ok(four.startsWith('0707070707070707'));
  assert.match(four, /^[0-9a-f]+$/);
  assert.equal(openfireBlowfishEncrypt(c, 'abc', iv).length, 16 + 16);
  for (const s of ['', 'x', 'abcd', 'héllo wörld — 𝄞 ünïcode', 'a'.repeat(100)])
    assert.equal(openfireBlowfishDecrypt(c, openfireBlowfishEncrypt(c, s)), s);
  assert.notEqual(openfireBlowfishEncrypt(c, 'same'), openfireBlowfishEncrypt(c, 'same'), 'a fresh IV each time');
});

test('what Openfire’s format cannot be is refused', () => {
  const c = sha1Key('k');
  const good = openfireBlowfishEncrypt(c, 'secret');
  assert.equal(openfireBlowfishDecrypt(c, good.toUpperCase()), undefined, 'Openfire reads only lower-case hex');
  assert.equal(openfireBlowfishDecrypt(c, good.slice(0, -2)), undefined);
  assert.equal(openfireBlowfishDecrypt(c, '0123456789abcdef'), undefined, 'an IV alone');
  assert.equal(openfireBlowfishDecrypt(c, 'not-valid-hex!@#$'), undefined);
});

test('PBKDF2 key derivation (Openfire 5.1+): 32 bytes, depends on the salt', () => {
  const salt = Buffer.alloc(32, 1);
  const k1 = openfireBlowfishKey('pw', { kind: 'pbkdf2', salt });
  assert.equal(k1.length, 32);
  assert.notDeepEqual(k1, openfireBlowfishKey('pw', { kind: 'pbkdf2', salt: Buffer.alloc(32, 2) }));
  assert.equal(openfireBlowfishKey('pw', { kind: 'sha1' }).length, 20);
});
