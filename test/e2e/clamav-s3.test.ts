/**
 * Malware scanning end to end on S3 storage in proxy mode: a real clamd, a real Ceph radosgw,
 * the real serve and Prosody. The bytes never touch a local disk: they are scanned as they pass
 * on to the bucket, and the object is only completed once clamd has called them clean (the
 * multipart path is covered by the store contract, src/storage/s3/index.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startRadosgw, type RadosgwServer } from '../../scripts/testservers/ceph.ts';
import {
  clamdMissing,
  EICAR,
  EICAR_SIGNATURE,
  startClamd,
  type ClamdTestServer,
} from '../../scripts/testservers/clamd.ts';
import { writeFileSync } from 'node:fs';
import { freePort } from '../../scripts/testservers/processes.ts';
import { http, randomFile, sha256 } from '../support/http.ts';
import { openfireXml, runFileupload, type ServeConfig } from '../support/serve.ts';
import { BLOCKLIST_MAX_AGE } from '../../src/blocklist/open.ts';
import { mustGetSlot, putToSlot, startStack, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0 } from '../support/xmpp-client.ts';

const MiB = 1024 * 1024;
const PREFIX = 'clamav/';

describe('ClamAV before publish on S3 in proxy mode (clamd, radosgw, serve, Prosody)', { skip: clamdMissing() }, () => {
  let clamd: ClamdTestServer;
  let rgw: RadosgwServer;
  let stack: Stack;
  let s3: S3Client;

  before(async () => {
    [clamd, rgw] = await Promise.all([startClamd({ streamMaxLength: 16 * MiB }), startRadosgw()]);
    stack = await startStack('prosody', {
      maxFileSize: 16 * MiB,
      storage: 's3',
      s3Endpoint: rgw.endpoint,
      s3Bucket: rgw.bucket,
      s3Region: rgw.region,
      s3AccessKey: rgw.accessKey,
      s3SecretKey: rgw.secretKey,
      s3Prefix: PREFIX,
      s3UploadMode: 'proxy',
      clamavEnabled: 'true',
      clamavHost: clamd.host,
      clamavPort: clamd.port,
      clamavStreamMaxLength: 16 * MiB,
    });
    s3 = new S3Client({
      endpoint: rgw.endpoint,
      region: rgw.region,
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
    });
  });
  after(async () => {
    s3?.destroy();
    await stack?.stop();
    await Promise.all([rgw?.stop(), clamd?.stop()]);
  });

  const inBucket = async (id: string): Promise<boolean> => {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: rgw.bucket, Key: `${PREFIX}files/${id}` }));
      return true;
    } catch {
      return false;
    }
  };

  /** Rewrites the config with `over` on top of the first start's and reloads serve. */
  const reload = async (over: ServeConfig): Promise<void> => {
    const from = stack.serve.logLines().length;
    writeFileSync(stack.serve.configFile, openfireXml({ ...stack.config, ...over }));
    process.kill(stack.serve.pid, 'SIGHUP');
    await stack.serve.waitForLog('configuration reloaded', { from });
  };

  const upload = async (file: Buffer, filename: string) => {
    const slot = await mustGetSlot(stack.alice, stack.service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename,
      size: file.length,
    });
    const put = await putToSlot(slot, file);
    return { slot, put, id: new URL(slot.get).pathname.split('/').at(-2)! };
  };

  it('EICAR, alone or at the end of 6 MiB, is refused with 422: no object in the bucket, never served', async () => {
    for (const [name, file] of [
      ['eicar.com', EICAR],
      ['large-infected.bin', Buffer.concat([randomFile(6 * MiB), EICAR])],
    ] as const) {
      const { slot, put, id } = await upload(file, name);
      assert.equal(put.status, 422, `${name}: ${put.body.toString()}`);
      assert.match(put.body.toString(), new RegExp(`malware found \\(${EICAR_SIGNATURE}`));
      assert.equal(await inBucket(id), false, `${name}: no object in the bucket`);
      assert.equal((await http(slot.get)).status, 404, `${name}: never served`);
    }
  });

  it('with the blocklist too: blocked bytes refused 403 (small and 6 MiB), malware 422, clean 201', async () => {
    const small = randomFile(4000);
    const large = randomFile(6 * MiB);
    const cli = (...args: string[]) => runFileupload(['--config', stack.serve.configFile, ...args]);
    for (const f of [small, large]) assert.equal((await cli('blocklist', 'add', sha256(f))).code, 0);
    // Serve looks at the blocklist again at the next upload after BLOCKLIST_MAX_AGE.
    await new Promise((r) => setTimeout(r, BLOCKLIST_MAX_AGE.s3 + 200));
    for (const [name, file] of [
      ['blocked-small.bin', small],
      ['blocked-large.bin', large],
    ] as const) {
      const { slot, put, id } = await upload(file, name);
      assert.equal(put.status, 403, `${name}: ${put.body.toString()}`);
      assert.equal(put.body.toString().trim(), 'blocked content');
      assert.equal(await inBucket(id), false, `${name}: no object in the bucket`);
      assert.equal((await http(slot.get)).status, 404, `${name}: never served`);
    }
    assert.equal((await upload(EICAR, 'eicar-too.com')).put.status, 422);
    const clean = await upload(randomFile(4000), 'clean-too.bin');
    assert.equal(clean.put.status, 201, clean.put.body.toString());
    for (const f of [small, large]) assert.equal((await cli('blocklist', 'rm', sha256(f))).code, 0);
  });

  it('clean files are published to the bucket and served byte-identical', async () => {
    for (const size of [1000, 6 * MiB]) {
      const file = randomFile(size);
      const { slot, put, id } = await upload(file, `clean-${size}.bin`);
      assert.equal(put.status, 201, put.body.toString());
      assert.equal(await inBucket(id), true);
      const got = await http(slot.get);
      assert.equal(got.status, 200);
      assert.equal(got.bodySha256, sha256(file));
    }
  });

  it('refused before the body is in: clamd down (503, Retry-After), larger than clamavStreamMaxLength (413); no object', async () => {
    const file = randomFile(2 * MiB);
    try {
      await reload({ clamavPort: await freePort() });
      const down = await upload(file, 'while-down.bin');
      assert.equal(down.put.status, 503, `${down.put.error ?? ''} ${down.put.body.toString()}`);
      assert.ok(Number(down.put.headers['retry-after']) > 0, 'Retry-After');
      // Answered while most of the body was unread: the connection closes after the answer.
      assert.equal(down.put.headers.connection, 'close');
      assert.equal(await inBucket(down.id), false);

      await reload({ clamavStreamMaxLength: '1M' });
      const large = await upload(file, 'too-large.bin');
      assert.equal(large.put.status, 413, `${large.put.error ?? ''} ${large.put.body.toString()}`);
      assert.equal(large.put.headers.connection, 'close');
      assert.equal(await inBucket(large.id), false);
      assert.equal((await http(large.slot.get)).status, 404);
    } finally {
      await reload({});
    }
  });
});
