/**
 * Small objects written with preconditions — the one primitive S3 offers for coordination between
 * nodes that share nothing but the bucket: `If-None-Match: *` (create only if absent) and
 * `If-Match: <etag>` (replace only the version that was read). Both are checked atomically by AWS
 * S3 and by radosgw (Pacific 16.2: of 20 concurrent conditional PUTs exactly one succeeds; the
 * test in conditional.test.ts checks it on a real radosgw).
 *
 * radosgw 16 compares If-Match byte-wise with the stored ETag, which carries no quotes, so a
 * quoted ETag (what the SDK returns, what RFC 9110 and AWS use) never matches there. putIfMatch()
 * therefore sends the ETag unquoted; when that is refused although the object still has that very
 * ETag (a store that wants quotes), it retries once quoted. DeleteObject's If-Match is ignored by
 * radosgw 16 — so nothing here deletes conditionally; users of this module replace objects
 * instead of deleting them (src/lock/s3.ts writes a "released" version), and delete() is
 * only for objects nobody can write any more (src/purge/claim-sweep.ts).
 */
import { statusOf, type S3Connection } from './client.ts';

/** A small object as read: its text and the ETag that a conditional write names. */
export interface VersionedText {
  text: string;
  etag: string;
  /** Last-Modified (ms since epoch) as the store's clock says. */
  lastModified: number | undefined;
}

/**
 * A conditional write lost: the object exists (If-None-Match) or was replaced (If-Match).
 *
 * @example
 * if (err instanceof PreconditionFailedError) reread();
 */
export class PreconditionFailedError extends Error {
  constructor(key: string) {
    super(`${key} was changed by someone else`);
    this.name = 'PreconditionFailedError';
  }
}

/** Bounded retries of a write that keeps losing races (each retry re-reads). */
const MAX_TRIES = 20;

/**
 * Read-modify-write of one small object, so that two changes at once on two nodes both land:
 * `edit` gets the current text (undefined: no object yet) and returns the text to write, or
 * undefined for "nothing to write"; the write carries `If-Match: <ETag read>` (`If-None-Match: *`
 * when there was none) and is retried from a fresh read, after a short random pause, when
 * another writer won. Resolves to the text written, or undefined when nothing was.
 *
 * @example
 * await changeObject(objects, 'fu/blocklist.json', 'application/json', (text) => add(text, entry));
 */
export async function changeObject(
  objects: ConditionalObjects,
  key: string,
  contentType: string,
  edit: (text: string | undefined) => string | undefined,
): Promise<string | undefined> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const current = await objects.get(key);
    const next = edit(current?.text);
    if (next === undefined || next === current?.text) return undefined;
    try {
      if (current) await objects.putIfMatch(key, current.etag, next, contentType);
      else await objects.putIfAbsent(key, next, contentType);
      return next;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 80)));
    }
  }
  throw new Error(`${objects.location}${key}: changed by others ${MAX_TRIES} times in a row; try again`);
}

/** The operations coordination needs (an interface, so tests can use an in-memory twin). */
export interface ConditionalObjects {
  /** Where the objects are, for messages: what a key is appended to (`s3://bucket/`). */
  readonly location: string;
  /** The object's text and ETag; undefined when there is none. */
  get(key: string): Promise<VersionedText | undefined>;
  /** Just the ETag (a HEAD); undefined when there is none. */
  etag(key: string): Promise<string | undefined>;
  /** Creates the object unless it exists; returns the new ETag. PreconditionFailedError when it exists. */
  putIfAbsent(key: string, text: string, contentType?: string): Promise<string>;
  /** Replaces the object if it still has `etag`; returns the new ETag. PreconditionFailedError otherwise. */
  putIfMatch(key: string, etag: string, text: string, contentType?: string): Promise<string>;
  /** The keys under `prefix`, page by page. */
  list(prefix: string): AsyncIterable<string>;
  /** Deletes the object, whatever its version (no precondition: see above); a missing one is no error. */
  delete(key: string): Promise<void>;
}

const nameOf = (err: unknown): string | undefined => (err as { name?: string } | null)?.name;
const isNotFound = (err: unknown): boolean =>
  statusOf(err) === 404 || ['NotFound', 'NoSuchKey'].includes(nameOf(err) ?? '');
