import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childText, parseXml, xml } from './xml.ts';

test('parseXml keeps nesting, text and inherited namespaces', () => {
  const el = parseXml(
    "<request xmlns='urn:xmpp:http:upload'><filename>a &amp; b.txt</filename><size>3</size><x><y/></x></request>",
  );
  assert.equal(
    el.toString(),
    '<request xmlns="urn:xmpp:http:upload"><filename>a &amp; b.txt</filename><size>3</size><x><y/></x></request>',
  );
  assert.equal(el.getChild('filename')?.getNS(), 'urn:xmpp:http:upload');
});

test('parseXml throws on malformed XML', () => {
  assert.throws(() => parseXml('<a><b></a>'));
});

test('childText: the text of the first child of that name, undefined when absent', () => {
  const el = xml('r', {}, xml('filename', {}, 'x.txt'), xml('size', {}));
  assert.equal(childText(el, 'filename'), 'x.txt');
  assert.equal(childText(el, 'size'), '');
  assert.equal(childText(el, 'content-type'), undefined);
});
