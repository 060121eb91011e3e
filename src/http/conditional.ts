/**
 * Conditional requests (RFC 9110 §13) for immutable uploads: If-None-Match wins over
 * If-Modified-Since; If-Range decides whether a Range is honoured.
 */

/**
 * The strong ETag of an upload. The content at an id never changes, so the id is the tag.
 *
 * @example
 * etagFor('q3W0n7V4uXy1Z2a_bC-dEfGh'); // '"q3W0n7V4uXy1Z2a_bC-dEfGh"'
 */
export function etagFor(id: string): string {
  return `"${id}"`;
}

/**
 * Seconds-precision HTTP date of a ms timestamp (what Last-Modified carries).
 *
 * @example
 * httpDate(0); // 'Thu, 01 Jan 1970 00:00:00 GMT'
 */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/**
 * Whether a GET/HEAD may be answered 304 Not Modified.
 *
 * @example
 * isNotModified({ ifNoneMatch: '"abc"' }, '"abc"', Date.now()); // true
 * isNotModified({ ifModifiedSince: 'Thu, 01 Jan 2099 00:00:00 GMT' }, '"x"', Date.now()); // true
 */
export function isNotModified(
  req: { ifNoneMatch?: string | undefined; ifModifiedSince?: string | undefined },
  etag: string,
  lastModifiedMs: number,
): boolean {
  if (req.ifNoneMatch !== undefined) return etagListMatches(req.ifNoneMatch, etag, true);
  if (req.ifModifiedSince !== undefined) {
    const since = Date.parse(req.ifModifiedSince);
    if (Number.isNaN(since)) return false;
    return Math.floor(lastModifiedMs / 1000) * 1000 <= since;
  }
  return false;
}

/**
 * Whether a Range may be honoured given If-Range: absent → yes; an ETag must match strongly;
 * a date must equal Last-Modified exactly.
 *
 * @example
 * ifRangeAllows('"abc"', '"abc"', t); // true
 * ifRangeAllows('W/"abc"', '"abc"', t); // false (weak tags never match here)
 */
export function ifRangeAllows(ifRange: string | undefined, etag: string, lastModifiedMs: number): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === etag;
  const date = Date.parse(v);
  return !Number.isNaN(date) && date === Math.floor(lastModifiedMs / 1000) * 1000;
}

/** If-None-Match list matching (weak comparison: W/ prefixes are ignored). */
function etagListMatches(header: string, etag: string, weak: boolean): boolean {
  const v = header.trim();
  if (v === '*') return true;
  for (const part of v.split(',')) {
    let tag = part.trim();
    if (weak && tag.startsWith('W/')) tag = tag.slice(2);
    if (tag === etag) return true;
  }
  return false;
}