/** 412, or 409 ConditionalRequestConflict (AWS: a concurrent conditional write is in progress). */
const lostRace = (err: unknown): boolean =>
  statusOf(err) === 412 || (statusOf(err) === 409 && nameOf(err) === 'ConditionalRequestConflict');
const unquote = (etag: string): string => etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

/**
 * ConditionalObjects in a bucket, on its shared client.
 *
 * @example
 * const objects = new S3ConditionalObjects(store.connection);
 * const etag = await objects.putIfAbsent('fu/locks/purge.lock', JSON.stringify(owner));
 */
export class S3ConditionalObjects implements ConditionalObjects {
  readonly location: string;
  readonly #connection: S3Connection;
  readonly #bucket: string;

  constructor(connection: S3Connection) {
    this.#connection = connection;
    this.#bucket = connection.bucket;
    this.location = `s3://${connection.bucket}/`;
  }

  async get(key: string): Promise<VersionedText | undefined> {
    const { sdk, client } = await this.#connection.context();
    try {
      const out = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.#bucket, Key: key }),
        this.#connection.deadline(),
      );
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      return { text, etag: out.ETag ?? '', lastModified: out.LastModified?.getTime() };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async etag(key: string): Promise<string | undefined> {
    const { sdk, client } = await this.#connection.context();
    try {
      const out = await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.#bucket, Key: key }),
        this.#connection.deadline(),
      );
      return out.ETag ?? '';
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #put(
    key: string,
    text: string,
    contentType: string,
    condition: { IfNoneMatch: string } | { IfMatch: string },
  ): Promise<string> {
    const { sdk, client } = await this.#connection.context();
    try {
      const out = await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: text,
          ContentType: contentType,
          ...condition,
        }),
        this.#connection.deadline(),
      );
      return out.ETag ?? '';
    } catch (err) {
      if (lostRace(err)) throw new PreconditionFailedError(key);
      throw err;
    }
  }

  putIfAbsent(key: string, text: string, contentType = 'application/json'): Promise<string> {
    return this.#put(key, text, contentType, { IfNoneMatch: '*' });
  }

  async putIfMatch(key: string, etag: string, text: string, contentType = 'application/json'): Promise<string> {
    const bare = unquote(etag);
    try {
      return await this.#put(key, text, contentType, { IfMatch: bare });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      // Refused: either the object changed, or this store wants the ETag quoted.
      const now = await this.etag(key);
      if (now === undefined || unquote(now) !== bare) throw err;
      return this.#put(key, text, contentType, { IfMatch: `"${bare}"` });
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const { sdk, client } = await this.#connection.context();
    let token: string | undefined;
    for (;;) {
      const out = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
        this.#connection.deadline(),
      );
      for (const o of out.Contents ?? []) if (o.Key !== undefined) yield o.Key;
      if (!out.IsTruncated || !out.NextContinuationToken) return;
      token = out.NextContinuationToken;
    }
  }

  async delete(key: string): Promise<void> {
    const { sdk, client } = await this.#connection.context();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.#bucket, Key: key }), this.#connection.deadline());
  }
}

/**
 * An in-memory ConditionalObjects (unit tests of the lock and the shared configuration).
 *
 * @example
 * const objects = new MemoryConditionalObjects();
 */
export class MemoryConditionalObjects implements ConditionalObjects {
  readonly location = 'memory://';
  readonly objects = new Map<string, VersionedText>();
  #n = 0;

  async get(key: string): Promise<VersionedText | undefined> {
    const o = this.objects.get(key);
    return o ? { ...o } : undefined;
  }
  async etag(key: string): Promise<string | undefined> {
    return this.objects.get(key)?.etag;
  }
  #store(key: string, text: string): string {
    const etag = `"${++this.#n}"`;
    this.objects.set(key, { text, etag, lastModified: Date.now() });
    return etag;
  }
  async putIfAbsent(key: string, text: string): Promise<string> {
    if (this.objects.has(key)) throw new PreconditionFailedError(key);
    return this.#store(key, text);
  }
  async putIfMatch(key: string, etag: string, text: string): Promise<string> {
    if (this.objects.get(key)?.etag !== etag) throw new PreconditionFailedError(key);
    return this.#store(key, text);
  }
  async *list(prefix: string): AsyncIterable<string> {
    for (const key of [...this.objects.keys()].sort()) if (key.startsWith(prefix)) yield key;
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}
