/**
 * The <slot/> answer, in the request's namespace and shape:
 *   :0, attributes        <slot><put url='…'/><get url='…'/></slot>            (XEP-0363 ≥ 0.3)
 *   legacy, elements      <slot><put>URL</put><get>URL</get></slot>           (XEP-0363 ≤ 0.2)
 *   mixed (:0 + elements, legacy + attributes): both the url attribute and the text, so
 *   whichever reading the client does finds the URL.
 */
import { xml, type Element } from './xml.ts';
import { NS_UPLOAD } from './namespaces.ts';
import type { SlotRequest } from './slot-request.ts';

/**
 * The only header names clients pass through: Gajim rejects a slot with any other (and is
 * case-sensitive), Converse.js forwards only Authorization and Expires.
 */
export type SlotHeaderName = 'Authorization' | 'Cookie' | 'Expires';
const HEADER_NAMES: readonly string[] = ['Authorization', 'Cookie', 'Expires'];

export interface SlotUrls {
  put: string;
  get: string;
}

/**
 * Builds the <slot/>. Headers are written only where a <header/> can go (:0 with url
 * attributes); the PUT URL must carry its own proof anyway, as legacy clients send no headers.
 * Header names other than the three allowed throw: that is a programming error.
 *
 * @example
 * slotAnswer({ namespace: 'urn:xmpp:http:upload:0', shape: 'attributes' }, { put, get }).toString();
 * // <slot xmlns="urn:xmpp:http:upload:0"><put url="…"/><get url="…"/></slot>
 */
export function slotAnswer(
  request: Pick<SlotRequest, 'namespace' | 'shape'>,
  urls: SlotUrls,
  headers: Partial<Record<SlotHeaderName, string>> = {},
): Element {
  const isCurrent = request.namespace === NS_UPLOAD;
  const urlAttributes = isCurrent || request.shape === 'attributes';
  const text = !isCurrent || request.shape === 'elements';
  const headerElements = Object.entries(headers)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => {
      if (!HEADER_NAMES.includes(name)) throw new Error(`slot header ${name} is not one of ${HEADER_NAMES.join(', ')}`);
      // XEP-0363 §security: newlines in a header value would let a client inject headers.
      return xml('header', { name }, value.replace(/[\r\n]/g, ''));
    });
  const withHeaders = isCurrent && urlAttributes && !text;
  return xml(
    'slot',
    { xmlns: request.namespace },
    xml(
      'put',
      urlAttributes ? { url: urls.put } : {},
      text ? urls.put : undefined,
      withHeaders ? headerElements : undefined,
    ),
    xml('get', urlAttributes ? { url: urls.get } : {}, text ? urls.get : undefined),
  );
}
