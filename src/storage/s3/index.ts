/**
 * The S3 store: uploads as objects of an S3-compatible object store (AWS S3, Ceph radosgw, …),
 * through the AWS SDK v3 and the bucket's shared client (client.ts). Layout: see keys.ts; metadata:
 * see meta.ts.
 *
 * Proxy mode (serve receives the body): write() streams it — never buffered — as ONE PutObject
 * with `If-None-Match: *` for bodies up to `multipartThreshold` (5 GiB, the S3 single-PUT limit),
 * else as a multipart upload whose parts are streamed one after another. Guarantees, as for fs:
 * - nothing is visible before the whole body arrived with exactly the slot size (S3 publishes an
 *   object or a completed multipart upload atomically; a failed PUT is discarded, a failed
 *   multipart upload aborted; the last bytes are held back until the body has ended: body.ts);
 * - a second write of an id fails with UploadExistsError without reading its body (HEAD first);
 *   two concurrent writes: `If-None-Match: *` lets exactly one PutObject win (radosgw and AWS
 *   check it atomically at publish). Multipart completion honours `If-None-Match` on AWS but not
 *   on radosgw 16, where a HEAD right before completion leaves a window of one request.
 *
 * A tombstone (Store.tombstone) is an empty object at the upload's key with TOMBSTONE_METADATA:
 * the HEAD before a write sees it (410), `If-None-Match: *` keeps an upload under way from
 * publishing over it, and stat, read and list pass it by.
 *
 * Direct mode (clients PUT to S3 themselves): presignPut() makes the slot's PUT URL — length,
 * type (when the slot has one) and the metadata as signed `x-amz-meta-*` query parameters — and
 * recordSlot() writes the slot record, so metadata reaches the store on every S3 flavour; reads
 * join the record when the object has no metadata of its own.
 */
import type { Readable } from 'node:stream';
import type * as S3 from '@aws-sdk/client-s3';
import { isSlotId, isStoredId } from '../../slots/id.ts';
import type { Slot } from '../../slots/slot.ts';
import type { PartialUpload, ReadSelection, Store, StoredBody, UploadMeta, WriteOptions } from '../store.ts';
import {
  RepositoryError,
  StorageFullError,
  UploadAbortedError,
  UploadExistsError,
  UploadRemovedError,
} from '../errors.ts';
import { BodyReader } from './body.ts';
import { idOfKey, keyLayout, parsePartialName, partialName, slotRecordKey, uploadKey, type KeyLayout } from './keys.ts';
import {
  decodeSlotRecord,
  encodeSlotRecord,
  encodeUploadMeta,
  isTombstone,
  metaFromObject,
  metaFromRecord,
  type ObjectHead,
  type SlotRecord,
  TOMBSTONE_METADATA,
} from './meta.ts';
import { errCode } from '../../errno.ts';
import { noop } from '../../noop.ts';
import { S3Connection, statusOf, type S3ConnectionOptions, type S3Context } from './client.ts';

/** The largest object one PutObject may create on AWS S3. */
export const MAX_SINGLE_PUT = 5 * 1024 ** 3;
/** The smallest multipart part S3 and radosgw accept (all but the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** A presigned URL may be valid for at most 7 days (SigV4). */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** How to reach the bucket, and tuning. */
export interface S3StoreOptions extends S3ConnectionOptions {
  /** Key prefix (a "folder" in the bucket); default none. */
  prefix?: string;
  /** Bodies larger than this go up as multipart uploads; default (and at most) 5 GiB. */
  multipartThreshold?: number;
  /** Part size of multipart uploads (grown so that no upload needs more than 10000 parts); default 64 MiB. */
  partSize?: number;
  /** HEAD/GET requests list() runs at once; default 16. */
  listConcurrency?: number;
  /** Keys per listing request; default (and at most) 1000. */
  pageSize?: number;
}

