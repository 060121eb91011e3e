/**
 * Sizes and durations as operators write them (`50M`, `1GiB`, `5m`, `7d`) and back.
 * Pure functions: the configuration, purge and quotas share them.
 */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * Why a size or duration was refused; the message is fit for an operator.
 *
 * @example
 * try { parseSize('lots'); } catch (err) { if (err instanceof UnitError) console.error(err.message); }
 */
export class UnitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnitError';
  }
}

/** The rule {@link parseSize} applies, in words (for help texts and error messages). */
export const SIZE_RULE =
  'a size in bytes: a whole number, or a number with a binary unit K, M, G or T (1K = 1024; KiB, MiB, GiB, TiB are the same), e.g. 52428800, 50M, 1.5GiB';

/** The rule {@link parseDuration} applies, in words. */
export const DURATION_RULE =
  'a duration: a number of seconds, or numbers with units ms, s, m, h, d, w, e.g. 300, 300s, 5m, 12h, 7d, 1h30m';

/**
 * Parses a size into bytes. A plain number is bytes; K/M/G/T (optionally followed by `iB`, or by
 * `B` alone after a plain number) are binary units. `KB`/`MB` are refused because they are
 * ambiguous (1000 or 1024?). Fractions are allowed with a unit and rounded down to whole bytes.
 *
 * @example
 * parseSize('50M');   // 52428800
 * parseSize('1GiB');  // 1073741824
 * parseSize('1.5K');  // 1536
 * parseSize('4096');  // 4096
 */
export function parseSize(text: string): number {
  const t = text.trim();
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(t);
  if (!m) throw new UnitError(`"${text}" is not a size`);
  const [, num = '', unit = '', suffix = ''] = m;
  const u = unit.toLowerCase();
  if (suffix.toLowerCase() === 'b' && u !== '') {
    throw new UnitError(
      `"${text}" is ambiguous: write ${num}${unit.toUpperCase()} or ${num}${unit.toUpperCase()}iB (binary units, 1K = 1024)`,
    );
  }
  if (suffix.toLowerCase() === 'ib' && u === '') throw new UnitError(`"${text}" is not a size`);
  if (num.includes('.') && u === '') throw new UnitError(`"${text}" is not a whole number of bytes`);
  const bytes = Math.floor(Number(num) * (SIZE_UNITS[u] ?? 1));
  if (!Number.isSafeInteger(bytes)) throw new UnitError(`"${text}" is too large`);
  return bytes;
}

/**
 * Formats bytes for people, in binary units with at most one decimal; exact multiples get none.
 * The result parses back with {@link parseSize} (to the same value when exact).
 *
 * @example
 * formatSize(52428800); // "50 MiB"
 * formatSize(1536);     // "1.5 KiB"
 * formatSize(100);      // "100 B"
 */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;
  let i = 0;
  let v = bytes;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[i]}`;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration into milliseconds. A plain number is seconds (as in the Openfire plugin);
 * otherwise one or more number+unit parts (`1h30m`).
 *
 * @example
 * parseDuration('300');   // 300000
 * parseDuration('5m');    // 300000
 * parseDuration('7d');    // 604800000
 * parseDuration('1h30m'); // 5400000
 */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(t)) return checkedMs(Math.round(Number(t) * 1000), text);
  if (!/^(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$/i.test(t)) throw new UnitError(`"${text}" is not a duration`);
  let ms = 0;
  for (const part of t.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gi)) {
    ms += Number(part[1]) * (DURATION_UNITS[(part[2] ?? '').toLowerCase()] ?? Number.NaN);
  }
  return checkedMs(Math.round(ms), text);
}

function checkedMs(ms: number, text: string): number {
  if (!Number.isSafeInteger(ms)) throw new UnitError(`"${text}" is too long`);
  return ms;
}

/**
 * Formats milliseconds compactly with exact units up to days (`14d`, not `2w`); parses back with
 * {@link parseDuration} to the same value.
 *
 * @example
 * formatDuration(300_000);   // "5m"
 * formatDuration(5_400_000); // "1h30m"
 * formatDuration(1500);      // "1s500ms"
 * formatDuration(0);         // "0s"
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return sign + out;
}
