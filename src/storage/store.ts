import type { Purpose } from '../slots/slot.ts';

/** What is stored beside every upload, readable by any process or node sharing the repository. */
export interface UploadMeta {
  id: string;
  filename: string;
  /** Body length in bytes. */
  size: number;
  /** The slot's content type, else the PUT's, else application/octet-stream. */
  contentType: string;
  /** Bare JID of the uploader. */
  uploader: string;
  /** Slot issue time (ms since epoch). */
  issuedAt: number;
  /** When the upload was published (ms since epoch). */
  storedAt: number;
  purpose: Purpose;
  /** Ephemeral uploads: never served after this instant (ms since epoch). */
  expireBefore?: number;
}

/** Inclusive byte range, already validated against the size. */
export interface ByteRange {
  start: number;
  end: number;
}

/** An unfinished upload (temp file) as purge sees it. */
export interface PartialUpload {
  name: string;
  size: number;
  /** Last write (ms since epoch). */
  modifiedAt: number;
}

/**
 * A place uploads live. Every implementation (fs now, s3 later) passes the same contract test.
 * Guarantees: nothing is visible before the whole body has arrived with exactly `meta.size`
 * bytes; a second write of an id fails with UploadExistsError; an aborted write leaves nothing.
 */
export interface Store {
  readonly kind: 'fs' | 's3';
  /** Checks the backend is usable (exists, writable); serve calls it before listening. */
  open(): Promise<void>;
  /** Streams `body` in and publishes it atomically with `meta`; see the errors in errors.ts. */
  write(meta: Omit<UploadMeta, 'storedAt'>, body: AsyncIterable<Uint8Array>, options?: { signal?: AbortSignal }): Promise<UploadMeta>;
  /** Metadata of a published upload, or undefined. */
  stat(id: string): Promise<UploadMeta | undefined>;
  /** A published upload's metadata and body (whole or `range`), or undefined. */
  read(id: string, range?: ByteRange): Promise<{ meta: UploadMeta; body: AsyncIterable<Uint8Array> } | undefined>;
  /** Removes a published upload; false when it was not there. */
  delete(id: string): Promise<boolean>;
  /** Every published upload, streamed (memory independent of the count), in no particular order. */
  list(): AsyncIterable<UploadMeta>;
  /** Unfinished uploads (for purge). */
  listPartial(): AsyncIterable<PartialUpload>;
  /** Removes one unfinished upload by name. */
  deletePartial(name: string): Promise<boolean>;
  close(): Promise<void>;
}
