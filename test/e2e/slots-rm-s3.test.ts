/**
 * `slots rm` means gone on S3 in proxy mode (slots-rm-suite.ts, one radosgw for the file); in
 * direct mode the command says that presigned PUT URLs cannot be revoked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir } from '../../scripts/testservers/processes.ts';
import { newSlotId } from '../../src/slots/id.ts';
import { openfireXml, runFileupload, type ServeConfig } from '../support/serve.ts';
import { testRadosgw } from '../support/radosgw.ts';
import { slotsRmSuite } from './slots-rm-suite.ts';

const rgw = testRadosgw();
let s3: ServeConfig | undefined;

slotsRmSuite('s3', async () => {
  s3 = await rgw.serveConfig('rm/');
  return s3;
});

describe('slots rm in S3 direct mode', () => {
  it('says that the presigned PUT URLs of removed slots stay valid until they expire', async () => {
    assert.ok(s3, 'the bucket prefix serve initialised above');
    const dir = mkdtempSync(join(tmpdir(), 'fileupload-rm-direct-'));
    trackDir(dir);
    const file = join(dir, 'openfire.xml');
    writeFileSync(file, openfireXml({ ...s3, s3UploadMode: 'direct', domain: 'upload.localhost' }), { mode: 0o600 });
    const r = await runFileupload(['--config', file, 'slots', 'rm', newSlotId()]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /s3UploadMode is direct: the presigned PUT URLs of removed slots cannot be revoked/);
    const dry = await runFileupload(['--config', file, 'slots', 'rm', '--dry-run', newSlotId()]);
    assert.doesNotMatch(dry.stderr, /cannot be revoked/, 'a dry run changes nothing and needs no note');
  });
});