function nameOf(err: unknown): string | undefined {
  return (err as { name?: string; Code?: string } | null)?.Code ?? (err as { name?: string } | null)?.name;
}
const isNotFound = (err: unknown): boolean =>
  statusOf(err) === 404 || ['NotFound', 'NoSuchKey', 'NoSuchUpload'].includes(nameOf(err) ?? '');

/**
 * One line saying why S3 refused or could not be reached (no secrets in it).
 *
 * @example
 * describeS3Error(err); // "NoSuchBucket (HTTP 404)" or "connect ECONNREFUSED 127.0.0.1:7480"
 */
export function describeS3Error(err: unknown): string {
  const status = statusOf(err);
  const name = nameOf(err);
  const message = (err as Error | null)?.message;
  if (status !== undefined) {
    const detail = message && message !== name && message !== 'UnknownError' ? `: ${message}` : '';
    return `${name ?? 'error'} (HTTP ${status})${detail}`;
  }
  const code = errCode(err) as string | undefined;
  return `${message ?? String(err)}${code && !message?.includes(code) ? ` (${code})` : ''}`;
}

/** Runs `fn` on every item with at most `limit` running at once; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** An object as a listing shows it. */
interface Listed {
  key: string;
  size: number;
  lastModified: number;
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}

/**
 * Creates the S3 store (nothing is loaded or contacted before the first call). Its `connection`
 * is the bucket's client, which the index store and the conditional objects share; closing the
 * store closes it.
 *
 * @example
 * const store = new S3Store({ endpoint: 'http://127.0.0.1:7480', bucket: 'uploads', forcePathStyle: true,
 *   accessKey: 'AK…', secretKey: '…' });
 * await store.open();
 */
export class S3Store implements Store {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly layout: KeyLayout;
  /** The bucket's client, for the other users of the bucket (index, locks). */
  readonly connection: S3Connection;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  readonly #concurrency: number;
  readonly #timeout: number;
  readonly #pageSize: number;

  constructor(options: S3StoreOptions) {
    const connection = new S3Connection(options);
    this.connection = connection;
    this.bucket = connection.bucket;
    this.layout = keyLayout(options.prefix ?? '');
    this.#multipartThreshold = Math.min(MAX_SINGLE_PUT, options.multipartThreshold ?? MAX_SINGLE_PUT);
    this.#partSize = Math.max(MIN_PART_SIZE, options.partSize ?? 64 * 1024 * 1024);
    this.#concurrency = Math.max(1, options.listConcurrency ?? 16);
    this.#timeout = connection.timeout;
    this.#pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
  }

  /** Where the store is, for logs and messages (no credentials). */
  get location(): string {
    return `s3://${this.bucket}/${this.layout.prefix} at ${this.connection.endpoint}`;
  }

