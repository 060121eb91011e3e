import type { UploadMeta } from '../storage/store.ts';
import { etagFor, ifRangeAllows, isNotModified } from './conditional.ts';
import { parseRange } from './range.ts';

/** The request headers a download decision depends on. */
export interface DownloadRequest {
  ifNoneMatch?: string | undefined;
  ifModifiedSince?: string | undefined;
  range?: string | undefined;
  ifRange?: string | undefined;
}

/** What a GET/HEAD of a stored upload is answered with. */
export type DownloadDecision =
  | { kind: 'not-found' }
  | { kind: 'gone' }
  | { kind: 'not-modified' }
  | { kind: 'unsatisfiable' }
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number };

/**
 * Decides a GET/HEAD once the metadata is known (pure). Order: the URL's filename must be the
 * stored one (else 404, as if absent); an ephemeral upload past its expire-before is never
 * served (410); then 304; then Range.
 *
 * @example
 * decideDownload(meta, 'photo.jpg', { range: 'bytes=100-' }, Date.now());
 * // { kind: 'partial', start: 100, end: meta.size - 1 }
 */
export function decideDownload(
  meta: UploadMeta,
  filename: string,
  req: DownloadRequest,
  now: number,
): DownloadDecision {
  if (meta.filename !== filename) return { kind: 'not-found' };
  if (meta.expireBefore !== undefined && now >= meta.expireBefore) return { kind: 'gone' };
  const etag = etagFor(meta.id);
  if (isNotModified(req, etag, meta.storedAt)) return { kind: 'not-modified' };
  if (req.range === undefined || !ifRangeAllows(req.ifRange, etag, meta.storedAt)) return { kind: 'full' };
  const r = parseRange(req.range, meta.size);
  if (r.kind === 'partial') return { kind: 'partial', start: r.start, end: r.end };
  return r;
}
