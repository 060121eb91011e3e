import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlotRequest, parseSlotRequest, parseXmppDateTime } from './slot-request.ts';
import { parseXml } from './xml.ts';

const NOW = Date.parse('2025-06-17T12:00:00Z');
const parse = (source: string, now = NOW) => parseSlotRequest(parseXml(source), now);
const refusalOf = (source: string) => {
  const r = parse(source);
  assert.ok(!r.ok, `refused: ${source}`);
  return r.refusal;
};
const badRequest = (source: string, why?: RegExp) => {
  const refusal = refusalOf(source);
  assert.equal(`${refusal.type}/${refusal.condition}`, 'modify/bad-request', source);
  if (why) assert.match(refusal.text, why);
};

const NAMESPACES = ['urn:xmpp:http:upload:0', 'urn:xmpp:http:upload', 'eu:siacs:conversations:http:upload'];

test('every namespace in the attribute shape', () => {
  for (const ns of NAMESPACES) {
    assert.deepEqual(
      parse(`<request xmlns='${ns}' filename='my-juliet.jpg' size='23456' content-type='image/jpeg'/>`),
      {
        ok: true,
        request: {
          namespace: ns,
          shape: 'attributes',
          filename: 'my-juliet.jpg',
          size: 23456,
          contentType: 'image/jpeg',
          purpose: 'message',
        },
      },
    );
  }
});

test('every namespace in the child-element shape', () => {
  for (const ns of NAMESPACES) {
    assert.deepEqual(
      parse(
        `<request xmlns='${ns}'><filename>my-juliet.jpg</filename><size>23456</size><content-type>image/jpeg</content-type></request>`,
      ),
      {
        ok: true,
        request: {
          namespace: ns,
          shape: 'elements',
          filename: 'my-juliet.jpg',
          size: 23456,
          contentType: 'image/jpeg',
          purpose: 'message',
        },
      },
    );
  }
});

test('content-type is optional; an empty one counts as absent; size may carry surrounding whitespace', () => {
  assert.deepEqual(parse("<request xmlns='urn:xmpp:http:upload:0' filename='a' size='1'/>"), {
    ok: true,
    request: { namespace: 'urn:xmpp:http:upload:0', shape: 'attributes', filename: 'a', size: 1, purpose: 'message' },
  });
  const r = parse(
    "<request xmlns='urn:xmpp:http:upload'><filename>a</filename><size>\n  7\n</size><content-type></content-type></request>",
  );
  assert.ok(r.ok);
  assert.equal(r.request.size, 7);
  assert.equal('contentType' in r.request, false);
});

test('the filename keeps its spaces and Unicode; XML entities are decoded', () => {
  const r = parse("<request xmlns='urn:xmpp:http:upload:0' filename=' grüße &amp; co .txt' size='1'/>");
  assert.ok(r.ok);
  assert.equal(r.request.filename, ' grüße &amp; co .txt'.replace('&amp;', '&'));
});

test('attributes win over child elements of the same name', () => {
  const r = parse(
    "<request xmlns='urn:xmpp:http:upload:0' filename='attr.txt' size='5'><filename>child.txt</filename><size>9</size></request>",
  );
  assert.ok(r.ok);
  assert.deepEqual([r.request.filename, r.request.size, r.request.shape], ['attr.txt', 5, 'attributes']);
});

test('missing filename or size → bad-request', () => {
  badRequest("<request xmlns='urn:xmpp:http:upload:0' size='10'/>", /no filename/);
  badRequest("<request xmlns='urn:xmpp:http:upload:0' filename='a.txt'/>", /no size/);
  badRequest("<request xmlns='urn:xmpp:http:upload'><size>10</size></request>", /no filename/);
  badRequest("<request xmlns='urn:xmpp:http:upload'><filename>a</filename></request>", /no size/);
  badRequest("<request xmlns='urn:xmpp:http:upload:0'/>", /no filename/);
});

test('a size that is not a whole number of bytes → bad-request; 0 is a size', () => {
  for (const size of [
    '-0',
    '-5',
    '1.5',
    'ten',
    '',
    ' ',
    '12abc',
    '+3',
    '0x10',
    '1e3',
    '1_000',
    '1,000',
    '１２',
    'Infinity',
    'NaN',
    '9007199254740992',
    '99999999999999999999',
  ]) {
    badRequest(
      `<request xmlns='urn:xmpp:http:upload:0' filename='a.txt' size='${size}'/>`,
      /not a whole number of bytes/,
    );
  }
  assert.ok(parse("<request xmlns='urn:xmpp:http:upload:0' filename='a.txt' size='9007199254740991'/>").ok);
  const empty = parse("<request xmlns='urn:xmpp:http:upload:0' filename='empty.txt' size='0'/>");
  assert.ok(empty.ok && empty.request.size === 0, 'an empty file gets a slot');
});

