/**
 * Blowfish (Schneier, 1993) on 64-bit blocks, and Openfire's string format on top of it
 * (org.jivesoftware.util.Blowfish): the UTF-16BE code units of the text, padded to a whole block
 * with n copies of the byte n (1..8), CBC under a random 8-byte IV, the IV and ciphertext as
 * lower-case hex. Node's OpenSSL 3 keeps Blowfish in the legacy provider, which a
 * single-executable binary cannot count on, so the cipher is here.
 */
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';

const ROUNDS = 16;
const BLOCK = 8;

/** P-array (18 words) then the four S-boxes (256 words each): the hex digits of π after the point. */
let piWords: Uint32Array | undefined;

/**
 * The first `count` 32-bit words of π's fractional part. Computed once (Machin's formula in
 * fixed point) rather than written out as a table of 1,042 constants.
 */
function fractionOfPi(count: number): Uint32Array {
  const guard = 64n;
  const bits = BigInt(count * 32) + guard;
  const one = 1n << bits;
  const arctanInverse = (x: bigint): bigint => {
    let sum = 0n;
    let power = one / x;
    const x2 = x * x;
    for (let n = 1n, sign = 1n; power !== 0n; n += 2n, sign = -sign) {
      sum += (sign * power) / n;
      power /= x2;
    }
    return sum;
  };
  const pi = 4n * (4n * arctanInverse(5n) - arctanInverse(239n));
  const fraction = (pi - 3n * one) >> guard;
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = Number((fraction >> BigInt((count - 1 - i) * 32)) & 0xffffffffn);
  return out;
}

function initialWords(): Uint32Array {
  piWords ??= fractionOfPi(18 + 4 * 256);
  return piWords;
}

/** A keyed Blowfish block cipher. */
export class BlowfishCipher {
  private readonly p: Uint32Array;
  private readonly s: Uint32Array;

  /** `key`: 1 to 72 bytes (Openfire uses 20 or 32); shorter keys repeat cyclically. */
  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 72)
      throw new RangeError(`a Blowfish key has 1 to 72 bytes, not ${key.length}`);
    const init = initialWords();
    this.p = init.slice(0, 18);
    this.s = init.slice(18);
    let k = 0;
    for (let i = 0; i < 18; i++) {
      let word = 0;
      for (let j = 0; j < 4; j++) {
        word = ((word << 8) | (key[k] as number)) >>> 0;
        k = (k + 1) % key.length;
      }
      this.p[i] = ((this.p[i] as number) ^ word) >>> 0;
    }
    const lr = new Uint32Array(2);
    for (let i = 0; i < 18; i += 2) {
      this.encryptWords(lr);
      this.p[i] = lr[0] as number;
      this.p[i + 1] = lr[1] as number;
    }
    for (let i = 0; i < 1024; i += 2) {
      this.encryptWords(lr);
      this.s[i] = lr[0] as number;
      this.s[i + 1] = lr[1] as number;
    }
  }

  private f(x: number): number {
    const s = this.s;
    const a = s[x >>> 24] as number;
    const b = s[256 + ((x >>> 16) & 0xff)] as number;
    const c = s[512 + ((x >>> 8) & 0xff)] as number;
    const d = s[768 + (x & 0xff)] as number;
    return ((((a + b) >>> 0) ^ c) + d) >>> 0;
  }

  /** Encrypts the block held as two big-endian words, in place. */
  encryptWords(lr: Uint32Array): void {
    let l = lr[0] as number;
    let r = lr[1] as number;
    for (let i = 0; i < ROUNDS; i++) {
      l = (l ^ (this.p[i] as number)) >>> 0;
      r = (r ^ this.f(l)) >>> 0;
      [l, r] = [r, l];
    }
    [l, r] = [r, l];
    lr[0] = (l ^ (this.p[17] as number)) >>> 0;
    lr[1] = (r ^ (this.p[16] as number)) >>> 0;
  }

  /** Decrypts the block held as two big-endian words, in place. */
  decryptWords(lr: Uint32Array): void {
    let l = lr[0] as number;
    let r = lr[1] as number;
    for (let i = 17; i > 1; i--) {
      l = (l ^ (this.p[i] as number)) >>> 0;
      r = (r ^ this.f(l)) >>> 0;
      [l, r] = [r, l];
    }
    [l, r] = [r, l];
    lr[0] = (l ^ (this.p[0] as number)) >>> 0;
    lr[1] = (r ^ (this.p[1] as number)) >>> 0;
  }

  /** CBC encryption of whole blocks (no padding), returning a new buffer. */
  encryptCbc(iv: Uint8Array, data: Uint8Array): Buffer {
    return this.cbc(iv, data, true);
  }

  /** CBC decryption of whole blocks (no padding removed), returning a new buffer. */
  decryptCbc(iv: Uint8Array, data: Uint8Array): Buffer {
    return this.cbc(iv, data, false);
  }

  private cbc(iv: Uint8Array, data: Uint8Array, encrypt: boolean): Buffer {
    if (iv.length !== BLOCK) throw new RangeError('a Blowfish IV has 8 bytes');
    if (data.length % BLOCK !== 0) throw new RangeError('Blowfish-CBC data must be whole 8-byte blocks');
    const out = Buffer.from(data);
    const prev = Buffer.from(iv);
    const lr = new Uint32Array(2);
    for (let off = 0; off < out.length; off += BLOCK) {
      if (encrypt) {
        lr[0] = (out.readUInt32BE(off) ^ prev.readUInt32BE(0)) >>> 0;
        lr[1] = (out.readUInt32BE(off + 4) ^ prev.readUInt32BE(4)) >>> 0;
        this.encryptWords(lr);
        out.writeUInt32BE(lr[0] as number, off);
        out.writeUInt32BE(lr[1] as number, off + 4);
        out.copy(prev, 0, off, off + BLOCK);
      } else {
        const c0 = out.readUInt32BE(off);
        const c1 = out.readUInt32BE(off + 4);
        lr[0] = c0;
        lr[1] = c1;
        this.decryptWords(lr);
        out.writeUInt32BE((lr[0] ^ prev.readUInt32BE(0)) >>> 0, off);
        out.writeUInt32BE((lr[1] ^ prev.readUInt32BE(4)) >>> 0, off + 4);
        prev.writeUInt32BE(c0, 0);
        prev.writeUInt32BE(c1, 4);
      }
    }
    return out;
  }
}

