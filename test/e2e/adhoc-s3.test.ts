/** The ad-hoc commands with S3 storage in proxy mode (adhoc-suite.ts, one radosgw for the file). */
import { testRadosgw } from '../support/radosgw.ts';
import { adhocSuite } from './adhoc-suite.ts';

const rgw = testRadosgw();

adhocSuite('s3', async () => {
  const r = await rgw.server();
  return {
    storage: 's3',
    s3Endpoint: r.endpoint,
    s3Bucket: r.bucket,
    s3Region: r.region,
    s3AccessKey: r.accessKey,
    s3SecretKey: r.secretKey,
    s3Prefix: 'adhoc/',
    s3UploadMode: 'proxy',
  };
});
