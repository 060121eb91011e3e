/**
 * One S3 client for one bucket, shared by everything a deployment keeps there: the upload store
 * (index.ts), the inventory index (src/inventory/index-store/s3.ts), and through conditional.ts
 * the locks and the cluster's shared configuration. The AWS SDK is loaded on first use, so that
 * commands that never touch S3 stay fast.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type * as S3 from '@aws-sdk/client-s3';

type Sdk = typeof import('@aws-sdk/client-s3');

/** How to reach the bucket. */
export interface S3ConnectionOptions {
  bucket: string;
  /** Default us-east-1 (radosgw accepts any region of its zonegroup). */
  region?: string;
  /** e.g. http://127.0.0.1:7480; default: AWS's endpoint for the region. */
  endpoint?: string;
  /** Both or neither; neither = the AWS SDK's default chain (environment, profile, instance role). */
  accessKey?: string;
  secretKey?: string;
  /** Path-style URLs (http://host/bucket/key), needed by radosgw and most self-hosted stores. */
  forcePathStyle?: boolean;
  /** Deadline of each metadata request (HEAD, DELETE, listing, small objects), ms; default 30 s. */
  requestTimeout?: number;
}

/** The loaded SDK and the client built with it. */
export interface S3Context {
  sdk: Sdk;
  client: S3.S3Client;
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * HTTP status of an SDK error, if it came from a response.
 *
 * @example
 * if (statusOf(err) === 404) return undefined;
 */
export function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/**
 * A bucket and the one client every user of it shares (nothing is loaded or contacted before the
 * first request). Closing it destroys the client for all of them.
 *
 * @example
 * const connection = new S3Connection({ endpoint: 'http://127.0.0.1:7480', bucket: 'uploads', forcePathStyle: true });
 * const objects = new S3ConditionalObjects(connection);
 * await objects.putIfAbsent('fu/cluster/openfire.xml', doc, 'application/xml');
 * await connection.close();
 */
export class S3Connection {
  readonly bucket: string;
  /** Deadline of one metadata request (ms). */
  readonly timeout: number;
  readonly #options: S3ConnectionOptions;
  #ctx: Promise<S3Context> | undefined;
  #closed = false;

  constructor(options: S3ConnectionOptions) {
    if ((options.accessKey === undefined) !== (options.secretKey === undefined)) {
      throw new RangeError('S3 access key and secret key go together');
    }
    this.#options = options;
    this.bucket = options.bucket;
    this.timeout = options.requestTimeout ?? 30_000;
  }

  /** The endpoint, or AWS and its region, for messages (no credentials). */
  get endpoint(): string {
    return this.#options.endpoint ?? `AWS ${this.#options.region ?? 'us-east-1'}`;
  }

  /** Loads the SDK and builds the client once. */
  context(): Promise<S3Context> {
    if (this.#closed) return Promise.reject(new Error('S3 connection is closed'));
    this.#ctx ??= (async () => {
      const sdk = await import('@aws-sdk/client-s3');
      const o = this.#options;
      const client = new sdk.S3Client({
        region: o.region ?? 'us-east-1',
        ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
        forcePathStyle: o.forcePathStyle ?? false,
        ...(o.accessKey !== undefined && o.secretKey !== undefined
          ? { credentials: { accessKeyId: o.accessKey, secretAccessKey: o.secretKey } }
          : {}),
        // The SDK default adds CRC32 checksums: streamed PutObject then fails (411) on radosgw,
        // and presigned URLs get an empty-body x-amz-checksum-crc32 that real S3 rejects.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // Failed streamed requests would otherwise be reported with console.warn.
        logger: quietLogger,
        requestHandler: {
          connectionTimeout: 10_000,
          // Concurrent uploads and downloads each hold a connection: the default 50 would queue them.
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 1024 }),
          httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 1024 }),
        },
      });
      return { sdk, client };
    })();
    return this.#ctx;
  }

  /** A deadline for one metadata request. */
  deadline(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.timeout) };
  }

  /** Destroys the client (its sockets); later requests fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ctx = this.#ctx;
    this.#ctx = undefined;
    if (ctx) (await ctx.catch(() => undefined))?.client.destroy();
  }
}
