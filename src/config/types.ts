/**
 * The value types of configuration properties: how a text value from openfire.xml is checked and
 * converted, and the rule in words. Pure; the catalogue combines these into properties.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { posix } from 'node:path';
import { DURATION_RULE, SIZE_RULE, UnitError, formatDuration, parseDuration, parseSize } from './units.ts';

/** The type names shown in `config list --json`, the README and the man page. */
export type PropertyType =
  | 'string'
  | 'integer'
  | 'size'
  | 'duration'
  | 'port'
  | 'boolean'
  | 'enum'
  | 'host'
  | 'domain'
  | 'path'
  | 'list'
  | 'url-path';

/**
 * A value that breaks its property's rule. The CLI adds the property name.
 *
 * @example
 * try { catalogue.xmppPort.parse('0'); } catch (err) { if (err instanceof InvalidValue) console.error(err.message); }
 */
export class InvalidValue extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidValue';
  }
}

/** A value type: its name, its rule in words, and the conversion that enforces the rule. */
export interface ValueType<T> {
  readonly type: PropertyType;
  /** The rule in words, e.g. "a port number 1–65535". */
  readonly rule: string;
  /** Converts a trimmed, non-empty text; throws {@link InvalidValue} naming what is wrong. */
  readonly parse: (text: string) => T;
}

const fail = (msg: string): never => {
  throw new InvalidValue(msg);
};

/**
 * Any non-empty text.
 *
 * @example
 * stringType().parse('s3cr3t'); // 's3cr3t'
 */
export function stringType(rule = 'any text'): ValueType<string> {
  return { type: 'string', rule, parse: (t) => t };
}

/**
 * A whole number within [min, max].
 *
 * @example
 * integerType(1, 10).parse('3'); // 3
 */
export function integerType(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): ValueType<number> {
  const rule = `a whole number from ${min} to ${max}`;
  return {
    type: 'integer',
    rule,
    parse: (t) => {
      if (!/^[+-]?\d+$/.test(t)) fail(`"${t}" is not a whole number`);
      const n = Number(t);
      if (!Number.isSafeInteger(n) || n < min || n > max) fail(`${t} is outside ${min}–${max}`);
      return n;
    },
  };
}

/**
 * A count limit: a whole number up to `max`. Like a size limit (see {@link sizeType}), 0 or any
 * negative whole number means no limit, and parses to -1.
 *
 * @example
 * countLimitType(1_000_000).parse('50'); // 50
 * countLimitType(1_000_000).parse('0');  // -1
 * countLimitType(1_000_000).parse('-5'); // -1
 */
export function countLimitType(max: number): ValueType<number> {
  const whole = integerType(Number.MIN_SAFE_INTEGER, max);
  return {
    type: 'integer',
    rule: `a whole number up to ${max}; 0 or less = unlimited`,
    parse: (t) => {
      const n = whole.parse(t);
      return n > 0 ? n : -1;
    },
  };
}

/**
 * A size in bytes (see {@link parseSize}). With `unlimited`, the Openfire plugin's rule for every
 * size limit: 0 or any negative whole number means no limit, and parses to -1.
 *
 * @example
 * sizeType({ unlimited: true }).parse('50M'); // 52428800
 * sizeType({ unlimited: true }).parse('0');   // -1
 * sizeType({ unlimited: true }).parse('-5');  // -1
 * sizeType({ unlimited: true }).parse('-2M'); // -1
 */
export function sizeType(opts: { unlimited?: boolean; min?: number } = {}): ValueType<number> {
  const min = opts.min ?? 0;
  const rule = `${SIZE_RULE}${min > 0 ? `; at least ${min}` : ''}${opts.unlimited ? '; 0 or less = unlimited' : ''}`;
  return {
    type: 'size',
    rule,
    parse: (t) => {
      // Any negative size, with a unit or without (-1, -2M), is unlimited: the rest must still be a size.
      if (opts.unlimited && t.startsWith('-')) {
        try {
          parseSize(t.slice(1));
        } catch {
          fail(`"${t}" is not a size`);
        }
        return -1;
      }
      const n = unit(() => parseSize(t));
      if (opts.unlimited && n === 0) return -1;
      if (n < min) fail(`${t} is less than ${min} bytes`);
      return n;
    },
  };
}

/**
 * A duration in milliseconds (see {@link parseDuration}).
 *
 * @example
 * durationType({ min: 1000 }).parse('5m'); // 300000
 */
export function durationType(opts: { min?: number; max?: number; allowZero?: boolean } = {}): ValueType<number> {
  const min = opts.min ?? 0;
  const bounds = [
    min > 0 ? `at least ${formatDuration(min)}` : '',
    opts.max !== undefined ? `at most ${formatDuration(opts.max)}` : '',
  ].filter(Boolean);
  const rule = `${DURATION_RULE}${bounds.length > 0 ? `; ${bounds.join(', ')}` : ''}${opts.allowZero && min > 0 ? ' (or 0)' : ''}`;
  return {
    type: 'duration',
    rule,
    parse: (t) => {
      const ms = unit(() => parseDuration(t));
      if (ms === 0 && opts.allowZero) return ms;
      if (ms < min) fail(`${t} is shorter than ${formatDuration(min)}`);
      if (opts.max !== undefined && ms > opts.max) fail(`${t} is longer than ${formatDuration(opts.max)}`);
      return ms;
    },
  };
}

