import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import {
  CreateMultipartUploadCommand,
  GetBucketCorsCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { storeContract } from '../../../test/storage-contract.ts';
import { slotOf, testRadosgw } from '../../../test/support/radosgw.ts';
import { newSlotId } from '../../slots/id.ts';
import { RepositoryError } from '../errors.ts';
import { S3Store, type S3StoreOptions } from './index.ts';

// One throw-away Ceph + radosgw for the whole file (~2 s); each suite works under its own prefix.
const rgw = testRadosgw();

storeContract('s3 (radosgw)', async () => {
  const store = await rgw.store();
  await store.open();
  return { store, cleanup: async () => {} };
});

// Bodies over 1 MiB go up as streamed multipart uploads (5 MiB parts): the contract's 2–10 MiB
// bodies exercise that path, its 300 KiB concurrency test the single PUT.
storeContract('s3 (radosgw, multipart above 1 MiB, 3 keys per listing page)', async () => {
  const store = await rgw.store({ multipartThreshold: 1024 * 1024, pageSize: 3 });
  await store.open();
  return { store, cleanup: async () => {} };
});

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

/** A raw HTTP PUT (no headers added by any library): status and body text. */
function rawPut(
  url: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'PUT', headers: { 'Content-Length': String(body.length), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('s3 store: direct mode (presigned PUT to radosgw)', () => {
  let store: S3Store;
  before(async () => {
    store = await rgw.store();
    await store.open();
  });
  after(() => store.close());

  test('presigned URLs carry no checksum parameter, sign length (and type only when the slot has one)', async () => {
    for (const slot of [slotOf(), slotOf({ contentType: 'text/plain' })]) {
      const url = new URL(await store.presignPut(slot));
      const names = [...url.searchParams.keys()].map((k) => k.toLowerCase());
      assert.ok(!names.some((n) => n.startsWith('x-amz-checksum')), `no x-amz-checksum-*: ${names}`);
      assert.ok(!names.includes('x-amz-sdk-checksum-algorithm'), 'no x-amz-sdk-checksum-algorithm');
      const signed = url.searchParams.get('X-Amz-SignedHeaders')?.split(';') ?? [];
      assert.ok(signed.includes('content-length'), `content-length signed: ${signed}`);
      assert.equal(
        signed.includes('content-type'),
        slot.contentType !== undefined,
        `content-type signed only with a slot type: ${signed}`,
      );
      assert.equal(url.searchParams.get('X-Amz-Expires'), '300');
      assert.equal(url.searchParams.get('x-amz-meta-fu-id'), slot.id, 'metadata travels signed in the URL');
    }
  });

  test('a legacy client (no headers at all) uploads; metadata and body come back', async () => {
    const slot = slotOf({ size: 1000, purpose: 'ephemeral', expireBefore: Date.now() + 3_600_000 });
    await store.recordSlot(slot);
    const data = randomBytes(1000);
    const put = await rawPut(await store.presignPut(slot), data);
    assert.equal(put.status, 200, put.text);
    const meta = await store.stat(slot.id);
    assert.ok(meta);
    assert.deepEqual(
      { ...meta, storedAt: 0 },
      {
        id: slot.id,
        filename: slot.filename,
        size: 1000,
        contentType: 'application/octet-stream',
        uploader: slot.uploader,
        issuedAt: slot.issuedAt,
        storedAt: 0,
        purpose: 'ephemeral',
        expireBefore: slot.expireBefore,
      },
    );
    assert.ok(Math.abs(meta.storedAt - Date.now()) < 60_000, 'storedAt is the upload time');
    const got = await store.read(slot.id);
    assert.equal(sha(await collect(got!.body)), sha(data));
  });

  test('a client sending Content-Type: application/octet-stream to a slot without type is accepted', async () => {
    const slot = slotOf({ size: 3 });
    await store.recordSlot(slot);
    const put = await rawPut(await store.presignPut(slot), Buffer.from('abc'), {
      'Content-Type': 'application/octet-stream',
    });
    assert.equal(put.status, 200, put.text);
    assert.equal((await store.stat(slot.id))?.contentType, 'application/octet-stream');
  });

  test('radosgw refuses a wrong length, a wrong or missing signed type, and an expired URL', async () => {
    const slot = slotOf({ size: 5, contentType: 'text/plain' });
    await store.recordSlot(slot);
    const url = await store.presignPut(slot);
    assert.equal((await rawPut(url, Buffer.from('hello!'), { 'Content-Type': 'text/plain' })).status, 403, 'longer');
    assert.equal((await rawPut(url, Buffer.from('hell'), { 'Content-Type': 'text/plain' })).status, 403, 'shorter');
    assert.equal((await rawPut(url, Buffer.from('hello'), { 'Content-Type': 'text/html' })).status, 403, 'other type');
    assert.equal((await rawPut(url, Buffer.from('hello'))).status, 403, 'type missing');
    assert.equal(await store.stat(slot.id), undefined, 'nothing was stored');

    const expired = slotOf({ size: 5, issuedAt: Date.now() - 120_000, expiresAt: Date.now() - 60_000 });
    // Signed two minutes ago, valid for one minute.
    const old = await store.presignPut({ ...expired, expiresAt: expired.issuedAt + 60_000 }, expired.issuedAt);
    const refused = await rawPut(old, Buffer.from('hello'));
    assert.equal(refused.status, 403, refused.text);
    assert.equal(await store.stat(expired.id), undefined);

    const ok = await rawPut(url, Buffer.from('hello'), { 'Content-Type': 'text/plain' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await store.stat(slot.id))?.contentType, 'text/plain');
  });

  test('an object without metadata of its own gets it from the slot record', async () => {
    // What happens on S3 flavours that drop x-amz-meta-* query parameters of presigned URLs.
    const slot = slotOf({ size: 4, contentType: 'image/png', purpose: 'profile' });
    await store.recordSlot(slot);
    const s3 = await rgw.client();
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: `${store.layout.files}${slot.id}`,
          Body: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
          ContentType: 'image/png',
        }),
      );
    } finally {
      s3.destroy();
    }
    const meta = await store.stat(slot.id);
    assert.equal(meta?.uploader, slot.uploader);
    assert.equal(meta?.filename, slot.filename);
    assert.equal(meta?.purpose, 'profile');
    assert.equal(meta?.contentType, 'image/png');
    assert.equal(meta?.size, 4);
    const got = await store.read(slot.id, (m) => ({ start: 1, end: m.size - 1 }));
    assert.equal((await collect(got!.body)).toString('latin1'), 'PNG');
    const listed = [];
    for await (const m of store.list()) listed.push(m.id);
    assert.ok(listed.includes(slot.id), 'list() joins the record too');
    assert.equal(await store.delete(slot.id), true);
    assert.equal(await store.stat(slot.id), undefined);
    for await (const p of store.listPartial())
      assert.ok(!p.name.startsWith(slot.id), 'delete() removed the record too');
  });

  test('an object that is neither ours nor recorded is not served', async () => {
    const id = newSlotId();
    const s3 = await rgw.client();
    try {
      await s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: `${store.layout.files}${id}`, Body: 'foreign' }));
    } finally {
      s3.destroy();
    }
    assert.equal(await store.stat(id), undefined);
    assert.equal(await store.read(id), undefined);
  });
});

