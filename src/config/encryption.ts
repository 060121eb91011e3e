/**
 * Openfire's encrypted properties in the configuration file. Openfire writes an encrypted value
 * as `<name encrypted="true">…</name>` (with `iv="…"` beside an AES value from Openfire 4.3),
 * under the algorithm and key of the security.xml in the same folder. Every reader of the file
 * (serve, `config`, `doctor`) decrypts such a value with src/openfire's cipher; a new value
 * written over one is re-encrypted, or written in clear without the attributes when there is no
 * usable security.xml (see {@link ConfigEncryption.reencrypt}).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_SECURITY, OpenfireCipher, parseSecurityXml, type EncryptedValue } from '../openfire/cipher.ts';
import { OpenfireDecryptError, OpenfireFormatError } from '../openfire/errors.ts';
import { errCode } from '../errno.ts';
import { readAttributes, readProperty, type XmlDocument } from './openfire-xml.ts';
import { InvalidValue } from './types.ts';

/** The attribute that marks an encrypted value; Openfire looks only at its presence. */
export const ENCRYPTED_ATTRIBUTE = 'encrypted';
/** The attribute that holds an AES value's IV (base64). */
export const IV_ATTRIBUTE = 'iv';

/**
 * Where Openfire keeps the encryption settings of a configuration file: security.xml beside it
 * (both live in Openfire's conf/).
 *
 * @example
 * securityFileOf('/opt/openfire/conf/openfire.xml'); // '/opt/openfire/conf/security.xml'
 */
export function securityFileOf(configFile: string): string {
  return join(dirname(configFile), 'security.xml');
}

/**
 * Whether the text may hold an encrypted element (a cheap test, so a file without one never
 * touches security.xml). Pure.
 *
 * @example
 * mayHoldEncrypted('<jive><a encrypted="true">x</a></jive>'); // true
 */
export function mayHoldEncrypted(text: string): boolean {
  return /<[^>]*\sencrypted\s*=/.test(text);
}

/**
 * An encrypted property whose value does not decrypt. It is an invalid value of that property:
 * validation names it and the file, and serve refuses to start. The message follows the
 * property's name (`NAME: is encrypted in FILE but …`).
 *
 * @example
 * if (err instanceof UndecryptableValue) console.error(err.property, err.message);
 */
export class UndecryptableValue extends InvalidValue {
  /** The dotted name as written in the file (general or serverspecific). */
  readonly property: string;
  constructor(property: string, message: string) {
    super(message);
    this.name = 'UndecryptableValue';
    this.property = property;
  }
}

/**
 * The encryption settings of one configuration file: its security.xml when there is one,
 * Openfire's defaults (Blowfish under its built-in key) when there is none — what Openfire falls
 * back to when conf/security.xml is missing.
 *
 * @example
 * const enc = await ConfigEncryption.load('/etc/fileupload/openfire.xml');
 * enc.decrypt('plugin.httpfileupload.sharedSecret', { value: '5e1c…', iv: undefined });
 */
export class ConfigEncryption {
  readonly configFile: string;
  readonly securityFile: string;
  /** `file`: security.xml was read; `absent`: there is none; `unreadable`: it exists but cannot be used. */
  readonly state: 'file' | 'absent' | 'unreadable';
  private readonly cipher: OpenfireCipher | undefined;
  private readonly problem: string | undefined;

  private constructor(
    configFile: string,
    state: 'file' | 'absent' | 'unreadable',
    cipher: OpenfireCipher | undefined,
    problem?: string,
  ) {
    this.configFile = configFile;
    this.securityFile = securityFileOf(configFile);
    this.state = state;
    this.cipher = cipher;
    this.problem = problem;
  }

