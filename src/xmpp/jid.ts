/**
 * The little JID handling access control and slot ownership need: split an address, and compare
 * domains the way XMPP servers do (RFC 7622: labels end at U+002E only, ASCII case does not
 * matter, an IDN label has one canonical form).
 * @xmpp/jid is not used because it XEP-0106-escapes localparts on parse, which would change the
 * uploader recorded in slots.
 */
import { domainToASCII } from 'node:url';

export interface JidParts {
  /** '' when the JID has no localpart (a server or service). */
  local: string;
  domain: string;
  /** '' when there is no resource. */
  resource: string;
}

/**
 * Splits a JID (RFC 7622 §3.1: the resource starts at the first '/', the localpart ends at the
 * first '@' before it). Undefined when the domain part is empty.
 *
 * @example
 * parseJid('alice@example.org/phone'); // { local: 'alice', domain: 'example.org', resource: 'phone' }
 */
export function parseJid(address: string): JidParts | undefined {
  const slash = address.indexOf('/');
  const withoutResource = slash === -1 ? address : address.slice(0, slash);
  const resource = slash === -1 ? '' : address.slice(slash + 1);
  const at = withoutResource.indexOf('@');
  const local = at === -1 ? '' : withoutResource.slice(0, at);
  const domain = at === -1 ? withoutResource : withoutResource.slice(at + 1);
  if (domain === '' || (at !== -1 && local === '')) return undefined;
  return { local, domain, resource };
}

/**
 * A domain in the form to compare it by: lower case, no trailing dot, each non-ASCII label in its
 * IDNA ASCII form (punycode). Labels end at U+002E only: the look-alike full stops that UTS #46
 * maps to a dot (U+3002, U+FF0E, U+FF61, and anything mapping to one) stay inside their label,
 * so `example。test` is a name of its own and never equals `example.test` — XMPP servers keep
 * them apart, and a requester of one must not pass as the other. A label the IDNA mapping
 * rejects, or maps to something with a dot, stays as given (lower-cased), equal only to itself.
 *
 * @example
 * normalizeDomain('Bücher.Example.'); // 'xn--bcher-kva.example'
 * normalizeDomain('example。test');   // 'example。test'
 */
export function normalizeDomain(domain: string): string {
  const name = domain.endsWith('.') ? domain.slice(0, -1) : domain;
  return name.split('.').map(comparableLabel).join('.');
}

function comparableLabel(label: string): string {
  // ASCII is compared as it is, lower-cased: no mapping can make it another name.
  if (/^[\x00-\x7f]*$/.test(label)) return label.toLowerCase();
  const ascii = domainToASCII(label);
  return ascii === '' || ascii.includes('.') ? label.toLowerCase() : ascii;
}

/**
 * The bare JID a slot is recorded under: localpart lower-cased (an approximation of PRECIS
 * case mapping, which is what servers do for usernames), domain normalised.
 *
 * @example
 * bareJid(parseJid('Alice@Example.ORG/phone')!); // 'alice@example.org'
 */
export function bareJid(jid: JidParts): string {
  const domain = normalizeDomain(jid.domain);
  return jid.local === '' ? domain : `${jid.local.toLowerCase()}@${domain}`;
}
