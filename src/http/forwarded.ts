/**
 * Who the client is behind a reverse proxy (pure). A proxy connects with its own address and
 * names the client in X-Forwarded-For or Forwarded (RFC 7239); those headers are believed only
 * from a trusted proxy, and of their hops only the ones added by trusted proxies: the client can
 * put anything it likes at the left end.
 */
import { BlockList, isIP } from 'node:net';

/**
 * A set of addresses and CIDR blocks (the trustedProxies property, `addr/bits` each).
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack listener reports for IPv4
 * clients) match the IPv4 blocks.
 *
 * @example
 * const proxies = new AddressSet(['10.0.0.0/8', '::1/128']);
 * proxies.has('10.1.2.3');        // true
 * proxies.has('::ffff:10.1.2.3'); // true
 */
export class AddressSet {
  readonly size: number;
  readonly #blocks = new BlockList();

  constructor(blocks: readonly string[]) {
    for (const block of blocks) {
      const [addr = '', bits] = block.split('/');
      const family = isIP(addr);
      if (family === 0) throw new Error(`"${block}" is not an IP address or CIDR block`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      this.#blocks.addSubnet(addr, bits === undefined ? (family === 4 ? 32 : 128) : Number(bits), type);
    }
    this.size = blocks.length;
  }

  /** True when `address` (an IP address; anything else is false) lies in one of the blocks. */
  has(address: string | undefined): boolean {
    if (this.size === 0 || address === undefined) return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.#blocks.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The hop addresses of an X-Forwarded-For value, left (the client, as it claims) to right (the
 * latest proxy's peer). Entries that are not an IP address (`unknown`, a host name, garbage) are
 * kept as undefined: the walk stops there. Ports (`1.2.3.4:80`, `[::1]:80`) are dropped.
 *
 * @example
 * xForwardedFor('203.0.113.7, 10.0.0.2'); // ['203.0.113.7', '10.0.0.2']
 */
export function xForwardedFor(value: string): (string | undefined)[] {
  return value.split(',').map((part) => hostAddress(part.trim()));
}

/**
 * The `for=` addresses of a Forwarded header (RFC 7239), one per element, left to right. An
 * element without `for=`, or with an obfuscated or unknown one (`_hidden`, `unknown`), gives
 * undefined.
 *
 * @example
 * forwardedFor('for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"'); // ['192.0.2.60', '2001:db8::17']
 */
export function forwardedFor(value: string): (string | undefined)[] {
  const result: (string | undefined)[] = [];
  for (const element of splitOutsideQuotes(value, ',')) {
    let address: string | undefined;
    for (const pair of splitOutsideQuotes(element, ';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      let v = pair.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      address = hostAddress(v);
    }
    result.push(address);
  }
  return result;
}

/**
 * The client address of a request that came from `peer`: `peer` itself unless it is a trusted
 * proxy; then the rightmost hop of the forwarded chain that is not itself a trusted proxy
 * (X-Forwarded-For when present, else Forwarded). A hop that is not an address ends the walk at
 * the last trusted one: what lies left of it cannot be told apart from what the client wrote.
 *
 * @example
 * clientAddress('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' }, new AddressSet(['10.0.0.0/8'])); // '203.0.113.7'
 * clientAddress('198.51.100.9', { 'x-forwarded-for': '6.6.6.6' }, new AddressSet(['10.0.0.0/8']));            // '198.51.100.9'
 */
export function clientAddress(
  peer: string | undefined,
  headers: { 'x-forwarded-for'?: string | string[] | undefined; forwarded?: string | string[] | undefined },
  trusted: AddressSet,
): string | undefined {
  if (!trusted.has(peer)) return peer;
  const xff = joined(headers['x-forwarded-for']);
  const fwd = xff === undefined ? joined(headers.forwarded) : undefined;
  const hops = xff !== undefined ? xForwardedFor(xff) : fwd !== undefined ? forwardedFor(fwd) : [];
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === undefined) return client;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}

/**
 * The key one client's connections are counted under: an IPv4 address as it is (also when
 * written IPv4-mapped), an IPv6 address by its /64 (one host or one home network gets a whole
 * /64, and picks addresses from it freely).
 *
 * @example
 * addressKey('::ffff:203.0.113.7');         // '203.0.113.7'
 * addressKey('2001:db8:1:2:aaaa::1');       // '2001:db8:1:2::/64'
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIP(address) !== 6) return address;
  const plain = address.split('%')[0] ?? address;
  const [head = '', tail] = plain.split('::');
  const groups = (text: string) => (text === '' ? [] : text.split(':'));
  const h = groups(head);
  let first: string[];
  if (tail === undefined) {
    first = h;
  } else {
    const t = groups(tail);
    // An IPv4 tail (::ffff:… is handled above; 64:ff9b::1.2.3.4 here) stands for two groups.
    const tailGroups = t.length + (t.at(-1)?.includes('.') ? 1 : 0);
    first = [...h, ...Array<string>(Math.max(0, 8 - h.length - tailGroups)).fill('0'), ...t];
  }
  return `${first
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** A repeated header as one list value. */
function joined(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.join(', ') : v;
  return s.trim() === '' ? undefined : s;
}

/** The IP address in `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]` or `[::1]:80`; undefined otherwise. */
function hostAddress(v: string): string | undefined {
  let host = v;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return undefined;
    const rest = host.slice(end + 1);
    if (rest !== '' && !isPort(rest.slice(1))) return undefined;
    host = host.slice(1, end);
    return isIP(host) === 6 ? host : undefined;
  }
  if (isIP(host) !== 0) return host;
  const colon = host.lastIndexOf(':');
  const addr = host.slice(0, colon);
  return colon > 0 && isIP(addr) === 4 && isPort(host.slice(colon + 1)) ? addr : undefined;
}

function isPort(v: string): boolean {
  return /^\d{1,5}$/.test(v) && Number(v) <= 65535;
}

/** Splits on `sep` except inside double quotes (with backslash escapes). */
function splitOutsideQuotes(value: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === sep) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}
