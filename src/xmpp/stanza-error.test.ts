import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusalError, stanzaError, xmppTimestamp } from './stanza-error.ts';
import { badRequest, fileTooLarge, forbidden, internalError, notImplemented, quotaExceeded } from './refusal.ts';

const S = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const text = (t: string) => `<text xmlns="${S}" xml:lang="en">${t}</text>`;

test('file too large: modify/not-acceptable with file-too-large and max-file-size', () => {
  assert.equal(
    refusalError(fileTooLarge(20000)).toString(),
    `<error type="modify"><not-acceptable xmlns="${S}"/>${text('File too large. The maximum file size is 20000 bytes')}` +
      '<file-too-large xmlns="urn:xmpp:http:upload:0"><max-file-size>20000</max-file-size></file-too-large></error>',
  );
});

test('file-too-large and retry come in the namespace of the request', () => {
  assert.match(
    refusalError(fileTooLarge(20000), 'urn:xmpp:http:upload').toString(),
    /<file-too-large xmlns="urn:xmpp:http:upload"><max-file-size>20000<\/max-file-size><\/file-too-large>/,
  );
  assert.match(
    refusalError(quotaExceeded('Wait', Date.UTC(2017, 11, 3)), 'eu:siacs:conversations:http:upload').toString(),
    /<retry xmlns="eu:siacs:conversations:http:upload" stamp="2017-12-03T00:00:00Z"\/>/,
  );
});

test('quota: wait/resource-constraint with an XEP-0082 UTC retry stamp, or without one', () => {
  assert.equal(
    refusalError(quotaExceeded('Quota reached', Date.UTC(2017, 11, 3, 23, 42, 5))).toString(),
    `<error type="wait"><resource-constraint xmlns="${S}"/>${text('Quota reached')}<retry xmlns="urn:xmpp:http:upload:0" stamp="2017-12-03T23:42:05Z"/></error>`,
  );
  assert.equal(
    refusalError(quotaExceeded('Slow down')).toString(),
    `<error type="wait"><resource-constraint xmlns="${S}"/>${text('Slow down')}</error>`,
  );
});

test('bad request, forbidden, not implemented, internal error', () => {
  assert.equal(
    refusalError(badRequest('no size')).toString(),
    `<error type="modify"><bad-request xmlns="${S}"/>${text('no size')}</error>`,
  );
  assert.equal(
    refusalError(forbidden()).toString(),
    `<error type="auth"><forbidden xmlns="${S}"/>${text('You are not allowed to upload files to this service')}</error>`,
  );
  assert.equal(
    refusalError(notImplemented('nope')).toString(),
    `<error type="cancel"><feature-not-implemented xmlns="${S}"/>${text('nope')}</error>`,
  );
  assert.match(refusalError(internalError()).toString(), /^<error type="wait"><internal-server-error /);
});

test('the text is escaped; no text element without text', () => {
  assert.equal(
    stanzaError('modify', 'bad-request', 'a <b> & "c"').toString(),
    `<error type="modify"><bad-request xmlns="${S}"/>${text('a &lt;b&gt; &amp; "c"')}</error>`,
  );
  assert.equal(
    stanzaError('cancel', 'item-not-found').toString(),
    `<error type="cancel"><item-not-found xmlns="${S}"/></error>`,
  );
});

test('xmppTimestamp rounds up to whole seconds, never early', () => {
  assert.equal(xmppTimestamp(Date.UTC(2017, 11, 3, 23, 42, 5)), '2017-12-03T23:42:05Z');
  assert.equal(xmppTimestamp(Date.UTC(2017, 11, 3, 23, 42, 4, 1)), '2017-12-03T23:42:05Z');
  assert.equal(xmppTimestamp(Date.UTC(2017, 11, 31, 23, 59, 59, 999)), '2018-01-01T00:00:00Z');
});

test('boundedErrorReply: the echoed payload keeps its name, namespace and attributes, never its descendants', async () => {
  const { parseXml } = await import('./xml.ts');
  const { boundedErrorReply } = await import('./stanza-error.ts');
  const deep = `<iq type="error" id="x1" to="a@b/c"><a xmlns="urn:example:deep" size="1e3">${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</a>${stanzaError('cancel', 'feature-not-implemented').toString()}</iq>`;
  const reply = parseXml(deep);
  assert.throws(() => reply.toString(), RangeError, 'as it comes, the reply cannot even be serialised');
  assert.equal(
    boundedErrorReply(reply).toString(),
    `<iq type="error" id="x1" to="a@b/c"><a xmlns="urn:example:deep" size="1e3"/><error type="cancel"><feature-not-implemented xmlns="${S}"/></error></iq>`,
  );
});

test('boundedErrorReply: too much attribute text → only the namespace; prefixed payloads get their namespace declared', async () => {
  const { parseXml, xml } = await import('./xml.ts');
  const { boundedErrorReply, ECHO_ATTRIBUTES_LIMIT } = await import('./stanza-error.ts');
  const attrs = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`a${i}`, 'v']));
  const wide = xml(
    'iq',
    { type: 'error', id: 'w' },
    xml('q', { xmlns: 'urn:example:wide', ...attrs }, ...Array.from({ length: 20_000 }, () => xml('c'))),
    stanzaError('modify', 'bad-request'),
  );
  const bounded = boundedErrorReply(wide).toString();
  assert.ok(bounded.startsWith('<iq type="error" id="w"><q xmlns="urn:example:wide"/><error'), bounded.slice(0, 80));
  assert.ok(bounded.length < 300);
  const justUnder = xml(
    'iq',
    { type: 'error' },
    xml('q', { xmlns: 'urn:x', f: 'y'.repeat(ECHO_ATTRIBUTES_LIMIT - 1) }),
  );
  assert.match(boundedErrorReply(justUnder).toString(), /^<iq type="error"><q xmlns="urn:x" f="y+"\/><\/iq>$/);
  const prefixed = parseXml('<iq type="error" xmlns:p="urn:example:p"><p:q p:x="1" y="2"><p:c/></p:q></iq>');
  assert.equal(
    boundedErrorReply(prefixed).toString(),
    '<iq type="error" xmlns:p="urn:example:p"><q xmlns="urn:example:p" y="2"/></iq>',
  );
});

test('boundedErrorReply: results and other stanzas pass unchanged', async () => {
  const { xml } = await import('./xml.ts');
  const { boundedErrorReply } = await import('./stanza-error.ts');
  const result = xml('iq', { type: 'result' }, xml('query', { xmlns: 'urn:x' }, xml('item', { a: '1' })));
  assert.equal(boundedErrorReply(result), result);
  const message = xml('message', { type: 'error' }, xml('body', {}, 'hi'));
  assert.equal(boundedErrorReply(message), message);
});
