/**
 * The XMPP side of issue 3, run against Prosody and against ejabberd (xmpp-prosody.test.ts,
 * xmpp-ejabberd.test.ts): discovery through the server's disco#items, a 1 MiB upload and
 * download for every namespace × request shape, and every slot-request error.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { http, randomFile, sha256 } from '../support/http.ts';
import { mustGetSlot, putToSlot, startStack, type Stack } from '../support/stack.ts';
import {
  NS_DISCO_INFO,
  NS_UPLOAD_0,
  NS_UPLOAD_LEGACY,
  NS_UPLOAD_SIACS,
  UPLOAD_NAMESPACES,
  type SlotRequestSpec,
} from '../support/xmpp-client.ts';

const MAX = 5 * 1024 * 1024;
const MiB = 1024 * 1024;

/** RFC 3986 percent-encoding of one path segment (what the slot URL must carry). */
const encodeSegment = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Registers the XMPP suite for one server kind.
 *
 * @example
 * xmppSuite('prosody');
 */
export function xmppSuite(kind: 'prosody' | 'ejabberd'): void {
  describe(`XMPP through ${kind}`, { concurrency: true }, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(kind, { maxFileSize: MAX });
    });
    after(() => stack?.stop());

    it('is found through the server: disco#items → disco#info with store/file, the features and a max-file-size form per namespace', async () => {
      const items = await stack.alice.discoItems(stack.alice.jid.split('@')[1]!.split('/')[0]!);
      assert.ok(items.includes(stack.service), `disco#items lists ${stack.service}: ${items.join(', ')}`);
      const found = await stack.alice.findUploadService();
      assert.equal(found?.jid, stack.service);
      const info = found.info;
      assert.ok(info.identities.some((i) => i.category === 'store' && i.type === 'file'));
      for (const feature of [
        ...UPLOAD_NAMESPACES,
        NS_DISCO_INFO,
        'urn:xmpp:ping',
        'jabber:iq:version',
        'urn:xmpp:time',
        'jabber:iq:last',
      ]) {
        assert.ok(info.features.includes(feature), `feature ${feature} in ${info.features.join(', ')}`);
      }
      for (const ns of UPLOAD_NAMESPACES) {
        assert.deepEqual(info.forms.get(ns)?.get('max-file-size'), [String(MAX)], `max-file-size form for ${ns}`);
      }
      assert.equal(found.maxFileSize, MAX);
    });

    it('answers ping, version, last activity and time', async () => {
      const ping = await stack.alice.iq(stack.service, 'get', xml('ping', { xmlns: 'urn:xmpp:ping' }));
      assert.equal(ping.type, 'result');
      const version = await stack.alice.iq(stack.service, 'get', xml('query', { xmlns: 'jabber:iq:version' }));
      assert.equal(version.type, 'result');
      assert.ok(version.stanza.getChild('query', 'jabber:iq:version')?.getChildText('name'), 'version has a name');
      const last = await stack.alice.iq(stack.service, 'get', xml('query', { xmlns: 'jabber:iq:last' }));
      assert.equal(last.type, 'result');
      const seconds = last.stanza.getChild('query', 'jabber:iq:last')?.attrs.seconds;
      assert.match(String(seconds), /^\d+$/, 'last activity is the uptime in seconds');
      assert.ok(Number(seconds) < 3600, `uptime ${seconds} s of a service started by this test`);
      const time = await stack.alice.iq(stack.service, 'get', xml('time', { xmlns: 'urn:xmpp:time' }));
      assert.equal(time.type, 'result');
      const utc = time.stanza.getChild('time', 'urn:xmpp:time')?.getChildText('utc') ?? '';
      assert.ok(Math.abs(Date.parse(utc) - Date.now()) < 60_000, `utc ${utc} is now`);
    });

    const combos: Array<{
      namespace: string;
      shape: 'attributes' | 'children';
      filename: string;
      contentType?: string;
    }> = [
      {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename: 'grüße (1) & co.bin',
        contentType: 'application/octet-stream',
      },
      { namespace: NS_UPLOAD_0, shape: 'children', filename: 'zero-children.dat' },
      { namespace: NS_UPLOAD_LEGACY, shape: 'children', filename: 'legacy.bin', contentType: 'application/x-test' },
      { namespace: NS_UPLOAD_LEGACY, shape: 'attributes', filename: 'legacy-attrs.bin' },
      { namespace: NS_UPLOAD_SIACS, shape: 'children', filename: 'siacs.bin' },
      {
        namespace: NS_UPLOAD_SIACS,
        shape: 'attributes',
        filename: 'siacs-attrs.bin',
        contentType: 'application/x-test',
      },
    ];
    for (const combo of combos) {
      it(`slot → PUT → GET of 1 MiB in ${combo.namespace} (${combo.shape})`, async () => {
        const file = randomFile(MiB);
        const spec: SlotRequestSpec = { ...combo, size: file.length };
        const slot = await mustGetSlot(stack.alice, stack.service, spec);
        assert.equal(slot.namespace, combo.namespace, 'answered in the request namespace');
        if (combo.namespace === NS_UPLOAD_0 && combo.shape === 'attributes')
          assert.equal(slot.answerShape, 'attributes');
        if (combo.namespace !== NS_UPLOAD_0 && combo.shape === 'children') assert.equal(slot.answerShape, 'text');
        if (slot.answerShape === 'text') assert.deepEqual(slot.headers, {}, 'no headers in the legacy shape');
        for (const name of Object.keys(slot.headers))
          assert.ok(['Authorization', 'Cookie', 'Expires'].includes(name), `header ${name}`);
        // {protocol}://{host}:{port}{contextRoot}/{id}/{filename}, the filename RFC 3986-encoded, no secret in GET.
        const base = String(stack.serve.baseUrl);
        assert.ok(slot.get.startsWith(`${base}/`), `${slot.get} starts with ${base}/`);
        assert.match(
          slot.get.slice(base.length),
          new RegExp(`^/[A-Za-z0-9_-]{22,}/${encodeSegment(combo.filename).replace(/[.*+?^${}()|[\]\\%]/g, '\\$&')}$`),
        );
        assert.equal(new URL(slot.get).search, '');

        // Legacy clients send no headers: the URL alone must be enough.
        const put = await putToSlot(slot, file, combo.contentType ? { contentType: combo.contentType } : {});
        assert.equal(put.status, 201, `PUT: ${put.status} ${put.body.toString()}`);
        const get = await http(slot.get);
        assert.equal(get.status, 200);
        assert.equal(get.bodySha256, sha256(file));
        assert.equal(get.headers['content-type'], combo.contentType ?? 'application/octet-stream');
      });
    }

    it('takes an empty file: size 0 → slot → PUT of no bytes → GET 200 with an empty body', async () => {
      for (const namespace of UPLOAD_NAMESPACES) {
        const slot = await mustGetSlot(stack.alice, stack.service, {
          namespace,
          shape: 'children',
          filename: 'empty.txt',
          size: 0,
        });
        const put = await putToSlot(slot, Buffer.alloc(0), { contentType: 'text/plain' });
        assert.equal(put.status, 201, `${namespace}: PUT ${put.status} ${put.body.toString()}`);
        const get = await http(slot.get);
        assert.equal(get.status, 200, namespace);
        assert.equal(get.headers['content-length'], '0');
        assert.equal(get.bodySha256, sha256(Buffer.alloc(0)));
      }
    });

    it('accepts a filename of exactly 255 UTF-8 bytes', async () => {
      const filename = 'é'.repeat(127) + 'a'; // 255 bytes, 128 characters
      const slot = await stack.alice.requestSlot(stack.service, {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename,
        size: 10,
      });
      assert.ok(slot.ok, 'slot granted');
    });

    it('refuses a file over max-file-size with file-too-large and the limit, in every namespace', async () => {
      for (const namespace of UPLOAD_NAMESPACES) {
        for (const shape of ['attributes', 'children'] as const) {
          const r = await stack.alice.requestSlot(stack.service, {
            namespace,
            shape,
            filename: 'big.bin',
            size: MAX + 1,
          });
          assert.ok(!r.ok, `${namespace} ${shape}: refused`);
          assert.equal(r.error.type, 'modify');
          assert.equal(r.error.condition, 'not-acceptable');
          assert.equal(r.error.maxFileSize, MAX, `${namespace} ${shape}: max-file-size in ${r.stanza.toString()}`);
          const tooLarge = r.error.extra.find((el) => el.name === 'file-too-large');
          assert.equal(
            tooLarge?.attrs.xmlns,
            namespace,
            `${namespace} ${shape}: file-too-large in the request's namespace`,
          );
        }
      }
      // The limit itself is fine.
      const atLimit = await stack.alice.requestSlot(stack.service, {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename: 'max.bin',
        size: MAX,
      });
      assert.ok(atLimit.ok);
    });

    const badRequests: Array<[string, SlotRequestSpec]> = [
      ['no filename', { namespace: NS_UPLOAD_0, shape: 'attributes', size: 10 }],
      ['no size', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a.txt' }],
      ['empty filename', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: '', size: 10 }],
      ['negative size', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a.txt', size: -5 }],
      ['size not a number', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a.txt', size: 'ten' }],
      ['fractional size', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a.txt', size: '1.5' }],
      ['empty size', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a.txt', size: '' }],
      ['filename with /', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a/b.txt', size: 10 }],
      ['filename with \\', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a\\b.txt', size: 10 }],
      ['filename ..', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: '..', size: 10 }],
      ['filename with DEL', { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a\u007fb.txt', size: 10 }],
      [
        'filename with a tab (legacy)',
        { namespace: NS_UPLOAD_LEGACY, shape: 'children', filename: 'a\tb.txt', size: 10 },
      ],
      [
        'filename with a newline (legacy)',
        { namespace: NS_UPLOAD_LEGACY, shape: 'children', filename: 'a\nb.txt', size: 10 },
      ],
      [
        'filename of 256 UTF-8 bytes',
        { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'é'.repeat(128), size: 10 },
      ],
      ['legacy without size', { namespace: NS_UPLOAD_LEGACY, shape: 'children', filename: 'a.txt' }],
      ['legacy without filename', { namespace: NS_UPLOAD_SIACS, shape: 'children', size: 10 }],
      ['legacy size not a number', { namespace: NS_UPLOAD_SIACS, shape: 'children', filename: 'a.txt', size: '12abc' }],
    ];
    it('answers modify/bad-request to each malformed request', async () => {
      const answers = await Promise.all(badRequests.map(([, spec]) => stack.alice.requestSlot(stack.service, spec)));
      answers.forEach((r, i) => {
        const [name] = badRequests[i]!;
        assert.ok(!r.ok, `${name}: must be refused, got a slot`);
        assert.equal(`${r.error.type}/${r.error.condition}`, 'modify/bad-request', `${name}: ${r.stanza.toString()}`);
      });
    });

    it('answers cancel/feature-not-implemented to anything else', async () => {
      const payloads = [
        xml('query', { xmlns: 'urn:example:nothing' }),
        xml('request', { xmlns: 'urn:xmpp:http:upload:99', filename: 'a.txt', size: '10' }),
        xml('slot', { xmlns: NS_UPLOAD_0 }),
      ];
      for (const payload of payloads) {
        const r = await stack.alice.iq(stack.service, 'get', payload);
        assert.equal(r.type, 'error', payload.toString());
        if (r.type === 'error')
          assert.equal(`${r.error.type}/${r.error.condition}`, 'cancel/feature-not-implemented', payload.toString());
      }
    });

    it('answers auth/forbidden to a user of a foreign domain (default allowedDomains: the parent domain)', async () => {
      for (const namespace of UPLOAD_NAMESPACES) {
        const r = await stack.mallory.requestSlot(stack.service, {
          namespace,
          shape: 'children',
          filename: 'a.txt',
          size: 10,
        });
        assert.ok(!r.ok, `${namespace}: a stranger gets no slot`);
        assert.equal(`${r.error.type}/${r.error.condition}`, 'auth/forbidden');
      }
    });
  });
}
