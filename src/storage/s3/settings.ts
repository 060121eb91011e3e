/**
 * The S3 store as the configuration describes it (storage = s3): for serve and for the
 * maintenance commands (purge, slots), which open an existing repository only.
 */
import type { Settings } from '../../config/settings.ts';
import { RepositoryError } from '../errors.ts';
import type { S3IndexStore } from './index-store.ts';
import type { S3Store, S3StoreOptions } from './index.ts';

/**
 * The S3 store options of a configuration.
 *
 * @example
 * new S3Store(s3OptionsFrom(settings));
 */
export function s3OptionsFrom(settings: Settings): S3StoreOptions {
  if (settings.s3Bucket === undefined)
    throw new RepositoryError('plugin.httpfileupload.s3Bucket is not set but storage is s3');
  return {
    bucket: settings.s3Bucket,
    region: settings.s3Region,
    prefix: settings.s3Prefix,
    forcePathStyle: settings.s3ForcePathStyle,
    ...(settings.s3Endpoint !== undefined ? { endpoint: settings.s3Endpoint } : {}),
    ...(settings.s3AccessKey !== undefined && settings.s3SecretKey !== undefined
      ? { accessKey: settings.s3AccessKey, secretKey: settings.s3SecretKey }
      : {}),
  };
}

/**
 * Opens the configured bucket (loading the AWS SDK) and its inventory index. `create: false`
 * (maintenance) refuses a bucket/prefix that serve never initialised. Throws RepositoryError
 * naming the problem; closes the store on failure.
 *
 * @example
 * const { store, index } = await openS3(settings, { create: false });
 * const ledger = new Ledger(index);
 */
export async function openS3(
  settings: Settings,
  options: { create?: boolean } = {},
): Promise<{ store: S3Store; index: S3IndexStore }> {
  const { S3Store } = await import('./index.ts');
  const store = new S3Store(s3OptionsFrom(settings));
  try {
    await store.open(options);
    return { store, index: await store.indexStore() };
  } catch (err) {
    await store.close();
    throw err;
  }
}