describe('s3 store: partial uploads for purge', () => {
  let store: S3Store;
  before(async () => {
    store = await rgw.store({ pageSize: 2 });
    await store.open();
  });
  after(() => store.close());

  test('records of unused slots are partials from their expiry on; used ones are not', async () => {
    const expired = slotOf({ issuedAt: Date.now() - 600_000, expiresAt: Date.now() - 300_000 });
    const pending = slotOf();
    const used = slotOf({ size: 2 });
    for (const s of [expired, pending, used]) await store.recordSlot(s);
    assert.equal((await rawPut(await store.presignPut(used), Buffer.from('ok'))).status, 200);
    // More uploads than a listing page, so the merge of slots/ and files/ crosses pages.
    for (let i = 0; i < 5; i++) {
      await store.write(
        {
          id: newSlotId(),
          filename: 'x',
          size: 1,
          contentType: 'text/plain',
          uploader: 'a@b',
          issuedAt: 1,
          purpose: 'message',
        },
        once(Buffer.from('x')),
      );
    }
    const partials = new Map<string, number>();
    for await (const p of store.listPartial()) partials.set(p.name, p.modifiedAt);
    assert.deepEqual([...partials.keys()].sort(), [`${expired.id}.slot`, `${pending.id}.slot`].sort());
    assert.equal(partials.get(`${expired.id}.slot`), expired.expiresAt, 'an unused record counts from the slot expiry');
    assert.ok(partials.get(`${pending.id}.slot`)! > Date.now(), 'a slot still valid is not abandoned yet');
    assert.equal(await store.deletePartial(`${used.id}.slot`), false, 'the record of an upload is not a partial');
    assert.equal(await store.deletePartial(`${expired.id}.slot`), true);
    assert.equal(await store.deletePartial(`${expired.id}.slot`), false);
    assert.ok((await store.stat(used.id)) !== undefined);
  });

  test('an incomplete multipart upload is a partial with its parts size, and is aborted by deletePartial', async () => {
    const id = newSlotId();
    const key = `${store.layout.files}${id}`;
    const s3 = await rgw.client();
    try {
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: key }));
      await s3.send(
        new UploadPartCommand({
          Bucket: store.bucket,
          Key: key,
          UploadId: created.UploadId,
          PartNumber: 1,
          Body: Buffer.alloc(1234, 1),
        }),
      );
      const found = [];
      for await (const p of store.listPartial()) if (p.name.startsWith(id)) found.push(p);
      assert.equal(found.length, 1);
      assert.equal(found[0]!.size, 1234);
      assert.ok(Math.abs(found[0]!.modifiedAt - Date.now()) < 60_000);
      assert.equal(await store.deletePartial(found[0]!.name), true);
      assert.equal(await store.deletePartial(found[0]!.name), false);
      for await (const p of store.listPartial()) assert.ok(!p.name.startsWith(id));
      assert.equal(await store.stat(id), undefined);
    } finally {
      s3.destroy();
    }
  });
});

