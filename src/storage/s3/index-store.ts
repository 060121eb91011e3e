/**
 * The inventory index (src/inventory) kept in the bucket: one object per entry under
 * `{prefix}index/`, folders listed with ListObjectsV2 and a `/` delimiter, a page (1000 names)
 * per request. Every node sharing the bucket sees the same index. A PUT of an object is atomic,
 * so a reader never sees half an entry.
 */
import type * as S3 from '@aws-sdk/client-s3';
import { keySegments, type IndexStore } from '../../inventory/index-store.ts';

type Sdk = typeof import('@aws-sdk/client-s3');

const statusOf = (err: unknown): number | undefined =>
  (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;

/**
 * An IndexStore on S3. Obtain it from S3Store.indexStore(), which shares the store's client.
 *
 * @example
 * const index = await s3store.indexStore();
 * await index.put('users/ab/stored/0001.x', '');
 * for await (const name of index.list('users/ab/stored')) console.log(name);
 */
export class S3IndexStore implements IndexStore {
  readonly #sdk: Sdk;
  readonly #client: S3.S3Client;
  readonly #bucket: string;
  /** Ends with "/". */
  readonly #prefix: string;
  readonly #timeout: number;
  readonly #pageSize: number;

  constructor(options: {
    sdk: Sdk;
    client: S3.S3Client;
    bucket: string;
    prefix: string;
    timeout?: number;
    pageSize?: number;
  }) {
    this.#sdk = options.sdk;
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix;
    this.#timeout = options.timeout ?? 30_000;
    this.#pageSize = options.pageSize ?? 1000;
  }

  #key(key: string): string {
    return this.#prefix + keySegments(key).join('/');
  }

  #deadline(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.#timeout) };
  }

  async put(key: string, data?: string | Uint8Array): Promise<void> {
    await this.#client.send(
      new this.#sdk.PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: data ?? new Uint8Array(0) }),
      this.#deadline(),
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.#client.send(
        new this.#sdk.GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
        this.#deadline(),
      );
      return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array(0));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    const k = this.#key(key);
    try {
      await this.#client.send(new this.#sdk.HeadObjectCommand({ Bucket: this.#bucket, Key: k }), this.#deadline());
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
    await this.#client.send(new this.#sdk.DeleteObjectCommand({ Bucket: this.#bucket, Key: k }), this.#deadline());
    return true;
  }

  async *list(folder: string): AsyncIterable<string> {
    const prefix = `${this.#key(folder)}/`;
    let token: string | undefined;
    do {
      const out = await this.#client.send(
        new this.#sdk.ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix,
          Delimiter: '/',
          MaxKeys: this.#pageSize,
          ...(token ? { ContinuationToken: token } : {}),
        }),
        this.#deadline(),
      );
      for (const p of out.CommonPrefixes ?? []) {
        const name = p.Prefix?.slice(prefix.length, -1);
        if (name && !name.startsWith('.')) yield name;
      }
      for (const o of out.Contents ?? []) {
        const name = o.Key?.slice(prefix.length);
        if (name && !name.startsWith('.') && !name.includes('/')) yield name;
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }
}
