/**
 * The S3 store as the configuration describes it (storage = s3). src/repository/open.ts opens it
 * with its index and locks; doctor inspects it.
 */
import type { Settings } from '../../config/settings.ts';
import { RepositoryError } from '../errors.ts';
import type { S3StoreOptions } from './index.ts';

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