describe('s3 store: the documented bucket rules (contrib/s3)', () => {
  const contrib = (name: string): unknown =>
    JSON.parse(readFileSync(join(import.meta.dirname, '../../../contrib/s3', name), 'utf8'));

  test('radosgw accepts lifecycle.json (age limit, slot records, abandoned multipart uploads)', async () => {
    const r = await rgw.server();
    await r.createBucket('lifecycle-test');
    const s3 = await rgw.client();
    try {
      const config = contrib('lifecycle.json') as { Rules: { ID: string }[] };
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: 'lifecycle-test',
          LifecycleConfiguration: config as never,
        }),
      );
      const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lifecycle-test' }));
      assert.deepEqual(got.Rules?.map((rule) => rule.ID).sort(), config.Rules.map((rule) => rule.ID).sort());
    } finally {
      s3.destroy();
    }
  });

  test('radosgw accepts cors.json, and a browser preflight for a direct PUT then passes', async () => {
    const r = await rgw.server();
    await r.createBucket('cors-test');
    const s3 = await rgw.client();
    try {
      await s3.send(
        new PutBucketCorsCommand({ Bucket: 'cors-test', CORSConfiguration: contrib('cors.json') as never }),
      );
      assert.equal((await s3.send(new GetBucketCorsCommand({ Bucket: 'cors-test' }))).CORSRules?.length, 1);
    } finally {
      s3.destroy();
    }
    const preflight = await fetch(`${r.endpoint}/cors-test/fileupload/files/${newSlotId()}`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://chat.example.org',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://chat.example.org');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /PUT/);
  });
});

describe('s3 store: open, marker', () => {
  test('open() creates the marker; open({ create: false }) refuses a prefix without one', async () => {
    const store = await rgw.store();
    try {
      await assert.rejects(
        store.open({ create: false }),
        (e: unknown) => e instanceof RepositoryError && /not a fileupload repository/.test(e.message),
      );
      await store.open();
      await store.open({ create: false });
      await store.open();
    } finally {
      await store.close();
    }
  });

  test('open() names the problem: missing bucket, wrong secret, nothing listening', async () => {
    const r = await rgw.server();
    const cases: [Partial<S3StoreOptions>, RegExp][] = [
      [{ bucket: 'no-such-bucket' }, /no-such-bucket.*(NotFound|NoSuchBucket|404)/],
      [{ secretKey: 'wrong' }, /(Forbidden|403|SignatureDoesNotMatch)/],
      [{ endpoint: 'http://127.0.0.1:9' }, /ECONNREFUSED/],
    ];
    for (const [over, pattern] of cases) {
      const store = await rgw.store({ ...over, requestTimeout: 5000 });
      try {
        await assert.rejects(store.open(), (e: unknown) => {
          assert.ok(e instanceof RepositoryError, String(e));
          assert.match(e.message, pattern);
          assert.ok(!e.message.includes(r.secretKey), 'no secret in the message');
          return true;
        });
      } finally {
        await store.close();
      }
    }
  });
});
