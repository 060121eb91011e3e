/**
 * Media types as this service treats them: the stored Content-Type is served verbatim when it is
 * well formed, and slot vs PUT types are compared on type/subtype only.
 */
import { MEDIA_TYPE } from '../slots/media-type.ts';

/** What is served when the stored type is missing or malformed. */
export const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

/**
 * The lower-cased `type/subtype` of a Content-Type value, or undefined when it is malformed.
 *
 * @example
 * essence('Image/JPEG; charset=binary'); // "image/jpeg"
 * essence('text/html\r\nX: y');           // undefined
 */
export function essence(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const m = MEDIA_TYPE.exec(v);
  if (!m) return undefined;
  return `${m[1]}/${m[2]}`.toLowerCase();
}

/**
 * Whether a PUT's Content-Type agrees with the slot's: same type/subtype, case-insensitive,
 * parameters (charset…) ignored — clients add or drop `charset` freely and it does not change
 * what the bytes are. A PUT without Content-Type agrees with anything (legacy clients).
 *
 * @example
 * sameMediaType('image/jpeg', 'IMAGE/JPEG');                 // true
 * sameMediaType('text/plain', 'text/plain; charset=utf-8');  // true
 * sameMediaType('image/png', 'image/jpeg');                  // false
 */
export function sameMediaType(slotType: string, putType: string | undefined): boolean {
  if (putType === undefined || putType.trim() === '') return true;
  const a = essence(slotType);
  const b = essence(putType);
  return a !== undefined && a === b;
}

/**
 * The Content-Type to serve for a stored value: verbatim when well formed, else the fallback,
 * so nothing odd (CR/LF, unparseable text) ever reaches a response header.
 *
 * @example
 * servedContentType('text/plain; charset=utf-8'); // "text/plain; charset=utf-8"
 * servedContentType('garbage');                   // "application/octet-stream"
 */
export function servedContentType(stored: string): string {
  return essence(stored) === undefined ? FALLBACK_CONTENT_TYPE : stored.trim();
}
