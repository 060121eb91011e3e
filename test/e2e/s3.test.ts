/**
 * serve with storage = s3 on a real Ceph radosgw, through Prosody and a real XMPP client:
 * slot → PUT → GET in proxy mode (bytes through serve, into the bucket) and, after switching
 * s3UploadMode to direct with a SIGHUP, in direct mode (the PUT URL is a presigned radosgw URL;
 * serve never sees the bytes, yet serves them with its own safe headers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startRadosgw, type RadosgwServer } from '../../scripts/testservers/ceph.ts';
import { http, randomFile, sha256 } from '../support/http.ts';
import { openfireXml, serveConfigFor, startServe } from '../support/serve.ts';
import { mustGetSlot, putToSlot, startStack, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0, NS_UPLOAD_SIACS, type SlotRequestSpec } from '../support/xmpp-client.ts';

const MiB = 1024 * 1024;
const PREFIX = 'e2e/';

describe('serve on S3 (radosgw) through Prosody', () => {
  let rgw: RadosgwServer;
  let stack: Stack;
  let s3: S3Client;

  before(async () => {
    rgw = await startRadosgw();
    stack = await startStack('prosody', {
      maxFileSize: 8 * MiB,
      storage: 's3',
      s3Endpoint: rgw.endpoint,
      s3Bucket: rgw.bucket,
      s3Region: rgw.region,
      s3AccessKey: rgw.accessKey,
      s3SecretKey: rgw.secretKey,
      s3Prefix: PREFIX,
      s3UploadMode: 'proxy',
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
    await rgw?.stop();
  });

  const idOf = (getUrl: string): string => new URL(getUrl).pathname.split('/').at(-2)!;
  const inBucket = async (id: string): Promise<number | undefined> => {
    try {
      return (await s3.send(new HeadObjectCommand({ Bucket: rgw.bucket, Key: `${PREFIX}files/${id}` }))).ContentLength;
    } catch {
      return undefined;
    }
  };

  /** Switches s3UploadMode in the config file and reloads serve (SIGHUP). */
  const setMode = async (mode: 'proxy' | 'direct'): Promise<void> => {
    const from = stack.serve.logLines().length;
    writeFileSync(stack.serve.configFile, openfireXml({ ...stack.config, s3UploadMode: mode }));
    process.kill(stack.serve.pid, 'SIGHUP');
    await stack.serve.waitForLog('configuration reloaded', { from });
  };

  it('logs where the uploads are', async () => {
    const ready = await stack.serve.waitForLog('ready');
    assert.match(String(ready.repository), new RegExp(`^s3://${rgw.bucket}/${PREFIX} at ${rgw.endpoint}`));
  });

  it('proxy: slot → PUT through serve → object in the bucket → GET, sha256 equal; a second PUT gets 409', async () => {
    for (const spec of [
      { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'proxy ü.bin', size: 3 * MiB },
      {
        namespace: NS_UPLOAD_SIACS,
        shape: 'children',
        filename: 'legacy.jpg',
        size: 1 * MiB,
        contentType: 'image/jpeg',
      },
    ] satisfies SlotRequestSpec[]) {
      const file = randomFile(spec.size);
      const slot = await mustGetSlot(stack.alice, stack.service, spec);
      assert.ok(slot.put.startsWith(stack.serve.baseUrl), `proxy PUT URL is serve's: ${slot.put}`);
      const put = await putToSlot(slot, file, spec.contentType ? { contentType: spec.contentType } : {});
      assert.equal(put.status, 201, put.body.toString());
      assert.equal(await inBucket(idOf(slot.get)), spec.size, 'the upload is an object in the bucket');
      const got = await http(slot.get);
      assert.equal(got.status, 200);
      assert.equal(got.bodySha256, sha256(file));
      assert.equal(got.headers['content-type'], spec.contentType ?? 'application/octet-stream');
      assert.equal(got.headers['x-content-type-options'], 'nosniff');
      const again = await putToSlot(slot, file, spec.contentType ? { contentType: spec.contentType } : {});
      assert.equal(again.status, 409);
    }
  });

  it('direct: the PUT URL is a presigned radosgw URL; a legacy client uploads without headers; serve serves it', async () => {
    await setMode('direct');
    const spec: SlotRequestSpec = {
      namespace: NS_UPLOAD_SIACS,
      shape: 'children',
      filename: 'direct Grüße.bin',
      size: 2 * MiB + 3,
    };
    const file = randomFile(spec.size as number);
    const slot = await mustGetSlot(stack.alice, stack.service, spec);
    assert.ok(slot.put.startsWith(`${rgw.endpoint}/${rgw.bucket}/${PREFIX}files/`), `direct PUT URL: ${slot.put}`);
    assert.ok(slot.get.startsWith(stack.serve.baseUrl), `GET URL stays serve's: ${slot.get}`);
    assert.deepEqual(Object.keys(slot.headers), [], 'no headers needed');
    const id = idOf(slot.get);

    const put = await http(slot.put, { method: 'PUT', body: file });
    assert.equal(put.status, 200, put.body.toString());
    assert.ok(
      !stack.serve.logLines().some((l) => l.msg === 'request' && l.method === 'PUT' && l.id === id),
      'serve never received the upload',
    );

    const got = await http(slot.get);
    assert.equal(got.status, 200, got.body.toString());
    assert.equal(got.bodySha256, sha256(file));
    assert.equal(got.headers['content-length'], String(spec.size));
    assert.equal(got.headers['x-content-type-options'], 'nosniff');
    assert.match(String(got.headers['content-security-policy']), /sandbox/);
    assert.match(
      String(got.headers['content-disposition']),
      /^attachment;.*filename\*=UTF-8''direct%20Gr%C3%BC%C3%9Fe\.bin/,
    );
    const head = await http(slot.get, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(spec.size));
    const range = await http(slot.get, { headers: { range: 'bytes=10-19' } });
    assert.equal(range.status, 206);
    assert.equal(range.bodySha256, sha256(file.subarray(10, 20)));
  });

  it('direct: a slot with a content type: the client sends it; a wrong length or type is refused by radosgw', async () => {
    const spec: SlotRequestSpec = {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: 'photo.png',
      size: 1 * MiB,
      contentType: 'image/png',
    };
    const file = randomFile(1 * MiB);
    const slot = await mustGetSlot(stack.alice, stack.service, spec);
    assert.equal((await putToSlot(slot, file, { contentType: 'image/jpeg' })).status, 403, 'other type');
    assert.equal((await putToSlot(slot, file.subarray(1), { contentType: 'image/png' })).status, 403, 'other length');
    assert.equal((await http(slot.get)).status, 404, 'nothing stored by refused PUTs');
    const put = await putToSlot(slot, file, { contentType: 'image/png' });
    assert.equal(put.status, 200, put.body.toString());
    const got = await http(slot.get);
    assert.equal(got.status, 200);
    assert.equal(got.bodySha256, sha256(file));
    assert.equal(got.headers['content-type'], 'image/png');
    assert.match(String(got.headers['content-disposition'] ?? 'inline'), /^inline/);
  });

  it('a bucket that is not there: serve exits 2 before listening, naming the property and the reason', async () => {
    const bad = await startServe({
      config: await serveConfigFor(undefined, {
        storage: 's3',
        s3Endpoint: rgw.endpoint,
        s3Bucket: 'no-such-bucket',
        s3AccessKey: rgw.accessKey,
        s3SecretKey: rgw.secretKey,
      }),
      waitFor: 'nothing',
    });
    const { code } = await bad.waitForExit(20_000);
    assert.equal(code, 2);
    const output = bad.stderr() + JSON.stringify(bad.logLines());
    assert.match(output, /s3Bucket.*no-such-bucket.*(NotFound|NoSuchBucket|404)/);
    assert.ok(!output.includes(rgw.secretKey), 'the secret is never printed');
  });

  it('proxy again after switching back (s3UploadMode is dynamic)', async () => {
    await setMode('proxy');
    const slot = await mustGetSlot(stack.alice, stack.service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: 'back.txt',
      size: 5,
    });
    assert.ok(slot.put.startsWith(stack.serve.baseUrl));
    assert.equal((await putToSlot(slot, Buffer.from('hello'))).status, 201);
    assert.equal((await http(slot.get)).body.toString(), 'hello');
  });
});
