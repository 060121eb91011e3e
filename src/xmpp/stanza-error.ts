/** Builds the <error/> child of an IQ error (RFC 6120 §8.3) from a refusal. */
import { xml, type Element } from './xml.ts';
import { NS_STANZAS, NS_UPLOAD } from './namespaces.ts';
import type { ErrorCondition, ErrorType, SlotRefusal } from './refusal.ts';

/**
 * An XEP-0082 UTC timestamp, rounded up to the next whole second so a client that waits until
 * then is never early.
 *
 * @example
 * xmppTimestamp(Date.UTC(2017, 11, 3, 23, 42, 4, 300)); // '2017-12-03T23:42:05Z'
 */
export function xmppTimestamp(ms: number): string {
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * `<error type><condition/><text>…</text>…extra</error>`.
 *
 * @example
 * stanzaError('cancel', 'feature-not-implemented', 'Not supported')
 */
export function stanzaError(type: ErrorType, condition: ErrorCondition | string, text?: string, ...extra: Element[]): Element {
  return xml(
    'error',
    { type },
    xml(condition, { xmlns: NS_STANZAS }),
    text === undefined || text === '' ? undefined : xml('text', { xmlns: NS_STANZAS, 'xml:lang': 'en' }, text),
    ...extra,
  );
}

/**
 * The <error/> for a refused slot request. The application elements are in the
 * urn:xmpp:http:upload:0 namespace whatever namespace the request came in, as XEP-0363 defines
 * them only there.
 *
 * @example
 * refusalError(fileTooLarge(1000)).toString();
 * // <error type="modify"><not-acceptable …/><text …>…</text><file-too-large xmlns="urn:xmpp:http:upload:0"><max-file-size>1000</max-file-size></file-too-large></error>
 */
export function refusalError(refusal: SlotRefusal): Element {
  const extra: Element[] = [];
  if (refusal.maxFileSize !== undefined) {
    extra.push(xml('file-too-large', { xmlns: NS_UPLOAD }, xml('max-file-size', {}, String(refusal.maxFileSize))));
  }
  if (refusal.retryAt !== undefined) {
    extra.push(xml('retry', { xmlns: NS_UPLOAD, stamp: xmppTimestamp(refusal.retryAt) }));
  }
  return stanzaError(refusal.type, refusal.condition, refusal.text, ...extra);
}
