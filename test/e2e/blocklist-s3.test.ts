/** Taking a file down on S3 in proxy mode (blocklist-suite.ts, one radosgw for the file). */
import { testRadosgw } from '../support/radosgw.ts';
import { blocklistE2eSuite } from './blocklist-suite.ts';

const rgw = testRadosgw();

blocklistE2eSuite('s3', async () => {
  const r = await rgw.server();
  return {
    storage: 's3',
    s3Endpoint: r.endpoint,
    s3Bucket: r.bucket,
    s3Region: r.region,
    s3AccessKey: r.accessKey,
    s3SecretKey: r.secretKey,
    s3Prefix: 'takedown/',
    s3UploadMode: 'proxy',
  };
});
