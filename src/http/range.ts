/**
 * Range requests (RFC 9110 §14): one range is served (206), several are answered with the whole
 * body (allowed by the RFC, and no XMPP client asks for several), nonsense is ignored (200).
 */

/** The outcome of a Range header against a body of `size` bytes. */
export type RangeDecision =
  { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const SPEC = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

/**
 * Interprets a Range header value: `bytes=N-M`, `bytes=N-` (Conversations' resume), `bytes=-N`
 * (suffix). Ends past the size are clamped; a start at or past the size is unsatisfiable (416).
 *
 * @example
 * parseRange('bytes=100-', 1000);   // { kind: 'partial', start: 100, end: 999 }
 * parseRange('bytes=-10', 1000);    // { kind: 'partial', start: 990, end: 999 }
 * parseRange('bytes=5000-', 1000);  // { kind: 'unsatisfiable' }
 * parseRange('items=0-1', 1000);    // { kind: 'full' }
 */
export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  if (header.includes(',')) return { kind: 'full' };
  const m = SPEC.exec(header.trim());
  if (!m) return { kind: 'full' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    // Suffix: the last N bytes. N = 0 selects nothing.
    const n = toInt(last);
    if (n === undefined) return { kind: 'full' };
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = toInt(first);
  const end = last === '' ? Number.MAX_SAFE_INTEGER : toInt(last);
  if (start === undefined || end === undefined) return { kind: 'full' };
  if (end < start) return { kind: 'full' }; // syntactically invalid: ignore the header
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

function toInt(digits: string): number | undefined {
  // Too many digits for a safe integer cannot address any stored byte; treat as huge.
  if (digits.length > 15) return Number.MAX_SAFE_INTEGER;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The Content-Range value for a partial response, or for a 416 (`bytes * /size`).
 *
 * @example
 * contentRange({ start: 0, end: 99 }, 1000); // "bytes 0-99/1000"
 * contentRange(undefined, 1000);              // "bytes *\/1000"
 */
export function contentRange(range: { start: number; end: number } | undefined, size: number): string {
  return range ? `bytes ${range.start}-${range.end}/${size}` : `bytes */${size}`;
}
