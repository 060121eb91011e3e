import type { Writable } from 'node:stream';
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

/**
 * What read() should return of the body: everything (undefined), one range, or nothing (null:
 * metadata only, e.g. for a 304, 410 or 416 that is only known once the metadata is read).
 */
export type ReadSelection = ByteRange | undefined | null;

/**
 * Sends a byte range of an open file somewhere (the HTTP layer's sendfile path) and resolves
 * with the bytes sent: `length`, or fewer when the file ended first.
 *
 * @example
 * await stored.sendFile?.((fd, offset, length) => sendFileToSocket(addon, socketFd, fd, offset, length));
 */
export type FileRangeSender = (fd: number, offset: number, length: number) => Promise<number>;

/**
 * What an upload body may offer besides its chunks: handing the rest of itself to the kernel
 * (the HTTP layer's splice(2) path, src/http/request-body.ts). A store that writes to a local
 * file may use it for a large body; others just iterate.
 *
 * @example
 * if (isHandOverBody(body) && rest >= MIN) { const handed = await body.handOver(); ... }
 */
export interface HandOverBody extends AsyncIterable<Uint8Array> {
  /**
   * Call between two chunks, never while a `next()` is pending. Stops reading through user space
   * and returns the bytes already read but not yet yielded plus a mover for the rest; the
   * iterator yields nothing more then. Undefined when the body cannot (not a plain TCP socket,
   * no native addon, chunked framing): go on iterating.
   */
  handOver(): Promise<HandedOverBody | undefined>;
}

/** The rest of a body after `handOver()`. */
export interface HandedOverBody {
  /** Bytes read before the hand-over and not yet yielded: they come first. */
  buffered: Uint8Array[];
  /**
   * Moves exactly the next `length` body bytes into `fd` at `offset`; rejects when the client
   * goes away, stalls, the write fails (ENOSPC…), or `signal` aborts. Call once.
   */
  moveTo(
    fd: number,
    offset: number,
    length: number,
    options: { signal?: AbortSignal; onMoved?: (bytes: number) => void },
  ): Promise<void>;
}

/**
 * Whether `body` offers `handOver`.
 *
 * @example
 * if (isHandOverBody(body)) await body.handOver();
 */
export function isHandOverBody(body: AsyncIterable<Uint8Array>): body is HandOverBody {
  return typeof (body as Partial<HandOverBody>).handOver === 'function';
}

/**
 * A published upload as read() returns it. Consume exactly one of `body`, `pipeTo`, `sendFile`
 * and `bytes`.
 */
export interface StoredBody {
  meta: UploadMeta;
  /**
   * The selected bytes. Iterate to the end, or call `return()` on its iterator, to release the
   * underlying handle (the HTTP layer pipes it, which does either).
   */
  body: AsyncIterable<Uint8Array>;
  /**
   * Optional fast path: writes the selected bytes to `dest` (without ending it), reusing the
   * store's read buffers instead of allocating one per chunk; resolves once `dest` accepted
   * the last byte, rejects if `dest` fails or closes first. Releases the handle either way.
   */
  pipeTo?(dest: Writable): Promise<void>;
  /**
   * Optional zero-copy path, offered when the selected bytes are a range of an open local file
   * (fs store, large bodies): calls `send` once with the descriptor and the range, rejects with
   * CorruptUploadError when it sent fewer bytes (the file is shorter than recorded), and closes
   * the descriptor either way.
   */
  sendFile?(send: FileRangeSender): Promise<void>;
  /**
   * Optional: the selected bytes, when they are already in memory (small uploads), so the HTTP
   * layer can send head and body in one write. The same bytes as `body`; never modify them (they
   * may be shared with other readers). Using them counts as consuming the body.
   */
  bytes?: Uint8Array;
}

/**
 * Looks at an upload's bytes once the whole body has arrived and before it is published (serve
 * scans for malware with it): resolving lets the upload be published, rejecting (with
 * UploadRefusedError, errors.ts) refuses it, and the store removes everything written. A store
 * calls one of the two methods, once per write.
 *
 * @example
 * await store.write(meta, body, { inspect: { inspectFile: async (m, path, start) => {}, inspectStream: () => feed } });
 */
export interface UploadInspector {
  /** The complete body is the local file `path` from byte `start` on (the store's temp file). */
  inspectFile(meta: UploadMeta, path: string, start: number): Promise<void>;
  /** For a store that keeps no local copy: a feed of the body's chunks as they pass. */
  inspectStream(meta: UploadMeta): InspectionFeed;
}

