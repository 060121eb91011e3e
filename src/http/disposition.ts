import { essence } from './media-type.ts';

/**
 * Content-Disposition (RFC 6266) for downloads. Types a browser renders passively (images but not
 * SVG, audio, video, plain text) are `inline` so previews work; everything else is `attachment`,
 * so HTML, SVG, XML, PDF, scripts… never render in the service's origin.
 */

/**
 * Whether a media type may be shown inline.
 *
 * @example
 * isInlineType('image/png');      // true
 * isInlineType('image/svg+xml');  // false (active content)
 * isInlineType('text/html');      // false
 */
export function isInlineType(contentType: string): boolean {
  const type = essence(contentType);
  if (type === undefined) return false;
  if (type === 'text/plain') return true;
  const [major = '', minor = ''] = type.split('/');
  if (major === 'image') return !minor.includes('svg') && !minor.endsWith('+xml');
  return major === 'audio' || major === 'video';
}

/**
 * The header value: disposition, an ASCII fallback `filename="…"` for old user agents, and the
 * exact name as `filename*=UTF-8''…` (RFC 8187 percent-encoding).
 *
 * @example
 * contentDisposition('Grüße.pdf', false);
 * // attachment; filename="Gr__e.pdf"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf
 */
export function contentDisposition(filename: string, inline: boolean): string {
  const kind = inline ? 'inline' : 'attachment';
  return `${kind}; filename="${asciiFallback(filename)}"; filename*=UTF-8''${encodeRfc8187(filename)}`;
}

/**
 * Printable ASCII only, without `"` `\` `%` (some agents decode %XX in the plain parameter).
 *
 * @example
 * asciiFallback('Grüße "1".pdf'); // 'Gr__e _1_.pdf'
 */
export function asciiFallback(filename: string): string {
  const out = filename.replace(/[^\x20-\x7e]|["\\%]/gu, '_');
  return out === '' ? 'download' : out;
}

/**
 * RFC 8187 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else percent-encoded as UTF-8.
 *
 * @example
 * encodeRfc8187("it's ü.txt"); // 'it%27s%20%C3%BC.txt'
 */
export function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}