test('a malformed filename → bad-request naming the problem', () => {
  badRequest("<request xmlns='urn:xmpp:http:upload:0' filename='' size='1'/>", /empty/);
  badRequest("<request xmlns='urn:xmpp:http:upload:0' filename='a/b' size='1'/>", /"\/"/);
  badRequest("<request xmlns='urn:xmpp:http:upload:0' filename='a\\b' size='1'/>", /contains "\\"/);
  badRequest("<request xmlns='urn:xmpp:http:upload'><filename>a&#9;b</filename><size>1</size></request>", /control/);
  badRequest(`<request xmlns='urn:xmpp:http:upload:0' filename='${'é'.repeat(128)}' size='1'/>`, /256 bytes/);
  badRequest("<request xmlns='urn:xmpp:http:upload:0' filename='..' size='1'/>", /not a file name/);
});

test('a content-type that is not a media type → bad-request', () => {
  for (const ct of [
    'image',
    'image/',
    '/png',
    'image/png extra',
    'a/b;',
    'text/plain; charset',
    `${'a'.repeat(250)}/bcdefg`,
  ]) {
    badRequest(`<request xmlns='urn:xmpp:http:upload:0' filename='a' size='1' content-type='${ct}'/>`, /content-type/);
  }
  for (const ct of [
    'image/png',
    'application/vnd.ms-excel',
    'text/plain; charset=utf-8',
    'text/plain;charset="utf-8"',
    'application/octet-stream',
  ]) {
    const r = parse(`<request xmlns='urn:xmpp:http:upload:0' filename='a' size='1' content-type='${ct}'/>`);
    assert.ok(r.ok, ct);
    assert.equal(r.request.contentType, ct);
  }
});

test('a content-type with CR, LF or other controls → bad-request: the HTTP side could never match or serve it', async () => {
  const { essence } = await import('../http/media-type.ts');
  const cases: [string, string][] = [
    ['text/plain;&#13;&#10;x=y', 'text/plain;\r\nx=y'],
    ['text/plain; a="&#10;Set-Cookie: s=1"', 'text/plain; a="\nSet-Cookie: s=1"'],
    // Other C0 controls cannot appear in XML 1.0; DEL can.
    ['text/plain; a="x&#127;"', 'text/plain; a="x\u007f"'],
    ['text/plain&#13;; a=b', 'text/plain\r; a=b'],
  ];
  for (const [escaped, raw] of cases) {
    assert.equal(essence(raw), undefined, `HTTP calls ${JSON.stringify(raw)} malformed`);
    badRequest(
      `<request xmlns='urn:xmpp:http:upload:0' filename='a' size='1' content-type='${escaped}'/>`,
      /content-type/,
    );
    badRequest(
      `<request xmlns='urn:xmpp:http:upload'><filename>a</filename><size>1</size><content-type>${escaped}</content-type></request>`,
      /content-type/,
    );
  }
  // What HTTP accepts, slots accept: tabs around parameters, quoted-pairs.
  for (const ct of ['text/plain\t;\tcharset=utf-8', 'a/b; c="\\"x"']) {
    assert.ok(essence(ct) !== undefined);
    const r = parse(
      `<request xmlns='urn:xmpp:http:upload'><filename>a</filename><size>1</size><content-type>${ct.replace('\t', '&#9;').replace('\t', '&#9;')}</content-type></request>`,
    );
    assert.ok(r.ok && r.request.contentType === ct, JSON.stringify(ct));
  }
});

test('error texts echo client input cut short', () => {
  const refusal = refusalOf(`<request xmlns='urn:xmpp:http:upload:0' filename='a' size='${'9'.repeat(500)}x'/>`);
  assert.ok(refusal.text.length < 100, refusal.text);
});

const PURPOSE = "xmlns='urn:xmpp:http:upload:purpose:0'";
const withPurpose = (inner: string) =>
  `<request xmlns='urn:xmpp:http:upload:0' filename='a.jpg' size='10'><purpose ${PURPOSE}>${inner}</purpose></request>`;

