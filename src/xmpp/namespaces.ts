/** XML namespaces the upload component speaks. */

/** XEP-0363 ≥ 0.3 (current): attributes on <request/>, url attributes on <put/>/<get/>. */
export const NS_UPLOAD = 'urn:xmpp:http:upload:0';
/** XEP-0363 ≤ 0.2: child elements in <request/>, URLs as text of <put/>/<get/>. */
export const NS_UPLOAD_LEGACY = 'urn:xmpp:http:upload';
/** Conversations' pre-XEP namespace, same shape as the legacy one. */
export const NS_UPLOAD_SIACS = 'eu:siacs:conversations:http:upload';
/** Every namespace a slot request may come in, newest first. */
export const UPLOAD_NAMESPACES = [NS_UPLOAD, NS_UPLOAD_LEGACY, NS_UPLOAD_SIACS] as const;
export type UploadNamespace = (typeof UPLOAD_NAMESPACES)[number];

/** XEP-0363 1.2 upload purposes. */
export const NS_PURPOSE = 'urn:xmpp:http:upload:purpose:0';

export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
export const NS_DATA_FORMS = 'jabber:x:data';
export const NS_PING = 'urn:xmpp:ping';
export const NS_VERSION = 'jabber:iq:version';
export const NS_TIME = 'urn:xmpp:time';
export const NS_LAST = 'jabber:iq:last';
/** XEP-0050 ad-hoc commands (also the disco#items node listing them). */
export const NS_COMMANDS = 'http://jabber.org/protocol/commands';

/**
 * True for the namespaces of a slot request.
 *
 * @example
 * isUploadNamespace(el.attrs.xmlns) // narrows to UploadNamespace
 */
export function isUploadNamespace(ns: string | undefined): ns is UploadNamespace {
  return (UPLOAD_NAMESPACES as readonly (string | undefined)[]).includes(ns);
}