function unit<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof UnitError) throw new InvalidValue(err.message);
    throw err;
  }
}

/**
 * A TCP port 1–65535.
 *
 * @example
 * portType().parse('5275'); // 5275
 */
export function portType(): ValueType<number> {
  return {
    type: 'port',
    rule: 'a port number from 1 to 65535',
    parse: (t) => {
      if (!/^\d+$/.test(t)) fail(`"${t}" is not a port number`);
      const n = Number(t);
      if (n < 1 || n > 65535) fail(`${t} is outside 1–65535`);
      return n;
    },
  };
}

/**
 * `true` or `false` (any letter case), as Openfire writes booleans.
 *
 * @example
 * booleanType().parse('TRUE'); // true
 */
export function booleanType(): ValueType<boolean> {
  return {
    type: 'boolean',
    rule: 'true or false',
    parse: (t) => {
      const v = t.toLowerCase();
      if (v === 'true') return true;
      if (v === 'false') return false;
      return fail(`"${t}" is neither true nor false`);
    },
  };
}

/**
 * One of a fixed set of words (exact spelling).
 *
 * @example
 * enumType(['http', 'https'] as const).parse('https'); // 'https'
 */
export function enumType<const V extends string>(values: readonly V[]): ValueType<V> {
  const rule = `one of ${values.join(', ')}`;
  return {
    type: 'enum',
    rule,
    parse: (t) => ((values as readonly string[]).includes(t) ? (t as V) : fail(`"${t}" is not ${rule}`)),
  };
}

/**
 * The domain a component serves by default: its own without the first label
 * (upload.example.org → example.org). A single-label domain is its own parent; surrounding
 * whitespace and a trailing dot are ignored.
 *
 * @example
 * parentDomain('upload.example.org'); // 'example.org'
 */
export function parentDomain(domain: string): string {
  const d = domain.trim().replace(/\.$/, '');
  const dot = d.indexOf('.');
  return dot === -1 ? d : d.slice(dot + 1);
}

/**
 * True for a DNS name: labels separated by U+002E of letters, digits and inner hyphens (IDN
 * allowed, checked in its ASCII form), at most 253 characters, no trailing dot. Look-alike full
 * stops (U+3002, U+FF0E, U+FF61) are refused: XMPP servers do not read them as dots.
 *
 * @example
 * isDomainName('upload.example.org'); // true
 * isDomainName('bad_name');           // false
 * isDomainName('example。org');       // false
 */
export function isDomainName(name: string): boolean {
  if (name.endsWith('.') || isIP(name) !== 0) return false;
  // Only a label with non-ASCII characters goes through IDNA: on its own, an all-digit ASCII
  // label ("8" of 8.example.org) would be read as an IPv4 number.
  const labels = name.split('.').map((label) => (/^[\x00-\x7f]*$/.test(label) ? label : domainToASCII(label)));
  const ascii = labels.join('.');
  if (ascii.length > 253) return false;
  return labels.every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}

/**
 * A host name (see {@link isDomainName}) or an IP address literal (IPv6 without brackets).
 *
 * @example
 * hostType().parse('0.0.0.0'); // '0.0.0.0'
 */
export function hostType(): ValueType<string> {
  return {
    type: 'host',
    rule: 'a host name or an IP address (IPv6 without brackets)',
    parse: (t) => (isIP(t) !== 0 || isDomainName(t) ? t : fail(`"${t}" is neither a host name nor an IP address`)),
  };
}

/**
 * A DNS domain name (no IP address), e.g. a component JID such as upload.example.org.
 *
 * @example
 * domainType().parse('upload.example.org'); // 'upload.example.org'
 */
export function domainType(): ValueType<string> {
  return {
    type: 'domain',
    rule: 'a domain name such as upload.example.org (letters, digits, hyphens, dots)',
    parse: (t) => (isDomainName(t) ? t : fail(`"${t}" is not a domain name`)),
  };
}

/**
 * An absolute file-system path.
 *
 * @example
 * pathType().parse('/var/lib/fileupload'); // '/var/lib/fileupload'
 */
export function pathType(): ValueType<string> {
  return {
    type: 'path',
    rule: 'an absolute path (starting with /)',
    parse: (t) => {
      if (t.includes('\0')) fail('a path cannot contain NUL');
      return posix.isAbsolute(t) ? t : fail(`"${t}" is not an absolute path (it must start with /)`);
    },
  };
}

/**
 * Comma-separated items, trimmed, empty items dropped; each item checked by `item`.
 *
 * @example
 * listType(domainType()).parse('example.org, example.net'); // ['example.org', 'example.net']
 */
