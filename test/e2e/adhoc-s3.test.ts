/** The ad-hoc commands with S3 storage in proxy mode (adhoc-suite.ts, one radosgw for the file). */
import { testRadosgw } from '../support/radosgw.ts';
import { adhocSuite } from './adhoc-suite.ts';

const rgw = testRadosgw();

adhocSuite('s3', () => rgw.serveConfig('adhoc/'));
