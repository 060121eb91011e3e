/**
 * Openfire's property encryption as conf/security.xml configures it: the algorithm
 * (`encrypt.algorithm`: `AES`, anything else Blowfish), the key (`encrypt.key.current`, kept
 * obfuscated with AES under Openfire's built-in key; none means the algorithm's default key), the
 * Blowfish key derivation (`encrypt.blowfish.kdf`/`salt`, Openfire 5.1+) and the names listed as
 * encrypted (`encrypt.property.name`). Values decrypt exactly as org.jivesoftware.util.Blowfish
 * and AesEncryptor do, and encrypt so that every Openfire since 4.3 reads them back.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  BlowfishCipher,
  OPENFIRE_BLOWFISH_DEFAULT_KEY,
  openfireBlowfishDecrypt,
  openfireBlowfishEncrypt,
  openfireBlowfishKey,
  type BlowfishKdf,
} from './blowfish.ts';
import { OpenfireDecryptError, OpenfireFormatError } from './errors.ts';

/** Openfire's built-in AES key: the default property key and the key that obfuscates security.xml's. */
const AES_DEFAULT_KEY = Buffer.from('f2465d2ad1730b18cb8695a3b1e58927', 'hex');
/** The fixed IV of values written without an `iv` (before Openfire 4.3, and the obfuscated key). */
const AES_LEGACY_IV = Buffer.from('cd91a7c5278b39e0fa72d02983659d74', 'hex');
const GCM_TAG_BYTES = 16;

/** What conf/security.xml says about property encryption. */
export interface OpenfireSecurity {
  algorithm: 'Blowfish' | 'AES';
  /** The key in clear, or undefined for the algorithm's built-in default key. */
  key: string | undefined;
  blowfishKdf: BlowfishKdf;
  /** Property names listed under `<encrypt><property><name>`. */
  encryptedNames: ReadonlySet<string>;
  /** A `<key><new>` that Openfire applies at its next start; values are still under `key` until then. */
  pendingNewKey: boolean;
}

/** Openfire's settings when there is no security.xml: Blowfish under its default key. */
export const DEFAULT_SECURITY: OpenfireSecurity = {
  algorithm: 'Blowfish',
  key: undefined,
  blowfishKdf: { kind: 'sha1' },
  encryptedNames: new Set(),
  pendingNewKey: false,
};

/**
 * Reads conf/security.xml. Throws {@link OpenfireFormatError} when it is not well-formed, has no
 * `<security>` root, or its key or salt cannot be decoded.
 *
 * @example
 * const security = parseSecurityXml(readFileSync('/opt/openfire/conf/security.xml', 'utf8'));
 * security.algorithm; // 'Blowfish'
 */
export function parseSecurityXml(text: string, file = 'security.xml'): OpenfireSecurity {
  const verdict = XMLValidator.validate(text);
  if (verdict !== true)
    throw new OpenfireFormatError(file, `not well-formed XML: ${verdict.err.msg}`, verdict.err.line);
  const parsed = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: true,
    isArray: (_name, jpath) => String(jpath) === 'security.encrypt.property.name',
  }).parse(text) as Record<string, unknown>;
  const security = parsed.security;
  if (security === undefined) throw new OpenfireFormatError(file, 'the root element is not <security>');
  const at = (path: string): unknown =>
    path.split('.').reduce<unknown>((node, name) => (isObject(node) ? node[name] : undefined), security);
  const text1 = (path: string): string => {
    const v = at(path);
    return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  };

  const algorithm = text1('encrypt.algorithm').toUpperCase() === 'AES' ? 'AES' : 'Blowfish';
  const obfuscated = text1('encrypt.key.current');
  let key: string | undefined;
  if (obfuscated !== '') {
    key = aesCbcDecrypt(AES_DEFAULT_KEY, AES_LEGACY_IV, obfuscated);
    if (key === undefined) throw new OpenfireFormatError(file, '<encrypt><key><current> is not a key Openfire wrote');
    if (key === '') key = undefined;
  }
  let blowfishKdf: BlowfishKdf = { kind: 'sha1' };
  if (text1('encrypt.blowfish.kdf').toLowerCase() === 'pbkdf2') {
    const salt = decodeBase64(text1('encrypt.blowfish.salt'));
    if (salt === undefined || salt.length < 16)
      throw new OpenfireFormatError(
        file,
        '<encrypt><blowfish><kdf> is pbkdf2 but <salt> is not base64 of 16 or more bytes',
      );
    blowfishKdf = { kind: 'pbkdf2', salt };
  }
  const names = at('encrypt.property.name');
  const encryptedNames = new Set(
    (Array.isArray(names) ? names : [])
      .map((n) => (typeof n === 'string' ? n.trim() : String(n)))
      .filter((n) => n !== ''),
  );
  return { algorithm, key, blowfishKdf, encryptedNames, pendingNewKey: text1('encrypt.key.new') !== '' };
}

/** An encrypted value as Openfire stores it: the text and, from Openfire 4.3, a base64 IV beside it. */
export interface EncryptedValue {
  value: string;
  iv: string | undefined;
}

/**
 * Decrypts and encrypts property values with the settings of one security.xml.
 *
 * @example
 * const cipher = new OpenfireCipher(parseSecurityXml(text));
 * cipher.decrypt('plugin.httpfileupload.clamavHost', { value: 'a1b2…', iv: undefined }); // '127.0.0.1'
 */