  #context(): Promise<S3Context> {
    return this.connection.context();
  }

  #deadline(): { abortSignal: AbortSignal } {
    return this.connection.deadline();
  }

  /**
   * Checks the bucket is reachable with the credentials and writable, and creates the marker
   * object under the prefix (`create: false`: refuses a prefix without it, for maintenance
   * commands that must not work on a mistyped bucket or prefix). Throws RepositoryError.
   *
   * @example
   * await store.open();                    // serve
   * await store.open({ create: false });   // purge, slots
   */
  async open(options: { create?: boolean } = {}): Promise<void> {
    const { sdk, client } = await this.#context();
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket }), this.#deadline());
    } catch (err) {
      throw new RepositoryError(`S3 bucket ${this.bucket} is not usable: ${describeS3Error(err)}`, { cause: err });
    }
    const marker = this.layout.marker;
    if ((await this.#head(marker)) !== undefined) return;
    if (options.create === false) {
      throw new RepositoryError(
        `${this.location} is not a fileupload repository (no ${marker}; serve creates it on first start)`,
      );
    }
    try {
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: marker,
          Body: JSON.stringify({ format: 'fileupload', version: 1, storage: 's3' }) + '\n',
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
        this.#deadline(),
      );
    } catch (err) {
      if (statusOf(err) === 412 || statusOf(err) === 409) return; // another node was first
      throw new RepositoryError(`S3 bucket ${this.bucket} is not writable: ${describeS3Error(err)}`, { cause: err });
    }
  }

  /**
   * What `fileupload doctor` reports about the bucket, changing nothing that stays: is the bucket
   * reachable with these credentials, is the prefix initialised (marker), and can a probe object
   * be written under the prefix (it is deleted at once).
   *
   * @example
   * const facts = await store.inspect(); // { bucket: { ok: true }, marker: true, writable: { ok: true } }
   */
  async inspect(): Promise<{
    bucket: { ok: true } | { ok: false; message: string; status: number | undefined };
    marker: boolean;
    writable: { ok: true } | { ok: false; message: string; status: number | undefined } | undefined;
  }> {
    const { sdk, client } = await this.#context();
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket }), this.#deadline());
    } catch (err) {
      return {
        bucket: { ok: false, message: describeS3Error(err), status: statusOf(err) },
        marker: false,
        writable: undefined,
      };
    }
    const marker = (await this.#head(this.layout.marker).catch(() => undefined)) !== undefined;
    const probe = `${this.layout.prefix}.doctor-probe-${Math.random().toString(36).slice(2, 10)}`;
    try {
      await client.send(
        new sdk.PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'fileupload doctor\n', IfNoneMatch: '*' }),
        this.#deadline(),
      );
    } catch (err) {
      return {
        bucket: { ok: true },
        marker,
        writable: { ok: false, message: describeS3Error(err), status: statusOf(err) },
      };
    }
    try {
      await this.#deleteKey(probe);
    } catch (err) {
      return {
        bucket: { ok: true },
        marker,
        writable: {
          ok: false,
          message: `wrote ${probe} but cannot delete it: ${describeS3Error(err)}`,
          status: statusOf(err),
        },
      };
    }
    return { bucket: { ok: true }, marker, writable: { ok: true } };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** HEAD of a key: the object facts, or undefined when there is none. */
  async #head(key: string): Promise<(ObjectHead & { etag: string | undefined }) | undefined> {
    const { sdk, client } = await this.#context();
    try {
      const out = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }), this.#deadline());
      return {
        metadata: out.Metadata,
        size: out.ContentLength ?? 0,
        contentType: out.ContentType,
        lastModified: out.LastModified,
        etag: out.ETag,
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A small object's text, or undefined when there is none. */
  async #getText(key: string): Promise<string | undefined> {
    const { sdk, client } = await this.#context();
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }), this.#deadline());
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #deleteKey(key: string): Promise<void> {
    const { sdk, client } = await this.#context();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }), this.#deadline());
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async #slotRecord(id: string): Promise<SlotRecord | undefined> {
    // Only slots have records (direct mode); an imported upload never had one.
    if (!isSlotId(id)) return undefined;
    const text = await this.#getText(slotRecordKey(this.layout, id));
    return text === undefined ? undefined : decodeSlotRecord(text, id);
  }

  /** The metadata of object `id`: its own, else its slot record's (direct mode); undefined if neither. */
  async #metaOf(id: string, head: ObjectHead): Promise<UploadMeta | undefined> {
    if (isTombstone(head)) return undefined;
    const own = metaFromObject(id, head);
    if (own) return own;
    const record = await this.#slotRecord(id);
    return record ? metaFromRecord(record, head) : undefined;
  }

  // ---- write (proxy mode) ----

  async write(
    input: Omit<UploadMeta, 'storedAt'>,
    body: AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<UploadMeta> {
    const key = uploadKey(this.layout, input.id);
    const { signal } = options;
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw new RangeError(`invalid size ${input.size}`);
    if (signal?.aborted) throw new UploadAbortedError({ cause: signal.reason });
    const ctx = await this.#context();
    const existing = await this.#head(key);
    if (existing) throw isTombstone(existing) ? new UploadRemovedError(input.id) : new UploadExistsError(input.id);

    const meta: UploadMeta = { ...input, storedAt: options.storedAt ?? Date.now() };
    // The bytes are not on a local disk: an inspector sees them as they pass (body.ts).
    const feed = options.inspect?.inspectStream(meta);
    const reader = new BodyReader(body, input.size, signal, feed);
    try {
      if (input.size <= this.#multipartThreshold) await this.#putSingle(ctx, key, meta, reader, signal);
      else await this.#putMultipart(ctx, key, meta, reader, signal);
      return meta;
    } catch (err) {
      feed?.abort();
      if (signal?.aborted && !(err instanceof UploadAbortedError) && !(err instanceof UploadExistsError)) {
        throw new UploadAbortedError({ cause: err });
      }
      const mapped = mapWriteError(err, input.id);
      // Taken while this body arrived: by another upload (409) or by `slots rm` (410).
      if (mapped instanceof UploadExistsError) {
        const taken = await this.#head(key).catch(() => undefined);
        if (taken && isTombstone(taken)) throw new UploadRemovedError(input.id);
      }
      throw mapped;
    } finally {
      reader.close();
    }
  }

  /**
   * Sends a request whose body streams from the reader. The AWS SDK neither notices a failing
   * body stream nor stops on it, so a body error (size mismatch, abort, client reset) aborts the
   * request here and is what the call rejects with.
   */
  async #sendStreamed<T>(
    ctx: S3Context,
    make: (body: Readable | Uint8Array) => S3.PutObjectCommand | S3.UploadPartCommand,
    reader: BodyReader,
    length: number,
    last: boolean,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const controller = new AbortController();
    let bodyError: unknown;
    const fail = (err: unknown): void => {
      bodyError ??= err;
      controller.abort(err);
    };
    const onAbort = (): void => fail(new UploadAbortedError({ cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    let stream: Readable | undefined;
    try {
      let body: Readable | Uint8Array;
      if (length === 0) {
        if (last) await reader.expectEnd();
        body = new Uint8Array(0);
      } else {
        stream = reader.stream(length, last);
        stream.on('error', fail);
        body = stream;
      }
      return (await ctx.client.send(make(body) as S3.PutObjectCommand, { abortSignal: controller.signal })) as T;
    } catch (err) {
      throw bodyError ?? err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stream?.destroy();
    }
  }

  async #putSingle(
    ctx: S3Context,
    key: string,
    meta: UploadMeta,
    reader: BodyReader,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { sdk } = ctx;
    await this.#sendStreamed(
      ctx,
      (Body) =>
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body,
          ContentLength: meta.size,
          ContentType: meta.contentType,
          Metadata: encodeUploadMeta(meta),
          // Exclusive create: of concurrent PUTs of one slot exactly one publishes.
          IfNoneMatch: '*',
        }),
      reader,
      meta.size,
      true,
      signal,
    );
  }

  /** Part size for a body: the configured one, grown to stay within 10000 parts. */
  #partSizeFor(size: number): number {
    return Math.max(this.#partSize, Math.ceil(size / MAX_PARTS));
  }

  async #putMultipart(
    ctx: S3Context,
    key: string,
    meta: UploadMeta,
    reader: BodyReader,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { sdk, client } = ctx;
    const created = await client.send(
      new sdk.CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: meta.contentType,
        Metadata: encodeUploadMeta(meta),
      }),
      signal ? { abortSignal: signal } : {},
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error('S3 returned no multipart upload id');
    try {
      const parts: S3.CompletedPart[] = [];
      const partSize = this.#partSizeFor(meta.size);
      for (let n = 1, offset = 0; offset < meta.size; n++) {
        const length = Math.min(partSize, meta.size - offset);
        const last = offset + length === meta.size;
        const out = await this.#sendStreamed<S3.UploadPartCommandOutput>(
          ctx,
          (Body) =>
            new sdk.UploadPartCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: n,
              Body,
              ContentLength: length,
            }),
          reader,
          length,
          last,
          signal,
        );
        parts.push({ PartNumber: n, ETag: out.ETag });
        offset += length;
      }
      // radosgw (16) ignores If-None-Match on completion: check right before (a one-request window).
      if ((await this.#head(key)) !== undefined) throw new UploadExistsError(meta.id);
      if (signal?.aborted) throw new UploadAbortedError({ cause: signal.reason });
      await client.send(
        new sdk.CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: parts },
        }),
        this.#deadline(),
      );
    } catch (err) {
      await client
        .send(
          new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
          this.#deadline(),
        )
        .catch(noop); // purge finds it in listPartial() otherwise
      throw err;
    }
  }

  // ---- read ----

  async stat(id: string): Promise<UploadMeta | undefined> {
    if (!isStoredId(id)) return undefined;
    const head = await this.#head(uploadKey(this.layout, id));
    return head && this.#metaOf(id, head);
  }

  async occupant(id: string): Promise<'upload' | 'tombstone' | undefined> {
    if (!isStoredId(id)) return undefined;
    const head = await this.#head(uploadKey(this.layout, id));
    if (head === undefined) return undefined;
    return isTombstone(head) ? 'tombstone' : 'upload';
  }

  async read(
    id: string,
    select?: ReadSelection | ((meta: UploadMeta) => ReadSelection),
  ): Promise<StoredBody | undefined> {
    if (!isStoredId(id)) return undefined;
    if (select === null) {
      const meta = await this.stat(id);
      // A miss costs one more look, as for a body: a tombstone is removed, not absent.
      if (!meta && (await this.occupant(id)) === 'tombstone') throw new UploadRemovedError(id);
      return meta && { meta, body: emptyBody() };
    }
    const fixed = typeof select === 'function' ? undefined : select;
    if (fixed) checkRange(fixed, Infinity);
    const first = await this.#get(id, fixed);
    if (!first) return undefined;
    const { out, head } = first;
    const body = out.Body as Readable | undefined;
    const drop = (): void => void body?.destroy();
    if (isTombstone(head)) {
      drop();
      throw new UploadRemovedError(id);
    }
    let meta: UploadMeta | undefined;
    try {
      meta = await this.#metaOf(id, head);
    } catch (err) {
      drop();
      throw err;
    }
    if (!meta) {
      drop();
      return undefined;
    }
    if (fixed) {
      try {
        checkRange(fixed, meta.size);
      } catch (err) {
        drop();
        throw err;
      }
      return { meta, body: body ?? emptyBody() };
    }
    let selection: ReadSelection;
    try {
      selection = typeof select === 'function' ? select(meta) : undefined;
      if (selection) checkRange(selection, meta.size);
    } catch (err) {
      drop();
      throw err;
    }
    if (selection === null) {
      drop();
      return { meta, body: emptyBody() };
    }
    if (selection === undefined || (selection.start === 0 && selection.end === meta.size - 1)) {
      return { meta, body: body ?? emptyBody() };
    }
    // A part of the object: the full response goes, a ranged one of the same version comes.
    drop();
    const ranged = await this.#get(id, selection, head.etag);
    if (!ranged) return undefined;
    return { meta, body: (ranged.out.Body as Readable | undefined) ?? emptyBody() };
  }

  /**
   * GET of an upload (optionally a range, optionally only that version); undefined when absent.
   * The deadline covers the wait for the response head only, never the body.
   */
  async #get(
    id: string,
    range: { start: number; end: number } | undefined,
    ifMatch?: string,
  ): Promise<{ out: S3.GetObjectCommandOutput; head: ObjectHead & { etag: string | undefined } } | undefined> {
    const { sdk, client } = await this.#context();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('S3 did not answer in time')), this.#timeout);
    let out: S3.GetObjectCommandOutput;
    try {
      out = await client.send(
        new sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: uploadKey(this.layout, id),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          ...(ifMatch ? { IfMatch: ifMatch } : {}),
        }),
        { abortSignal: controller.signal },
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (statusOf(err) === 416) throw new RangeError(`range ${range?.start}-${range?.end} is outside the upload`);
      // 412: replaced between the two requests (direct mode allows a re-PUT while the slot lasts).
      if (statusOf(err) === 412) return undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    const size = range ? totalFromContentRange(out.ContentRange) : out.ContentLength;
    if (size === undefined) {
      (out.Body as Readable | undefined)?.destroy();
      throw new Error('S3 response without a usable length');
    }
    return {
      out,
      head: {
        metadata: out.Metadata,
        size,
        contentType: out.ContentType,
        lastModified: out.LastModified,
        etag: out.ETag,
      },
    };
  }

  // ---- delete and listings ----

  async delete(id: string): Promise<boolean> {
    if (!isStoredId(id)) return false;
    const key = uploadKey(this.layout, id);
    const head = await this.#head(key);
    // A tombstone is no upload: it stays until dropTombstone.
    if (head && isTombstone(head)) return false;
    const existed = head !== undefined;
    await Promise.all([
      existed ? this.#deleteKey(key) : undefined,
      isSlotId(id) ? this.#deleteKey(slotRecordKey(this.layout, id)) : undefined,
    ]);
    return existed;
  }

  async tombstone(id: string): Promise<UploadMeta | undefined> {
    const key = uploadKey(this.layout, id);
    const { sdk, client } = await this.#context();
    const put = (exclusive: boolean): Promise<unknown> =>
      client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: '',
          Metadata: { ...TOMBSTONE_METADATA },
          ...(exclusive ? { IfNoneMatch: '*' } : {}),
        }),
        this.#deadline(),
      );
    let head = await this.#head(key);
    if (head && isTombstone(head)) return undefined;
    let meta: UploadMeta | undefined;
    if (!head) {
      // Nothing there: created exclusively, so an upload that publishes first is not lost unseen.
      try {
        await put(true);
      } catch (err) {
        if (!(mapWriteError(err, id) instanceof UploadExistsError)) throw err;
        head = await this.#head(key);
      }
    }
    if (head) {
      meta = await this.#metaOf(id, head);
      // An object replaces another in one step: there is no moment without either.
      await put(false);
    }
    if (isSlotId(id)) await this.#deleteKey(slotRecordKey(this.layout, id));
    return meta;
  }

  async dropTombstone(id: string): Promise<boolean> {
    if (!isStoredId(id)) return false;
    const key = uploadKey(this.layout, id);
    const head = await this.#head(key);
    if (!head || !isTombstone(head)) return false;
    await this.#deleteKey(key);
    return true;
  }

  /** Objects under a folder, a page (≤ 1000) at a time, in key order. */
  async *#pages(prefix: string): AsyncGenerator<Listed[]> {
    const { sdk, client } = await this.#context();
    let token: string | undefined;
    do {
      const out = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: this.#pageSize,
          ...(token ? { ContinuationToken: token } : {}),
        }),
        this.#deadline(),
      );
      const page: Listed[] = [];
      for (const o of out.Contents ?? []) {
        if (o.Key !== undefined)
          page.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 });
      }
      if (page.length > 0) yield page;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async *#objects(prefix: string): AsyncGenerator<Listed> {
    for await (const page of this.#pages(prefix)) yield* page;
  }

  /**
   * Every published upload: a paged listing (1000 keys per request) and one HEAD per upload for
   * its metadata (`listConcurrency` at once). Memory holds one page.
   */
  async *list(): AsyncIterable<UploadMeta> {
    for await (const page of this.#pages(this.layout.files)) {
      const metas = await mapLimit(page, this.#concurrency, async (o) => {
        const id = idOfKey(this.layout, o.key);
        if (id === undefined || !o.key.startsWith(this.layout.files)) return undefined;
        return this.stat(id);
      });
      for (const m of metas) if (m) yield m;
    }
  }

  /**
   * Unfinished uploads: incomplete multipart uploads (a failed abort, a crash) and records of
   * direct-mode slots without an upload. A slot record counts from its slot's expiry on
   * (`modifiedAt` = expiresAt), so purge never takes the record of a slot still in use.
   */
  async *listPartial(): AsyncIterable<PartialUpload> {
    yield* this.#multipartUploads();
    yield* this.#unusedSlotRecords();
  }

  async *#multipartUploads(): AsyncGenerator<PartialUpload> {
    const { sdk, client } = await this.#context();
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const out = await client.send(
        new sdk.ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.layout.files,
          MaxUploads: this.#pageSize,
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
        }),
        this.#deadline(),
      );
      for (const u of out.Uploads ?? []) {
        const id = u.Key === undefined ? undefined : idOfKey(this.layout, u.Key);
        if (id === undefined || !u.Key!.startsWith(this.layout.files) || !u.UploadId) continue;
        const parts = await this.#parts(u.Key!, u.UploadId);
        if (parts === undefined) continue; // finished or aborted meanwhile
        // Last write: the newest part (an upload in progress keeps adding parts), else the start.
        const modifiedAt = Math.max(u.Initiated?.getTime() ?? 0, parts.lastModified);
        yield { name: partialName({ kind: 'multipart', id, uploadId: u.UploadId }), size: parts.size, modifiedAt };
      }
      if (!out.IsTruncated) return;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
      if (keyMarker === undefined) return;
    }
  }

  /** Bytes and newest part time of a multipart upload; undefined when it is gone. */
  async #parts(key: string, uploadId: string): Promise<{ size: number; lastModified: number } | undefined> {
    const { sdk, client } = await this.#context();
    let total = 0;
    let lastModified = 0;
    let marker: string | undefined;
    try {
      for (let pages = 0; pages < 10; pages++) {
        const out = await client.send(
          new sdk.ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MaxParts: 1000,
            ...(marker ? { PartNumberMarker: marker } : {}),
          }),
          this.#deadline(),
        );
        for (const p of out.Parts ?? []) {
          total += p.Size ?? 0;
          lastModified = Math.max(lastModified, p.LastModified?.getTime() ?? 0);
        }
        if (!out.IsTruncated || !out.NextPartNumberMarker) break;
        marker = out.NextPartNumberMarker;
      }
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return { size: total, lastModified };
  }

  /**
   * Slot records whose upload does not exist: a merge of the (sorted) listings of slots/ and
   * files/, so a purge needs no request per upload; only the unused records are read.
   */
  async *#unusedSlotRecords(): AsyncGenerator<PartialUpload> {
    let files: AsyncGenerator<Listed> | undefined;
    let current: string | undefined; // id of the files/ entry under the cursor
    let filesDone = false;
    const advanceTo = async (id: string): Promise<boolean> => {
      files ??= this.#objects(this.layout.files);
      while (!filesDone && (current === undefined || current < id)) {
        const r = await files.next();
        if (r.done) filesDone = true;
        else current = idOfKey(this.layout, r.value.key);
      }
      return current === id;
    };
    try {
      for await (const record of this.#objects(this.layout.slots)) {
        const id = idOfKey(this.layout, record.key);
        if (id === undefined) continue;
        if (await advanceTo(id)) continue; // uploaded: the record belongs to a published upload
        const slot = await this.#slotRecord(id).catch(() => undefined);
        if ((await this.#head(uploadKey(this.layout, id))) !== undefined) continue; // uploaded meanwhile
        yield {
          name: partialName({ kind: 'slot', id }),
          size: record.size,
          modifiedAt: slot?.expiresAt ?? record.lastModified,
        };
      }
    } finally {
      await files?.return(undefined);
    }
  }

  async deletePartial(name: string): Promise<boolean> {
    const p = parsePartialName(name);
    if (!p) return false;
    const { sdk, client } = await this.#context();
    if (p.kind === 'multipart') {
      try {
        await client.send(
          new sdk.AbortMultipartUploadCommand({
            Bucket: this.bucket,
            Key: uploadKey(this.layout, p.id),
            UploadId: p.uploadId,
          }),
          this.#deadline(),
        );
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    }
    // The record of a published upload is not a partial: it carries its metadata.
    if ((await this.#head(uploadKey(this.layout, p.id))) !== undefined) return false;
    const key = slotRecordKey(this.layout, p.id);
    if ((await this.#head(key)) === undefined) return false;
    await this.#deleteKey(key);
    return true;
  }

  // ---- direct mode ----

  /**
   * Direct mode: records the slot (`slots/{id}.json`) so that its metadata reaches the store
   * whatever the client sends. Call before handing out the presigned URL.
   *
   * @example
   * hooks.onSlotIssued = (slot) => store.recordSlot(slot);
   */
  async recordSlot(slot: Slot): Promise<void> {
    const { sdk, client } = await this.#context();
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: this.bucket,
        Key: slotRecordKey(this.layout, slot.id),
        Body: encodeSlotRecord(slot),
        ContentType: 'application/json',
      }),
      this.#deadline(),
    );
  }

  /**
   * Direct mode: the slot's PUT URL, a presigned S3 PutObject valid until the slot expires, with
   * Content-Length signed (S3 refuses any other length), Content-Type signed only when the slot
   * has one (legacy clients send none), and the upload's metadata as signed `x-amz-meta-*` query
   * parameters. No checksum parameter is added (the client's body is not known).
   *
   * @example
   * const put = await store.presignPut(slot); // https://s3.example.org/bucket/files/{id}?X-Amz-…
   */
  async presignPut(slot: Slot, now: number = Date.now()): Promise<string> {
    const { sdk, client } = await this.#context();
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    const seconds = Math.min(MAX_PRESIGN_SECONDS, Math.max(1, Math.ceil((slot.expiresAt - now) / 1000)));
    const signed = new Set(['content-length', 'host']);
    if (slot.contentType !== undefined) signed.add('content-type');
    const command = new sdk.PutObjectCommand({
      Bucket: this.bucket,
      Key: uploadKey(this.layout, slot.id),
      ContentLength: slot.size,
      ...(slot.contentType !== undefined ? { ContentType: slot.contentType } : {}),
      Metadata: encodeUploadMeta(slot),
    });
    return getSignedUrl(client, command, { expiresIn: seconds, signableHeaders: signed, signingDate: new Date(now) });
  }
}

/** Throws RangeError unless `r` is a valid range within `size` bytes. */
function checkRange(r: { start: number; end: number }, size: number): void {
  const { start, end } = r;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
    throw new RangeError(`range ${start}-${end} is outside 0-${size - 1}`);
  }
}

/** The total size from `Content-Range: bytes a-b/total`. */
function totalFromContentRange(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /\/(\d+)\s*$/.exec(value);
  return m ? Number(m[1]) : undefined;
}

/** S3 answers that mean "already there" or "full", as the store's errors. */
function mapWriteError(err: unknown, id: string): unknown {
  const status = statusOf(err);
  const name = nameOf(err);
  // 412: If-None-Match failed; 409 ConditionalRequestConflict: a concurrent conditional write won.
  if (status === 412 || (status === 409 && name === 'ConditionalRequestConflict')) return new UploadExistsError(id);
  if (status === 507 || name === 'QuotaExceeded' || name === 'InsufficientStorage')
    return new StorageFullError({ cause: err });
  return err;
}
