/** Builds the <error/> child of an IQ error (RFC 6120 §8.3) from a refusal. */
import { xml, type Element } from './xml.ts';
import { NS_STANZAS, NS_UPLOAD, type UploadNamespace } from './namespaces.ts';
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
export function stanzaError(
  type: ErrorType,
  condition: ErrorCondition | string,
  text?: string,
  ...extra: Element[]
): Element {
  return xml(
    'error',
    { type },
    xml(condition, { xmlns: NS_STANZAS }),
    text === undefined || text === '' ? undefined : xml('text', { xmlns: NS_STANZAS, 'xml:lang': 'en' }, text),
    ...extra,
  );
}

/**
 * The <error/> for a refused slot request. The application elements (<file-too-large/>, <retry/>)
 * are in the namespace the request came in: each version of XEP-0363 defines them in its own
 * namespace, and a client of an older one looks for them there (the Openfire plugin answers the
 * same way).
 *
 * @example
 * refusalError(fileTooLarge(1000)).toString();
 * // <error type="modify"><not-acceptable …/><text …>…</text><file-too-large xmlns="urn:xmpp:http:upload:0"><max-file-size>1000</max-file-size></file-too-large></error>
 */
export function refusalError(refusal: SlotRefusal, namespace: UploadNamespace = NS_UPLOAD): Element {
  const extra: Element[] = [];
  if (refusal.maxFileSize !== undefined) {
    extra.push(xml('file-too-large', { xmlns: namespace }, xml('max-file-size', {}, String(refusal.maxFileSize))));
  }
  if (refusal.retryAt !== undefined) {
    extra.push(xml('retry', { xmlns: namespace, stamp: xmppTimestamp(refusal.retryAt) }));
  }
  return stanzaError(refusal.type, refusal.condition, refusal.text, ...extra);
}

/** The most attribute text (names and values) an error reply echoes of the request's payload. */
export const ECHO_ATTRIBUTES_LIMIT = 4096;

/**
 * An IQ error reply with its echo of the request bounded: each child other than <error/> (the
 * request payload, which RFC 6120 §8.3.1 lets a reply include) keeps its name and, when they
 * total at most ECHO_ATTRIBUTES_LIMIT characters, its attributes, else only its namespace; never
 * its descendants. A request nested thousands deep or with thousands of children or attributes
 * then still gets its error reply, small and serialisable, and a sender that checks the echo
 * still recognises its request. Any other stanza is returned as it is.
 *
 * @example
 * boundedErrorReply(reply).toString();
 * // <iq type="error" …><request xmlns="urn:xmpp:http:upload:0" filename="a.txt" size="1e3"/><error …>…</error></iq>
 */
export function boundedErrorReply(stanza: Element): Element {
  if (stanza.name !== 'iq' || stanza.attrs.type !== 'error') return stanza;
  const children = stanza.getChildElements().map((child) => (child.name === 'error' ? child : echoOf(child)));
  return xml('iq', { ...stanza.attrs }, ...children);
}

function echoOf(payload: Element): Element {
  const name = payload.getName();
  // Its namespace declared on itself, so no prefix or declaration of a dropped ancestor is needed.
  const ns = payload.getNS();
  const own: Record<string, string> =
    ns !== undefined && (payload.attrs.xmlns !== undefined || name !== payload.name) ? { xmlns: ns } : {};
  const attrs: Record<string, string> = { ...own };
  let size = 0;
  for (const [key, value] of Object.entries(payload.attrs)) {
    // Namespace declarations and prefixed attributes: only the payload's own namespace is kept.
    if (key === 'xmlns' || key.includes(':')) continue;
    const text = String(value);
    size += key.length + text.length;
    if (size > ECHO_ATTRIBUTES_LIMIT) return xml(name, own);
    attrs[key] = text;
  }
  return xml(name, attrs);
}
