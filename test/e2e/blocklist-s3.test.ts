/**
 * Taking a file down on S3 in proxy mode (blocklist-suite.ts, one radosgw for the file); in
 * direct mode the command says that uploads going straight to the bucket are not checked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir } from '../../scripts/testservers/processes.ts';
import { openfireXml, runFileupload, type ServeConfig } from '../support/serve.ts';
import { testRadosgw } from '../support/radosgw.ts';
import { blocklistE2eSuite } from './blocklist-suite.ts';

const rgw = testRadosgw();
let s3: ServeConfig | undefined;

blocklistE2eSuite('s3', async () => {
  s3 = await rgw.serveConfig('takedown/');
  return s3;
});

describe('blocklist add in S3 direct mode', () => {
  it('says that uploads straight to the bucket are not checked against the blocklist', async () => {
    assert.ok(s3, 'the bucket prefix serve initialised above');
    const dir = mkdtempSync(join(tmpdir(), 'fileupload-blocklist-direct-'));
    trackDir(dir);
    const file = join(dir, 'openfire.xml');
    writeFileSync(file, openfireXml({ ...s3, s3UploadMode: 'direct', domain: 'upload.localhost' }), { mode: 0o600 });
    const sha = 'b'.repeat(64);
    const add = await runFileupload(['--config', file, 'blocklist', 'add', sha, '--size', '1']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(
      add.stderr,
      /s3UploadMode is direct: clients PUT straight to the bucket, where the blocklist is not checked/,
    );
    assert.equal((await runFileupload(['--config', file, 'blocklist', 'rm', sha])).code, 0);
  });
});
