/**
 * Reading the configuration document and changing properties in it. Every change is checked
 * against a freshly parsed document first: a malformed file is reported and never written. A
 * document that holds a secret after the change is written without "other" permission bits.
 * A value Openfire keeps encrypted stays encrypted, or is written in clear without its
 * encryption attributes (never plaintext marked as encrypted).
 */
import { properties, SERVER_SPECIFIC_PREFIX } from './catalogue.ts';
import { ConfigEncryption, ENCRYPTED_ATTRIBUTE, IV_ATTRIBUTE, mayHoldEncrypted } from './encryption.ts';
import { readConfigText, writeConfigText, type ConfigText } from './file.ts';
import {
  EMPTY_DOCUMENT,
  parseOpenfireXml,
  readAttributes,
  readProperty,
  setAttributes,
  setProperty,
  unsetProperty,
  type XmlDocument,
} from './openfire-xml.ts';

/** The configuration as read: undefined document when the file does not exist (or is empty). */
export interface ConfigDocument {
  file: string;
  content: ConfigText | undefined;
  doc: XmlDocument | undefined;
  /** The encryption settings beside the file; read only when the document marks a value encrypted. */
  encryption: ConfigEncryption | undefined;
}

/**
 * Reads and parses the file. Missing or empty (whitespace only) → no document, all defaults.
 * Throws ConfigSyntaxError (with line:column) for malformed XML or a root other than `<jive>`.
 * When an element is marked encrypted, the security.xml beside the file is read too.
 *
 * @example
 * const { doc, encryption } = await readConfigDocument('/etc/fileupload/openfire.xml');
 */
export async function readConfigDocument(file: string): Promise<ConfigDocument> {
  const content = await readConfigText(file);
  if (!content || content.text.replace(/^\uFEFF/, '').trim() === '')
    return { file, content, doc: undefined, encryption: undefined };
  const doc = parseOpenfireXml(content.text, file);
  const encryption = mayHoldEncrypted(content.text) ? await ConfigEncryption.load(file) : undefined;
  return { file, content, doc, encryption };
}

/**
 * The secret properties (sharedSecret, slotSecret, s3SecretKey…) that have a value in the
 * document, by the name they are written under. Pure.
 *
 * @example
 * secretsIn(parseOpenfireXml(text, file)); // ['plugin.httpfileupload.slotSecret']
 */
export function secretsIn(doc: XmlDocument | undefined): string[] {
  if (!doc) return [];
  const found: string[] = [];
  for (const p of properties) {
    if (!p.secret) continue;
    for (const name of [p.name, SERVER_SPECIFIC_PREFIX + p.short]) {
      if ((readProperty(doc, name) ?? '') !== '') found.push(name);
    }
  }
  return found;
}

/** Writes the text, keeping it from other users when it holds a secret. */
async function writeDocument(file: string, content: ConfigText): Promise<void> {
  const secret = secretsIn(parseOpenfireXml(content.text, file)).length > 0;
  await writeConfigText(file, content, { secret });
}

/**
 * Sets a dotted property (e.g. `plugin.httpfileupload.maxFileSize`) in the file, creating the
 * file (mode 0600) when missing; a file that then holds a secret loses its "other" permission
 * bits (owner and group are kept). The caller validates the value first.
 *
 * An element Openfire marked encrypted gets the new value encrypted with the security.xml beside
 * the file (a new `iv` for AES); without a usable security.xml the value is written in clear and
 * the `encrypted` and `iv` attributes go (see ConfigEncryption.reencrypt for why). Returns a note
 * for the user in that case, else undefined.
 *
 * @example
 * const note = await setConfigProperty(file, 'plugin.httpfileupload.maxFileSize', '100M');
 * if (note) console.error(`note: ${note}`);
 */
export async function setConfigProperty(file: string, dotted: string, value: string): Promise<string | undefined> {
  const { content, doc, encryption } = await readConfigDocument(file);
  const base: ConfigText = content && content.text.trim() !== '' ? content : { text: EMPTY_DOCUMENT, encoding: 'utf8' };
  const asciiOnly = base.encoding !== 'utf8';
  const encrypted = doc !== undefined && readAttributes(doc, dotted)?.[ENCRYPTED_ATTRIBUTE] !== undefined;
  let text: string;
  let note: string | undefined;
  if (!encrypted) {
    text = setProperty(base.text, dotted, value, { asciiOnly });
  } else {
    const enc = encryption ?? (await ConfigEncryption.load(file));
    const sealed = enc.reencrypt(value);
    if (sealed) {
      text = setAttributes(setProperty(base.text, dotted, sealed.value, { asciiOnly }), dotted, {
        [IV_ATTRIBUTE]: sealed.iv,
      });
    } else {
      text = setAttributes(setProperty(base.text, dotted, value, { asciiOnly }), dotted, {
        [ENCRYPTED_ATTRIBUTE]: undefined,
        [IV_ATTRIBUTE]: undefined,
      });
      note = `${dotted} was encrypted in ${file}; it is now written in clear, without the encrypted attribute, because ${enc.whyClear()} (Openfire reads a clear value as it stands)`;
    }
  }
  if (content && text === content.text) return note;
  await writeDocument(file, { text, encoding: base.encoding });
  return note;
}

/**
 * Removes a dotted property from the file. Returns false (and writes nothing) when it was not set.
 *
 * @example
 * if (!(await unsetConfigProperty(file, 'plugin.httpfileupload.maxFileSize'))) console.log('was not set');
 */
export async function unsetConfigProperty(file: string, dotted: string): Promise<boolean> {
  const { content, doc } = await readConfigDocument(file);
  if (!content || !doc) return false;
  const text = unsetProperty(content.text, dotted);
  if (text === content.text) return false;
  await writeDocument(file, { text, encoding: content.encoding });
  return true;
}
