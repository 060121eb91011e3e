import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slotAnswer } from './slot-answer.ts';

const urls = { put: 'https://h:443/r/ID/a%20b.txt?t=P.M', get: 'https://h:443/r/ID/a%20b.txt' };
const esc = (s: string) => s.replace(/&/g, '&amp;');

test(':0 with attributes: url attributes only (XEP-0363 ≥ 0.3)', () => {
  assert.equal(
    slotAnswer({ namespace: 'urn:xmpp:http:upload:0', shape: 'attributes' }, urls).toString(),
    `<slot xmlns="urn:xmpp:http:upload:0"><put url="${urls.put}"/><get url="${urls.get}"/></slot>`,
  );
});

test('legacy namespaces with elements: URLs as text (XEP-0363 ≤ 0.2), no headers', () => {
  for (const ns of ['urn:xmpp:http:upload', 'eu:siacs:conversations:http:upload']) {
    assert.equal(
      slotAnswer({ namespace: ns as 'urn:xmpp:http:upload', shape: 'elements' }, urls, {
        Authorization: 'Bearer x',
      }).toString(),
      `<slot xmlns="${ns}"><put>${urls.put}</put><get>${urls.get}</get></slot>`,
    );
  }
});

test('mixed shapes get both the url attribute and the text', () => {
  const both = `<put url="${urls.put}">${urls.put}</put><get url="${urls.get}">${urls.get}</get>`;
  assert.equal(
    slotAnswer({ namespace: 'urn:xmpp:http:upload:0', shape: 'elements' }, urls).toString(),
    `<slot xmlns="urn:xmpp:http:upload:0">${both}</slot>`,
  );
  assert.equal(
    slotAnswer({ namespace: 'urn:xmpp:http:upload', shape: 'attributes' }, urls).toString(),
    `<slot xmlns="urn:xmpp:http:upload">${both}</slot>`,
  );
});

test('URLs are XML-escaped', () => {
  const amp = { put: 'http://h:1/a/b?t=1&x=2', get: 'http://h:1/a/b' };
  assert.equal(
    slotAnswer({ namespace: 'urn:xmpp:http:upload', shape: 'elements' }, amp).toString(),
    `<slot xmlns="urn:xmpp:http:upload"><put>${esc(amp.put)}</put><get>${amp.get}</get></slot>`,
  );
});

test('headers: only in :0 attribute answers, exactly the three allowed names, newlines stripped', () => {
  assert.equal(
    slotAnswer({ namespace: 'urn:xmpp:http:upload:0', shape: 'attributes' }, urls, {
      Authorization: 'Basic x\r\ny',
      Expires: 'Tue, 1 Jul 2025 00:00:00 GMT',
    }).toString(),
    `<slot xmlns="urn:xmpp:http:upload:0"><put url="${urls.put}"><header name="Authorization">Basic xy</header><header name="Expires">Tue, 1 Jul 2025 00:00:00 GMT</header></put><get url="${urls.get}"/></slot>`,
  );
  assert.throws(
    () =>
      slotAnswer({ namespace: 'urn:xmpp:http:upload:0', shape: 'attributes' }, urls, { authorization: 'x' } as never),
    /not one of Authorization, Cookie, Expires/,
  );
});
