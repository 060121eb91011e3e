/**
 * What the S3 tests share: one throw-away radosgw (scripts/testservers/ceph.ts) for a test file or
 * suite, started on first use and stopped after it, S3 stores and bare SDK clients on its bucket,
 * and a slot record to store there.
 */
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { startRadosgw, type RadosgwServer } from '../../scripts/testservers/ceph.ts';
import { newSlotId } from '../../src/slots/id.ts';
import type { Slot } from '../../src/slots/slot.ts';
import { S3Store, type S3StoreOptions } from '../../src/storage/s3/index.ts';
import type { ServeConfig } from './serve.ts';

/** A radosgw shared by the tests of one file or suite; whichever call comes first starts it. */
export interface TestRadosgw {
  /** The running radosgw: endpoint, keys, bucket, temp dir. */
  server(): Promise<RadosgwServer>;
  /** An S3Store on its bucket (not opened), under a prefix of its own unless `over` names one. */
  store(over?: Partial<S3StoreOptions>): Promise<S3Store>;
  /** A bare SDK client with its keys, for what a store does not do; the caller destroys it. */
  client(): Promise<S3Client>;
  /** serve's storage properties for its bucket under `s3Prefix`, in proxy mode. */
  serveConfig(s3Prefix: string): Promise<ServeConfig>;
}

/**
 * A radosgw for the calling test file or suite: its after() hook closes the stores made here and
 * stops the radosgw, if one was started.
 *
 * @example
 * const rgw = testRadosgw();
 * test('…', async () => {
 *   const store = await rgw.store();
 *   await store.open();
 * });
 */
export function testRadosgw(): TestRadosgw {
  let started: Promise<RadosgwServer> | undefined;
  const stores: S3Store[] = [];
  const server = (): Promise<RadosgwServer> => (started ??= startRadosgw());
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    if (started) await (await started).stop();
  });
  return {
    server,
    async store(over = {}) {
      const r = await server();
      const store = new S3Store({
        endpoint: r.endpoint,
        region: r.region,
        bucket: r.bucket,
        accessKey: r.accessKey,
        secretKey: r.secretKey,
        forcePathStyle: true,
        prefix: `t-${randomBytes(6).toString('hex')}`,
        ...over,
      });
      stores.push(store);
      return store;
    },
    async client() {
      const r = await server();
      return new S3Client({
        endpoint: r.endpoint,
        region: r.region,
        forcePathStyle: true,
        credentials: { accessKeyId: r.accessKey, secretAccessKey: r.secretKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    },
    async serveConfig(s3Prefix) {
      const r = await server();
      return {
        storage: 's3',
        s3Endpoint: r.endpoint,
        s3Bucket: r.bucket,
        s3Region: r.region,
        s3AccessKey: r.accessKey,
        s3SecretKey: r.secretKey,
        s3Prefix,
        s3UploadMode: 'proxy',
      };
    },
  };
}

/**
 * A slot that is valid for five minutes from now, with a non-ASCII name and uploader.
 *
 * @example
 * const slot = slotOf({ expiresAt: Date.now() - 1 });
 */
export function slotOf(over: Partial<Slot> = {}): Slot {
  const now = Date.now();
  return {
    id: newSlotId(),
    filename: 'Grüße 1.txt',
    size: 5,
    uploader: 'zoë@example.org',
    issuedAt: now,
    expiresAt: now + 300_000,
    purpose: 'message',
    ...over,
  };
}
