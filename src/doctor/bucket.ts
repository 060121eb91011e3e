/**
 * The repository checks on storage = s3: instead of the folder, the bucket — reachable with the
 * configured credentials, initialised by serve (its marker object under s3Prefix), writable (a
 * probe object is written and deleted at once). `same-filesystem` and `free-space` mean nothing
 * for an object store and are skipped.
 */
import type { Settings } from '../config/settings.ts';
import { fail, pass, skip, warn, type CheckResult } from './result.ts';

/** What the bucket says (see S3Store.inspect()). */
export interface BucketFacts {
  /** s3://bucket/prefix at endpoint (no credentials). */
  location: string;
  bucket: string;
  /** Settings problem that stopped the inspection (no bucket configured, bad prefix). */
  configProblem?: string;
  reachable: { ok: true } | { ok: false; message: string; status: number | undefined };
  marker: boolean;
  writable: { ok: true } | { ok: false; message: string; status: number | undefined } | undefined;
}

/**
 * Inspects the configured bucket (loads the AWS SDK). Leaves nothing behind.
 *
 * @example
 * const facts = await gatherBucketFacts(settings);
 * results.push(...bucketVerdicts(facts));
 */
export async function gatherBucketFacts(settings: Settings, timeoutMs = 10_000): Promise<BucketFacts> {
  const [{ S3Store }, { s3OptionsFrom }] = await Promise.all([
    import('../storage/s3/index.ts'),
    import('../storage/s3/settings.ts'),
  ]);
  const bucket = settings.s3Bucket ?? '';
  let store;
  try {
    store = new S3Store({ ...s3OptionsFrom(settings), requestTimeout: timeoutMs });
  } catch (err) {
    return {
      location: `s3://${bucket}/`,
      bucket,
      configProblem: (err as Error).message,
      reachable: { ok: false, message: (err as Error).message, status: undefined },
      marker: false,
      writable: undefined,
    };
  }
  try {
    const facts = await store.inspect();
    return {
      location: store.location,
      bucket,
      reachable: facts.bucket,
      marker: facts.marker,
      writable: facts.writable,
    };
  } catch (err) {
    return {
      location: store.location,
      bucket,
      reachable: { ok: false, message: (err as Error).message, status: undefined },
      marker: false,
      writable: undefined,
    };
  } finally {
    await store.close();
  }
}

/**
 * The `repository`, `same-filesystem` and `free-space` verdicts for a bucket. Pure.
 *
 * @example
 * bucketVerdicts({ ...facts, reachable: { ok: false, message: 'NoSuchBucket (HTTP 404)', status: 404 } })[0].status; // 'fail'
 */
export function bucketVerdicts(f: BucketFacts, configCli = 'fileupload'): CheckResult[] {
  return [
    bucketVerdict(f, configCli),
    skip('same-filesystem', 'storage is s3: no filesystem to look at'),
    skip('free-space', 'storage is s3: the object store manages its space (see maxRepoSize for a cap)'),
  ];
}

function bucketVerdict(f: BucketFacts, configCli: string): CheckResult {
  const C = 'repository';
  if (f.configProblem !== undefined)
    return fail(C, f.configProblem, `${configCli} config set s3Bucket NAME (and s3AccessKey/s3SecretKey together)`);
  if (!f.reachable.ok) {
    const { message, status } = f.reachable;
    if (status === 404)
      return fail(
        C,
        `bucket ${f.bucket} does not exist (${message})`,
        `create it (aws s3api create-bucket --bucket ${f.bucket}) or correct s3Bucket`,
      );
    if (status === 403 || status === 401) {
      return fail(
        C,
        `${f.location}: access denied (${message})`,
        'check s3AccessKey/s3SecretKey and the bucket policy (ListBucket, GetObject, PutObject, DeleteObject)',
      );
    }
    return fail(
      C,
      `${f.location} is not reachable: ${message}`,
      'check s3Endpoint, s3Region and the network path to the store',
    );
  }
  if (f.writable && !f.writable.ok) {
    return fail(
      C,
      `${f.location}: cannot write a probe object (${f.writable.message})`,
      'give the S3 user PutObject and DeleteObject on the bucket',
    );
  }
  if (!f.marker)
    return warn(
      C,
      `${f.location} is reachable and writable but not initialised (no marker object)`,
      'start serve once: it creates the marker; until then purge and slots refuse the bucket',
    );
  return pass(C, `${f.location} is reachable and writable (a probe object was written and deleted)`);
}