  /**
   * Reads the security.xml beside the file. Never throws: an unreadable or malformed
   * security.xml is reported when a value needs it, so a file whose values are all clear stays
   * usable (and editable) whatever lies beside it.
   */
  static async load(configFile: string): Promise<ConfigEncryption> {
    const securityFile = securityFileOf(configFile);
    let text: string;
    try {
      text = await readFile(securityFile, 'utf8');
    } catch (err) {
      if (errCode(err) === 'ENOENT')
        return new ConfigEncryption(configFile, 'absent', new OpenfireCipher(DEFAULT_SECURITY));
      return new ConfigEncryption(
        configFile,
        'unreadable',
        undefined,
        `${securityFile} cannot be read (${String(errCode(err) ?? (err as Error).message)})`,
      );
    }
    try {
      return new ConfigEncryption(configFile, 'file', new OpenfireCipher(parseSecurityXml(text, securityFile)));
    } catch (err) {
      if (!(err instanceof OpenfireFormatError)) throw err;
      return new ConfigEncryption(configFile, 'unreadable', undefined, err.message);
    }
  }

  /**
   * The clear value of an encrypted element. Throws {@link UndecryptableValue} naming the
   * property, the file and what did not fit.
   */
  decrypt(property: string, stored: EncryptedValue): string {
    const where = `is encrypted in ${this.configFile}`;
    if (!this.cipher) throw new UndecryptableValue(property, `${where}, but ${this.problem ?? 'there is no key'}`);
    try {
      return this.cipher.decrypt(property, stored);
    } catch (err) {
      if (!(err instanceof OpenfireDecryptError)) throw err;
      const reason = err.message.replace(`cannot decrypt property ${property}: `, '');
      const using =
        this.state === 'absent'
          ? `with Openfire's default key (there is no ${this.securityFile}; copy Openfire's conf/security.xml there)`
          : `with ${this.securityFile}`;
      throw new UndecryptableValue(property, `${where} but does not decrypt ${using}: ${reason}`);
    }
  }

  /**
   * How a new value of an encrypted property is written: encrypted with the same cipher when
   * security.xml is there and readable (the value stays as Openfire keeps it, and Openfire reads
   * it back), else undefined — then the caller writes it in clear and drops the attributes.
   * Without security.xml the key Openfire uses for this file is unknown (the file may be a copy
   * away from its conf/, whose security.xml may name a key of its own), so encrypting under the
   * default key could leave a value Openfire cannot read; a clear value without the attributes
   * is read as it stands by every Openfire (which encrypts it again itself when security.xml
   * lists the name). Plaintext under `encrypted="true"` is never written: Openfire would decrypt
   * it into garbage.
   */
  reencrypt(value: string): EncryptedValue | undefined {
    return this.state === 'file' && this.cipher ? this.cipher.encrypt(value) : undefined;
  }

  /** Why {@link reencrypt} gives undefined, for the note the caller prints. */
  whyClear(): string {
    return this.state === 'absent' ? `there is no ${this.securityFile}` : (this.problem ?? 'security.xml is unusable');
  }
}

/**
 * The value of a dotted property as Openfire reads it: the element's text, decrypted when it
 * carries `encrypted` (with its `iv`). Undefined when the element does not exist. An element
 * marked encrypted is decrypted whether or not security.xml lists its name (Openfire itself
 * decrypts only listed names, but it marks only listed names, so the two agree on every file it
 * writes; an unlisted marked value is ciphertext either way, and its clear text is what is meant).
 * Throws {@link UndecryptableValue}.
 *
 * @example
 * readValue(doc, 'plugin.httpfileupload.sharedSecret', await ConfigEncryption.load(file));
 */
export function readValue(
  doc: XmlDocument,
  dotted: string,
  encryption: ConfigEncryption | undefined,
  configFile = 'the configuration file',
): string | undefined {
  const text = readProperty(doc, dotted);
  if (text === undefined || text === '') return text;
  const attrs = readAttributes(doc, dotted);
  if (attrs?.[ENCRYPTED_ATTRIBUTE] === undefined) return text;
  if (!encryption)
    throw new UndecryptableValue(
      dotted,
      `is encrypted in ${configFile}, where no key applies; set it again in clear with fileupload config set`,
    );
  return encryption.decrypt(dotted, { value: text, iv: attrs[IV_ATTRIBUTE] });
}