export function listType(item: ValueType<string>, rule?: string): ValueType<string[]> {
  return {
    type: 'list',
    rule: rule ?? `a comma-separated list; each item ${item.rule}`,
    parse: (t) => {
      const items = t
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      return items.map((i) => {
        try {
          return item.parse(i);
        } catch (err) {
          if (err instanceof InvalidValue) return fail(`list item ${err.message}`);
          throw err;
        }
      });
    },
  };
}

/**
 * A URL path prefix such as a context root: starts with `/`; only characters allowed in a URL
 * path; no `.`/`..` segments. Normalised without the trailing `/` (`/` becomes the empty root).
 *
 * @example
 * urlPathType().parse('/httpfileupload/'); // '/httpfileupload'
 * urlPathType().parse('/');                // ''
 */
export function urlPathType(): ValueType<string> {
  return {
    type: 'url-path',
    rule: 'a URL path starting with / (e.g. /httpfileupload; / for the root), without spaces, ? or #',
    parse: (t) => {
      if (!t.startsWith('/')) fail(`"${t}" does not start with /`);
      if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/.test(t)) fail(`"${t}" contains characters not allowed in a URL path`);
      const segments = t.split('/');
      if (segments.some((s) => s === '.' || s === '..')) fail(`"${t}" contains a . or .. segment`);
      return t.replace(/\/+$/, '');
    },
  };
}

/**
 * An item of a CORS origin list: `*` or an origin like `https://chat.example.org[:port]`.
 *
 * @example
 * originType().parse('https://chat.example.org'); // 'https://chat.example.org'
 */
export function originType(): ValueType<string> {
  return {
    type: 'string',
    rule: '* or an origin such as https://chat.example.org',
    parse: (t) => {
      if (t === '*') return t;
      let url: URL | undefined;
      try {
        url = new URL(t);
      } catch {
        url = undefined;
      }
      const bare = t.replace(/\/$/, '').toLowerCase();
      if (!url || !/^https?:$/.test(url.protocol) || url.origin.toLowerCase() !== bare) {
        fail(`"${t}" is not * or an origin such as https://chat.example.org`);
      }
      return t.replace(/\/$/, '');
    },
  };
}

/**
 * A bare JID (localpart@domain, no resource), lower-cased: how the upload service compares the
 * JIDs the XMPP server stamps on stanzas.
 *
 * @example
 * bareJidType().parse('Admin@Example.org'); // 'admin@example.org'
 */
export function bareJidType(): ValueType<string> {
  return {
    type: 'string',
    rule: 'a bare JID such as admin@example.org (no /resource)',
    parse: (t) => {
      const at = t.indexOf('@');
      if (t.includes('/')) fail(`"${t}" is a full JID: give the bare JID, without the /resource`);
      if (at <= 0 || !isDomainName(t.slice(at + 1)) || /[\s"&'<>:@]/.test(t.slice(0, at)))
        fail(`"${t}" is not a bare JID such as admin@example.org`);
      return t.toLowerCase();
    },
  };
}

/**
 * An item of an access list: `*` or a domain name.
 *
 * @example
 * domainOrStarType().parse('*'); // '*'
 */
export function domainOrStarType(): ValueType<string> {
  return {
    type: 'domain',
    rule: '* or a domain name',
    parse: (t) => (t === '*' || isDomainName(t) ? t : fail(`"${t}" is not * or a domain name`)),
  };
}

/**
 * An IP address or an address block in CIDR notation (IPv4 or IPv6), normalised to `addr/bits`.
 *
 * @example
 * addressBlockType().parse('10.0.0.0/8'); // '10.0.0.0/8'
 * addressBlockType().parse('::1');        // '::1/128'
 */
export function addressBlockType(): ValueType<string> {
  return {
    type: 'string',
    rule: 'an IP address or CIDR block, e.g. 127.0.0.1, 10.0.0.0/8 or ::1',
    parse: (t) => {
      const [addr = '', bits, extra] = t.split('/');
      const family = isIP(addr);
      if (family === 0 || extra !== undefined) fail(`"${t}" is not an IP address or CIDR block`);
      const max = family === 4 ? 32 : 128;
      if (bits === undefined) return `${addr}/${max}`;
      if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) fail(`"${t}": the prefix length must be 0 to ${max}`);
      return `${addr}/${Number(bits)}`;
    },
  };
}

/**
 * A duration where a plain number means milliseconds, as the Openfire plugin writes its timeouts
 * (`clamavConnectionTimeout` 3000); numbers with units as for `base`, whose bounds apply to both.
 *
 * @example
 * millisecondsType(durationType({ min: 100 })).parse('3000'); // 3000
 * millisecondsType(durationType({ min: 100 })).parse('3s');   // 3000
 */
export function millisecondsType(base: ValueType<number>): ValueType<number> {
  return {
    type: 'duration',
    // The base rule's bounds ("; at least 100ms") follow the duration words.
    rule: `a number of milliseconds, or a duration with units ms, s, m, h, e.g. 3000 or 3s${base.rule.slice(DURATION_RULE.length)}`,
    parse: (t) => base.parse(/^\d+$/.test(t) ? `${t}ms` : t),
  };
}