test('purposes: message by default, profile, permanent, ephemeral with expire-before', () => {
  for (const name of ['message', 'profile', 'permanent']) {
    const r = parse(withPurpose(`<${name}/>`));
    assert.ok(r.ok);
    assert.equal(r.request.purpose, name);
    assert.equal(r.request.expireBefore, undefined);
  }
  const e = parse(withPurpose("<ephemeral expire-before='2025-06-18T12:00:00Z'/>"));
  assert.ok(e.ok);
  assert.equal(e.request.purpose, 'ephemeral');
  assert.equal(e.request.expireBefore, Date.parse('2025-06-18T12:00:00Z'));
  const offset = parse(withPurpose("<ephemeral expire-before='2025-06-18T14:00:00.5+02:00'/>"));
  assert.ok(offset.ok);
  assert.equal(offset.request.expireBefore, Date.parse('2025-06-18T12:00:00.500Z'));
  // Also in the legacy shape.
  const legacy = parse(
    `<request xmlns='urn:xmpp:http:upload'><filename>a</filename><size>1</size><purpose ${PURPOSE}><profile/></purpose></request>`,
  );
  assert.ok(legacy.ok);
  assert.equal(legacy.request.purpose, 'profile');
});

test('purposes: a <purpose/> in another namespace is ignored', () => {
  const r = parse(
    "<request xmlns='urn:xmpp:http:upload:0' filename='a' size='1'><purpose xmlns='urn:example'><profile/></purpose></request>",
  );
  assert.ok(r.ok);
  assert.equal(r.request.purpose, 'message');
});

test('purposes: malformed → bad-request, unknown → feature-not-implemented', () => {
  badRequest(withPurpose('<ephemeral/>'), /needs an expire-before/);
  badRequest(withPurpose("<ephemeral expire-before='tomorrow'/>"), /not an XEP-0082 timestamp/);
  badRequest(withPurpose("<ephemeral expire-before='2025-06-18'/>"), /not an XEP-0082 timestamp/);
  badRequest(withPurpose("<ephemeral expire-before='2025-06-17T11:59:59Z'/>"), /in the past/);
  badRequest(withPurpose(''), /exactly one/);
  badRequest(withPurpose('<message/><profile/>'), /exactly one/);
  badRequest(
    `<request xmlns='urn:xmpp:http:upload:0' filename='a' size='1'><purpose ${PURPOSE}><message/></purpose><purpose ${PURPOSE}><message/></purpose></request>`,
    /more than one/,
  );
  const unknown = refusalOf(withPurpose('<forever/>'));
  assert.equal(`${unknown.type}/${unknown.condition}`, 'cancel/feature-not-implemented');
  assert.match(unknown.text, /"forever"/);
});

test('anything but <request/> in an upload namespace → feature-not-implemented', () => {
  for (const source of [
    "<slot xmlns='urn:xmpp:http:upload:0'/>",
    "<request xmlns='urn:xmpp:http:upload:99' filename='a' size='1'/>",
    "<request filename='a' size='1'/>",
  ]) {
    const refusal = refusalOf(source);
    assert.equal(`${refusal.type}/${refusal.condition}`, 'cancel/feature-not-implemented', source);
  }
});

test('isSlotRequest recognises the three namespaces only', () => {
  for (const ns of NAMESPACES) assert.ok(isSlotRequest(parseXml(`<request xmlns='${ns}'/>`)));
  assert.ok(!isSlotRequest(parseXml("<request xmlns='urn:xmpp:http:upload:1'/>")));
  assert.ok(!isSlotRequest(parseXml("<slot xmlns='urn:xmpp:http:upload:0'/>")));
});

test('parseXmppDateTime: XEP-0082 DateTime only', () => {
  assert.equal(parseXmppDateTime('2017-12-03T23:42:05Z'), Date.UTC(2017, 11, 3, 23, 42, 5));
  assert.equal(parseXmppDateTime('2017-12-03T23:42:05.123-05:00'), Date.UTC(2017, 11, 4, 4, 42, 5, 123));
  for (const bad of [
    '2017-12-03',
    '2017-12-03T23:42Z',
    '2017-12-03 23:42:05Z',
    '2017-12-03T23:42:05',
    '2017-13-03T23:42:05Z',
    'now',
  ]) {
    assert.equal(parseXmppDateTime(bad), undefined, bad);
  }
});
