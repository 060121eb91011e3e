import type { UploadMeta } from '../storage/store.ts';
import { contentDisposition, isInlineType } from './disposition.ts';
import { etagFor, httpDate } from './conditional.ts';
import { servedContentType } from './media-type.ts';

/**
 * Header policy (pure): what every response carries, and what a download carries on top.
 */

/**
 * On every response, errors included: uploads are arbitrary user content, so nothing may be
 * sniffed, scripted, framed or leak the page it was linked from.
 */
export const SAFE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'Referrer-Policy': 'no-referrer',
  // Chat web clients embed previews from another origin.
  'Cross-Origin-Resource-Policy': 'cross-origin',
});

/** The content at a URL never changes: cache it for a year. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
const YEAR_S = 31_536_000;

/**
 * Cache-Control for an upload: a year, or — for ephemeral uploads — no longer than the upload
 * may be served, so no cache keeps it past its expire-before.
 *
 * @example
 * cacheControl(meta, Date.now()); // "public, max-age=31536000, immutable"
 */
export function cacheControl(meta: Pick<UploadMeta, 'expireBefore'>, now: number): string {
  if (meta.expireBefore === undefined) return IMMUTABLE_CACHE;
  const left = Math.max(0, Math.min(YEAR_S, Math.floor((meta.expireBefore - now) / 1000)));
  return `public, max-age=${left}, immutable`;
}

/**
 * The validators and caching headers of an upload (what a 304 repeats).
 *
 * @example
 * validatorHeaders(meta, now); // { ETag, 'Last-Modified', 'Cache-Control' }
 */
export function validatorHeaders(meta: UploadMeta, now: number): Record<string, string> {
  return {
    ETag: etagFor(meta.id),
    'Last-Modified': httpDate(meta.storedAt),
    'Cache-Control': cacheControl(meta, now),
  };
}

/**
 * Everything a 200/206/HEAD for an upload carries besides CORS and the safe headers: the stored
 * type (never sniffed), length, validators, range support and the disposition.
 *
 * @example
 * downloadHeaders(meta, 1234, now); // { 'Content-Type': 'image/png', 'Content-Length': '1234', … }
 */
export function downloadHeaders(meta: UploadMeta, contentLength: number, now: number): Record<string, string> {
  const type = servedContentType(meta.contentType);
  return {
    'Content-Type': type,
    'Content-Length': String(contentLength),
    'Accept-Ranges': 'bytes',
    ...validatorHeaders(meta, now),
    'Content-Disposition': contentDisposition(meta.filename, isInlineType(type)),
  };
}