/** The body of one upload, handed to an UploadInspector as it passes. */
export interface InspectionFeed {
  /**
   * Takes the next chunk (never modified, never kept past the call's settling); resolves when
   * the next may come, so a slow inspector slows the upload instead of filling memory. Rejects
   * once the upload is refused already (the rest need not be read).
   */
  push(chunk: Uint8Array): Promise<void>;
  /** The body has ended with exactly its size: resolves to publish, rejects to refuse. */
  end(): Promise<void>;
  /** The upload failed for another reason: stop looking. */
  abort(): void;
}

/** What a write may be told besides its body. */
export interface WriteOptions {
  /** Aborting stops waiting for the body at once and removes everything written. */
  signal?: AbortSignal;
  /**
   * The caller gives each chunk of the body up, and the store may free its memory once written
   * (storage/release.ts); a store may ignore it.
   */
  releaseChunks?: boolean;
  /** Looks at the complete body before it is published, and may refuse it. */
  inspect?: UploadInspector;
  /** Keep this publish time instead of now (an imported upload keeps the time it was first stored). */
  storedAt?: number;
}

/** An unfinished upload (temp file) as purge sees it. */
export interface PartialUpload {
  name: string;
  size: number;
  /** Last write (ms since epoch). */
  modifiedAt: number;
}

/**
 * A place uploads live. Every implementation (fs, s3) passes the same contract test.
 * Guarantees: nothing is visible before the whole body has arrived with exactly `meta.size`
 * bytes; a second write of an id fails with UploadExistsError, a write of a tombstoned id with
 * UploadRemovedError; an aborted write leaves nothing.
 * Ids that are neither slot ids nor imported ids (isStoredId) are refused (InvalidIdError) before
 * any path is built.
 * Errors: see errors.ts (UploadExistsError 409, UploadRemovedError 410, SizeMismatchError 413,
 * StorageFullError 507, UploadAbortedError, InvalidIdError).
 *
 * @example
 * const store: Store = new FsStore('/srv/fileupload');
 * await store.open();
 * await store.write({ ...slotFields }, request, { signal });
 * const got = await store.read(id, (meta) => ({ start: 0, end: Math.min(99, meta.size - 1) }));
 */
export interface Store {
  readonly kind: 'fs' | 's3';
  /** Checks the backend is usable (exists, writable); serve calls it before listening. */
  open(): Promise<void>;
  /**
   * Streams `body` in and publishes it atomically with `meta` (storedAt = publish time); see the
   * errors in errors.ts. The existence check happens before the first chunk is pulled, so a
   * second PUT is refused without reading its body. See WriteOptions.
   */
  write(
    meta: Omit<UploadMeta, 'storedAt'>,
    body: AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<UploadMeta>;
  /** Metadata of a published upload, or undefined. */
  stat(id: string): Promise<UploadMeta | undefined>;
  /**
   * A published upload's metadata and body, or undefined. `select` is a ReadSelection or a function
   * that picks one from the metadata, so a GET decides range / 304 / 410 with ONE open of the
   * upload. A range must lie within the size (RangeError otherwise). Rejects with
   * UploadRemovedError when the id has a tombstone (removed for good).
   */
  read(id: string, select?: ReadSelection | ((meta: UploadMeta) => ReadSelection)): Promise<StoredBody | undefined>;
  /** Removes a published upload; false when it was not there. */
  delete(id: string): Promise<boolean>;
  /**
   * Removes the published upload of `id`, if there is one, and leaves a tombstone in its place,
   * where the existence check of every write looks: from now on a write of `id` fails with
   * UploadRemovedError (410), on every node sharing the store, while stat and list see nothing
   * and read rejects with UploadRemovedError (a GET answers 410). Resolves to the metadata of the
   * upload it removed. The tombstone stays until dropTombstone (purge drops it once the slot has
   * expired, from the index's record of it).
   */
  tombstone(id: string): Promise<UploadMeta | undefined>;
  /** Drops the tombstone of `id`; false when there was none (an upload there is left alone). */
  dropTombstone(id: string): Promise<boolean>;
  /**
   * What a write of `id` would find in its place now: a published upload (the write would fail
   * with UploadExistsError), a tombstone (UploadRemovedError), or nothing. For answering before
   * a body is sent (Expect: 100-continue); the write itself checks again.
   */
  occupant(id: string): Promise<'upload' | 'tombstone' | undefined>;
  /** Every published upload, streamed (memory independent of the count), in no particular order. */
  list(): AsyncIterable<UploadMeta>;
  /** Unfinished uploads (for purge). */
  listPartial(): AsyncIterable<PartialUpload>;
  /** Removes one unfinished upload by name. */
  deletePartial(name: string): Promise<boolean>;
  close(): Promise<void>;
}
