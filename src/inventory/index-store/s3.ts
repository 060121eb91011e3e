/**
 * The inventory index kept in the bucket: one object per entry under `{prefix}index/`, folders
 * listed with ListObjectsV2 and a `/` delimiter, a page (1000 names) per request. Every node
 * sharing the bucket sees the same index. A PUT of an object is atomic, so a reader never sees
 * half an entry.
 */
import { statusOf, type S3Connection } from '../../storage/s3/client.ts';
import { keySegments, type IndexStore } from './store.ts';

/**
 * An IndexStore on S3, on the bucket's shared client. `prefix`: where the entries are (the
 * store's `layout.index`), ending with "/".
 *
 * @example
 * const index = new S3IndexStore(store.connection, store.layout.index);
 * await index.put('users/ab/stored/0001.x', '');
 * for await (const name of index.list('users/ab/stored')) console.log(name);
 */
export class S3IndexStore implements IndexStore {
  readonly #connection: S3Connection;
  readonly #bucket: string;
  /** Ends with "/". */
  readonly #prefix: string;
  readonly #pageSize: number;

  /** `pageSize`: names per listing request, default (and at most) 1000. */
  constructor(connection: S3Connection, prefix: string, options: { pageSize?: number } = {}) {
    this.#connection = connection;
    this.#bucket = connection.bucket;
    this.#prefix = prefix;
    this.#pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
  }

  #key(key: string): string {
    return this.#prefix + keySegments(key).join('/');
  }

  async put(key: string, data?: string | Uint8Array): Promise<void> {
    const { sdk, client } = await this.#connection.context();
    await client.send(
      new sdk.PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: data ?? new Uint8Array(0) }),
      this.#connection.deadline(),
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    const { sdk, client } = await this.#connection.context();
    try {
      const out = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
        this.#connection.deadline(),
      );
      return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array(0));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    const { sdk, client } = await this.#connection.context();
    const k = this.#key(key);
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.#bucket, Key: k }), this.#connection.deadline());
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.#bucket, Key: k }), this.#connection.deadline());
    return true;
  }

  async *list(folder: string): AsyncIterable<string> {
    const { sdk, client } = await this.#connection.context();
    const prefix = `${this.#key(folder)}/`;
    let token: string | undefined;
    do {
      const out = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix,
          Delimiter: '/',
          MaxKeys: this.#pageSize,
          ...(token ? { ContinuationToken: token } : {}),
        }),
        this.#connection.deadline(),
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