/** Openfire's Blowfish key when security.xml names none. */
export const OPENFIRE_BLOWFISH_DEFAULT_KEY = 'Blowfish-CBC';

/** How Openfire turns the key string into Blowfish key bytes (security.xml `encrypt.blowfish.kdf`). */
export type BlowfishKdf = { kind: 'sha1' } | { kind: 'pbkdf2'; salt: Uint8Array };

/**
 * The Blowfish key bytes Openfire derives from a key string: SHA-1 of its UTF-8 bytes (20 bytes;
 * every version), or PBKDF2-HMAC-SHA512 with 100,000 iterations and the salt from security.xml
 * (32 bytes; Openfire 5.1 and later, when `encrypt.blowfish.kdf` is `pbkdf2`).
 *
 * @example
 * const key = openfireBlowfishKey('Blowfish-CBC', { kind: 'sha1' }); // 20 bytes
 */
export function openfireBlowfishKey(keyString: string, kdf: BlowfishKdf): Buffer {
  if (kdf.kind === 'sha1') return createHash('sha1').update(keyString, 'utf8').digest();
  return pbkdf2Sync(Buffer.from(keyString, 'utf8'), kdf.salt, 100_000, 32, 'sha512');
}

/**
 * Decrypts a value in Openfire's Blowfish format, or returns undefined when it is not one: not
 * lower-case hex of an IV and whole blocks, or padding that does not check out (the sign of a
 * wrong key — Openfire itself would hand back garbage then).
 *
 * @example
 * openfireBlowfishDecrypt(new BlowfishCipher(openfireBlowfishKey('k', { kind: 'sha1' })), hex); // 'secret'
 */
export function openfireBlowfishDecrypt(cipher: BlowfishCipher, hex: string): string | undefined {
  if (!/^(?:[0-9a-f]{16}){2,}$/.test(hex)) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  const plain = cipher.decryptCbc(bytes.subarray(0, BLOCK), bytes.subarray(BLOCK));
  const pad = plain[plain.length - 1] as number;
  if (pad < 1 || pad > BLOCK || (plain.length - pad) % 2 !== 0) return undefined;
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) return undefined;
  let out = '';
  for (let i = 0; i < plain.length - pad; i += 2) out += String.fromCharCode(plain.readUInt16BE(i));
  return out;
}

/**
 * Encrypts a value in Openfire's Blowfish format under a fresh random IV (or the one given, for
 * tests), so Openfire reads it back.
 *
 * @example
 * openfireBlowfishEncrypt(cipher, 'secret'); // '3f0c…' (16 hex IV + 32 hex)
 */
export function openfireBlowfishEncrypt(
  cipher: BlowfishCipher,
  text: string,
  iv: Uint8Array = randomBytes(BLOCK),
): string {
  const units = text.length * 2;
  const padded = Buffer.alloc((units & ~7) + BLOCK);
  for (let i = 0; i < text.length; i++) padded.writeUInt16BE(text.charCodeAt(i), i * 2);
  padded.fill(padded.length - units, units);
  return Buffer.from(iv).toString('hex') + cipher.encryptCbc(iv, padded).toString('hex');
}
