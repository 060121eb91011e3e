/**
 * Service discovery answers (XEP-0030) with the XEP-0128 max-file-size forms of XEP-0363.
 *
 * Unlimited uploads (maxFileSize -1): XEP-0363 says to announce a limit only when one exists,
 * but Dino treats a missing max-file-size as "cannot upload" (and compares size < max), and it
 * reads the first form whatever its FORM_TYPE. So every upload namespace gets a form, always, and
 * "unlimited" is announced as 2^53−1 (Number.MAX_SAFE_INTEGER): exact in JavaScript clients, fits
 * Java's long and C's 64-bit long, saturates (rather than wraps) where strtol is 32-bit, and no
 * accepted size can exceed it (sizes are capped at the same value).
 */
import { xml, type Element } from './xml.ts';
import {
  NS_DATA_FORMS,
  NS_DISCO_INFO,
  NS_DISCO_ITEMS,
  NS_LAST,
  NS_PING,
  NS_PURPOSE,
  NS_TIME,
  NS_VERSION,
  UPLOAD_NAMESPACES,
} from './namespaces.ts';
import type { Purpose } from '../slots/slot.ts';

/** What "no limit" is announced as (see above). */
export const UNLIMITED_ANNOUNCED_SIZE = Number.MAX_SAFE_INTEGER;

export interface DiscoOptions {
  /** Bytes; negative = unlimited. */
  maxFileSize: number;
  /** Purposes to advertise as urn:xmpp:http:upload:purpose:0#<name>. */
  purposes?: readonly Purpose[];
  /** More features to advertise (after the built-in ones). */
  extraFeatures?: readonly string[];
  /** The identity's name; default "HTTP File Upload". */
  name?: string;
}

/**
 * The max-file-size value to announce for a configured limit.
 *
 * @example
 * announcedMaxFileSize(-1); // 9007199254740991
 */
export function announcedMaxFileSize(maxFileSize: number): number {
  return maxFileSize < 0 ? UNLIMITED_ANNOUNCED_SIZE : maxFileSize;
}

/**
 * The features, in the order announced: upload namespaces, the XEPs answered, purposes, extras.
 *
 * @example
 * discoFeatures({ maxFileSize: 1000, purposes: ['message'] });
 */
export function discoFeatures(options: DiscoOptions): string[] {
  const features = [
    ...UPLOAD_NAMESPACES,
    NS_DISCO_INFO,
    NS_DISCO_ITEMS,
    NS_PING,
    NS_VERSION,
    NS_TIME,
    NS_LAST,
    ...(options.purposes ?? []).map((p) => `${NS_PURPOSE}#${p}`),
    ...(options.extraFeatures ?? []),
  ];
  return [...new Set(features)];
}

/**
 * The disco#info <query/>: identity store/file, the features, one XEP-0128 form per upload
 * namespace with FORM_TYPE and max-file-size.
 *
 * @example
 * discoInfo({ maxFileSize: 52428800 }).toString();
 * // <query xmlns="http://jabber.org/protocol/disco#info"><identity category="store" type="file" name="HTTP File Upload"/><feature var="urn:xmpp:http:upload:0"/>…<x xmlns="jabber:x:data" type="result">…</x>…</query>
 */
export function discoInfo(options: DiscoOptions): Element {
  const max = String(announcedMaxFileSize(options.maxFileSize));
  return xml(
    'query',
    { xmlns: NS_DISCO_INFO },
    xml('identity', { category: 'store', type: 'file', name: options.name ?? 'HTTP File Upload' }),
    discoFeatures(options).map((f) => xml('feature', { var: f })),
    UPLOAD_NAMESPACES.map((ns) =>
      xml(
        'x',
        { xmlns: NS_DATA_FORMS, type: 'result' },
        xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, ns)),
        xml('field', { var: 'max-file-size' }, xml('value', {}, max)),
      ),
    ),
  );
}

/**
 * The disco#items <query/>: the service has no items.
 *
 * @example
 * discoItems().toString(); // <query xmlns="http://jabber.org/protocol/disco#items"/>
 */
export function discoItems(): Element {
  return xml('query', { xmlns: NS_DISCO_ITEMS });
}
