/**
 * What the import takes from openfire.xml: the server's FQDN (`<fqdn>`, the plugin's default
 * announced host) and the plugin's properties kept there — the serverspecific ones and any
 * general ones — with encrypted values (`encrypted="…"`, and `iv="…"` from Openfire 5.1)
 * decrypted. The file itself is read by the configuration layer's codec, which hands in
 * {@link OpenfireXmlReader}; this module stays below it.
 */
import type { OpenfireCipher } from './cipher.ts';

/** The reads of config/openfire-xml.ts this needs, bound to one parsed document. */
export interface OpenfireXmlReader {
  /** Text of the element (trimmed), undefined when absent. */
  value(dotted: string): string | undefined;
  /** Attributes of the element, undefined when absent. */
  attributes(dotted: string): Record<string, string> | undefined;
  /** Dotted names of the leaf elements directly below `prefix`. */
  leafNames(prefix: string): string[];
}

/** The plugin's prefix in openfire.xml and in the database alike. */
const PLUGIN = 'plugin.httpfileupload';

/** openfire.xml's part of an import. */
export interface OpenfireXmlValues {
  /** `<fqdn>`, undefined when absent or empty. */
  fqdn: string | undefined;
  /** The plugin's properties found in the file (general and `serverspecific.`), in clear. */
  properties: Map<string, string>;
}

/**
 * Reads the FQDN and the plugin's properties from an openfire.xml. An element carrying an
 * `encrypted` attribute is decrypted as Openfire does (its `iv` beside it); one without is clear
 * text even when security.xml lists its name (Openfire encrypts it on its next write). Throws
 * OpenfireDecryptError, naming the property, when a value does not decrypt.
 *
 * @example
 * const doc = parseOpenfireXml(text);
 * const values = readOpenfireXmlValues(
 *   { value: (n) => readProperty(doc, n), attributes: (n) => readAttributes(doc, n), leafNames: (p) => leafNames(doc, p) },
 *   new OpenfireCipher(security),
 * );
 * values.fqdn; // 'xmpp.example.org'
 */
export function readOpenfireXmlValues(xml: OpenfireXmlReader, cipher: OpenfireCipher): OpenfireXmlValues {
  const fqdn = xml.value('fqdn');
  const properties = new Map<string, string>();
  for (const name of [...xml.leafNames(PLUGIN), ...xml.leafNames(`${PLUGIN}.serverspecific`)]) {
    const text = xml.value(name) ?? '';
    const attrs = xml.attributes(name) ?? {};
    properties.set(name, attrs.encrypted === undefined ? text : cipher.decrypt(name, { value: text, iv: attrs.iv }));
  }
  return { fqdn: fqdn === undefined || fqdn === '' ? undefined : fqdn, properties };
}