export class OpenfireCipher {
  readonly security: OpenfireSecurity;
  private blowfish: BlowfishCipher | undefined;
  private readonly aesKey: Buffer;

  constructor(security: OpenfireSecurity = DEFAULT_SECURITY) {
    this.security = security;
    const keyBytes = Buffer.from(security.key ?? '', 'utf8');
    // AesEncryptor: the key string's first 16 UTF-8 bytes, the rest from the built-in key.
    this.aesKey = Buffer.from(AES_DEFAULT_KEY);
    keyBytes.copy(this.aesKey, 0, 0, Math.min(16, keyBytes.length));
  }

  /** Whether security.xml lists the property as encrypted (Openfire then encrypts it in the database too). */
  isListed(name: string): boolean {
    return this.security.encryptedNames.has(name);
  }

  /**
   * The clear value of an encrypted property. Throws {@link OpenfireDecryptError}, naming the
   * property, when the value is not in the algorithm's format or the key does not fit it.
   */
  decrypt(property: string, stored: EncryptedValue): string {
    const value = stored.value.trim();
    if (this.security.algorithm === 'Blowfish') {
      // Openfire's Blowfish takes no IV: an `iv` beside a Blowfish value is ignored, as there.
      const out = openfireBlowfishDecrypt(this.blowfishCipher(), value);
      if (out !== undefined) return out;
      throw new OpenfireDecryptError(
        property,
        /^(?:[0-9a-f]{16}){2,}$/.test(value)
          ? `the Blowfish key of security.xml does not fit it (${this.describeKey()})`
          : 'it is not hex of an 8-byte IV and whole 8-byte blocks (Openfire’s Blowfish format)',
      );
    }
    const data = decodeBase64(value);
    if (data === undefined || data.length === 0)
      throw new OpenfireDecryptError(property, 'it is not base64 (Openfire’s AES format)');
    let iv: Buffer | undefined;
    if (stored.iv !== undefined && stored.iv.trim() !== '') {
      iv = decodeBase64(stored.iv.trim());
      // Openfire ignores an IV that is not base64 of 16 bytes and decrypts as if there were none.
      if (iv?.length !== 16) iv = undefined;
    }
    const out =
      iv === undefined
        ? aesCbcDecrypt(this.aesKey, AES_LEGACY_IV, data)
        : (aesGcmDecrypt(this.aesKey, iv, data) ?? aesCbcDecrypt(this.aesKey, iv, data));
    if (out !== undefined) return out;
    throw new OpenfireDecryptError(property, `the AES key of security.xml does not fit it (${this.describeKey()})`);
  }

  /**
   * Encrypts a value for writing back where Openfire reads it. Blowfish: Openfire's hex format, no
   * IV. AES: CBC under a fresh IV returned beside it, which Openfire 4.3 and later read (5.1
   * tries GCM first and falls back to CBC).
   */
  encrypt(value: string): EncryptedValue {
    if (this.security.algorithm === 'Blowfish')
      return { value: openfireBlowfishEncrypt(this.blowfishCipher(), value), iv: undefined };
    const iv = randomBytes(16);
    const c = createCipheriv('aes-128-cbc', this.aesKey, iv);
    const out = Buffer.concat([c.update(value, 'utf8'), c.final()]);
    return { value: out.toString('base64'), iv: iv.toString('base64') };
  }

  private blowfishCipher(): BlowfishCipher {
    this.blowfish ??= new BlowfishCipher(
      openfireBlowfishKey(this.security.key ?? OPENFIRE_BLOWFISH_DEFAULT_KEY, this.security.blowfishKdf),
    );
    return this.blowfish;
  }

  private describeKey(): string {
    const kdf = this.security.algorithm === 'Blowfish' && this.security.blowfishKdf.kind === 'pbkdf2' ? ', PBKDF2' : '';
    return `${this.security.key === undefined ? 'Openfire’s default key' : 'the key in <encrypt><key><current>'}${kdf}`;
  }
}

/** Base64 as Java's basic decoder takes it after Openfire strips all whitespace, or undefined. */
function decodeBase64(text: string): Buffer | undefined {
  const s = text.replace(/\s+/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

function aesCbcDecrypt(key: Buffer, iv: Buffer, data: Buffer | string): string | undefined {
  const bytes = typeof data === 'string' ? decodeBase64(data) : data;
  if (bytes === undefined || bytes.length === 0 || bytes.length % 16 !== 0) return undefined;
  try {
    const d = createDecipheriv('aes-128-cbc', key, iv);
    return utf8(Buffer.concat([d.update(bytes), d.final()]));
  } catch {
    return undefined;
  }
}

function aesGcmDecrypt(key: Buffer, iv: Buffer, data: Buffer): string | undefined {
  if (data.length < GCM_TAG_BYTES) return undefined;
  try {
    const d = createDecipheriv('aes-128-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
    d.setAuthTag(data.subarray(data.length - GCM_TAG_BYTES));
    return utf8(Buffer.concat([d.update(data.subarray(0, data.length - GCM_TAG_BYTES)), d.final()]));
  } catch {
    return undefined;
  }
}

/** Strict UTF-8: a wrong key that still passes the padding check rarely yields valid UTF-8. */
function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
