import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, ConfigSyntaxError } from './errors.ts';
import {
  EMPTY_DOCUMENT,
  escapeText,
  leafNames,
  lineCol,
  parseOpenfireXml,
  readAttributes,
  readProperty,
  setAttributes,
  setProperty,
  unsetProperty,
} from './openfire-xml.ts';

/** An Openfire openfire.xml with foreign elements, attributes, comments, CDATA and a declaration. */
const OPENFIRE = readFileSync(new URL('./fixtures/openfire.xml', import.meta.url), 'utf8');
const P = 'plugin.httpfileupload.';

/** The one contiguous change between two texts. */
function change(before: string, after: string): { at: number; removed: string; added: string } {
  let p = 0;
  while (p < before.length && p < after.length && before[p] === after[p]) p++;
  let s = 0;
  while (s < before.length - p && s < after.length - p && before[before.length - 1 - s] === after[after.length - 1 - s])
    s++;
  return { at: p, removed: before.slice(p, before.length - s), added: after.slice(p, after.length - s) };
}

const read = (text: string, name: string) => readProperty(parseOpenfireXml(text), name);

test('reads properties of a real openfire.xml, including foreign ones', () => {
  assert.equal(read(OPENFIRE, P + 'maxFileSize'), '104857600');
  assert.equal(read(OPENFIRE, P + 'serverspecific.fileRepo'), '/srv/uploads/node1');
  assert.equal(read(OPENFIRE, P + 'announcedWebHost'), '');
  assert.equal(read(OPENFIRE, P + 'domain'), undefined);
  assert.equal(
    read(OPENFIRE, 'database.defaultProvider.serverURL'),
    'jdbc:postgresql://localhost:5432/openfire?ssl=true&sslmode=require',
  );
  assert.equal(read(OPENFIRE, 'plugin.other-plugin'), 'keep <me>');
  assert.equal(read(OPENFIRE, 'network.interface'), undefined, 'commented-out elements do not count');
});

test('set of an existing property changes only its text', () => {
  const after = setProperty(OPENFIRE, P + 'maxFileSize', '10M');
  const at = OPENFIRE.indexOf('104857600');
  assert.equal(after, OPENFIRE.slice(0, at) + '10M' + OPENFIRE.slice(at + '104857600'.length));
  assert.equal(read(after, P + 'maxFileSize'), '10M');
});

test('set of an empty element fills it in place', () => {
  const after = setProperty(OPENFIRE, P + 'announcedWebHost', 'up.example.org');
  const c = change(OPENFIRE, after);
  assert.deepEqual([c.removed, c.added], ['', 'up.example.org']);
  assert.equal(read(after, P + 'announcedWebHost'), 'up.example.org');
});

test('set of a new property inserts one indented element and nothing else', () => {
  const after = setProperty(OPENFIRE, P + 'serverspecific.xmppPort', '5347');
  const c = change(OPENFIRE, after);
  assert.equal(c.removed, '');
  assert.equal(c.added.trim(), '<xmppPort>5347</xmppPort>');
  assert.match(
    after,
    /\n {16}<fileRepo>\/srv\/uploads\/node1<\/fileRepo>\n {16}<xmppPort>5347<\/xmppPort>\n {12}<\/serverspecific>/,
  );
  assert.equal(read(after, P + 'serverspecific.xmppPort'), '5347');
});

test('set creates missing parents with the file’s indentation; unset removes them again', () => {
  const after = setProperty(OPENFIRE, 'plugin.other.deep.value', 'x');
  const at = OPENFIRE.indexOf('\n    </plugin>');
  const snippet =
    '\n        <other>\n            <deep>\n                <value>x</value>\n            </deep>\n        </other>';
  assert.equal(after, OPENFIRE.slice(0, at) + snippet + OPENFIRE.slice(at));
  assert.equal(unsetProperty(after, 'plugin.other.deep.value'), OPENFIRE);
});

test('a full set/unset round trip of every kind leaves the file byte-identical', () => {
  let t = OPENFIRE;
  t = setProperty(t, P + 'domain', 'upload.example.org');
  t = setProperty(t, P + 'serverspecific.webPort', '8080');
  t = setProperty(t, P + 'sharedSecret', 'a&b<c>');
  assert.equal(read(t, P + 'sharedSecret'), 'a&b<c>');
  assert.match(t, /<sharedSecret>a&amp;b&lt;c&gt;<\/sharedSecret>/);
  parseOpenfireXml(t);
  t = unsetProperty(t, P + 'sharedSecret');
  t = unsetProperty(t, P + 'serverspecific.webPort');
  t = unsetProperty(t, P + 'domain');
  assert.equal(t, OPENFIRE);
});

test('unset of a property that is not there returns the same text', () => {
  assert.equal(unsetProperty(OPENFIRE, P + 'domain'), OPENFIRE);
  assert.equal(unsetProperty(OPENFIRE, 'nothing.at.all'), OPENFIRE);
});

test('unset removes parents it emptied, keeps those that still hold something or carry attributes', () => {
  const after = unsetProperty(OPENFIRE, P + 'serverspecific.fileRepo');
  const from = OPENFIRE.indexOf('\n            <serverspecific>');
  const to = OPENFIRE.indexOf('</serverspecific>') + '</serverspecific>'.length;
  assert.equal(after, OPENFIRE.slice(0, from) + OPENFIRE.slice(to), 'serverspecific (emptied) goes, the comment stays');
  const withAttr = '<jive><plugin a="1"><httpfileupload><x>1</x></httpfileupload></plugin></jive>';
  assert.equal(unsetProperty(withAttr, 'plugin.httpfileupload.x'), '<jive><plugin a="1"></plugin></jive>');
});

test('an empty file skeleton grows into a nested document', () => {
  const t = setProperty(EMPTY_DOCUMENT, P + 'maxFileSize', '10M');
  assert.equal(
    t,
    '<?xml version="1.0" encoding="UTF-8"?>\n<jive>\n  <plugin>\n    <httpfileupload>\n      <maxFileSize>10M</maxFileSize>\n    </httpfileupload>\n  </plugin>\n</jive>\n',
  );
  assert.equal(unsetProperty(t, P + 'maxFileSize'), EMPTY_DOCUMENT);
});

test('self-closing elements, CRLF, tabs, BOM and a DOCTYPE', () => {
  const crlf =
    '\uFEFF<?xml version="1.0"?>\r\n<!DOCTYPE jive [ <!ENTITY x "y"> ]>\r\n<jive>\r\n\t<plugin/>\r\n</jive>\r\n';
  const t = setProperty(crlf, P + 'maxFileSize', '1');
  assert.equal(
    t,
    '\uFEFF<?xml version="1.0"?>\r\n<!DOCTYPE jive [ <!ENTITY x "y"> ]>\r\n<jive>\r\n\t<plugin>\r\n\t\t<httpfileupload>\r\n\t\t\t<maxFileSize>1</maxFileSize>\r\n\t\t</httpfileupload>\r\n\t</plugin>\r\n</jive>\r\n',
  );
  assert.equal(setProperty('<jive><a x="1" /></jive>', 'a', 'v'), '<jive><a x="1" >v</a></jive>');
  assert.equal(setProperty('<jive/>', 'a', 'v'), '<jive>\n  <a>v</a>\n</jive>');
});

test('a new element takes the indentation most of its siblings use; a stray tab line does not decide', () => {
  const t =
    '<jive>\n\t<locale>en</locale>\n  <adminConsole>\n    <port>9090</port>\n  </adminConsole>\n  <network/>\n</jive>\n';
  assert.equal(
    setProperty(t, P + 'maxFileSize', '1'),
    '<jive>\n\t<locale>en</locale>\n  <adminConsole>\n    <port>9090</port>\n  </adminConsole>\n  <network/>\n' +
      '  <plugin>\n    <httpfileupload>\n      <maxFileSize>1</maxFileSize>\n    </httpfileupload>\n  </plugin>\n</jive>\n',
  );
  const tie = '<jive>\n\t<locale>en</locale>\n  <adminConsole>\n    <port>9090</port>\n  </adminConsole>\n</jive>\n';
  assert.equal(
    setProperty(tie, 'a', 'v'),
    tie.replace('</jive>', '  <a>v</a>\n</jive>'),
    'a tie goes to the document style',
  );
  const mostlyTabs = '<jive>\n\t<a>1</a>\n\t<b>2</b>\n  <c>3</c>\n</jive>\n';
  assert.equal(
    setProperty(mostlyTabs, 'd.e', 'v'),
    mostlyTabs.replace('</jive>', '\t<d>\n\t\t<e>v</e>\n\t</d>\n</jive>'),
  );
});

test('comments and CDATA inside a property element', () => {
  const t = '<jive><a><!-- note --> old </a><b><![CDATA[x<y]]></b></jive>';
  assert.equal(read(t, 'a'), 'old');
  assert.equal(read(t, 'b'), 'x<y');
  assert.equal(setProperty(t, 'a', 'new'), '<jive><a><!-- note --> new </a><b><![CDATA[x<y]]></b></jive>');
  assert.equal(setProperty(t, 'b', 'z'), '<jive><a><!-- note --> old </a><b>z</b></jive>');
});

test('as in Openfire, the first element of a name counts', () => {
  const t = '<jive><a><b>1</b></a><a><b>2</b><c>3</c></a></jive>';
  assert.equal(read(t, 'a.b'), '1');
  assert.equal(read(t, 'a.c'), undefined);
  assert.equal(setProperty(t, 'a.b', '9'), '<jive><a><b>9</b></a><a><b>2</b><c>3</c></a></jive>');
});

test('a property element holding other elements is not overwritten', () => {
  assert.throws(() => setProperty('<jive><a><b/></a></jive>', 'a', 'x'), ConfigError);
});

test('non-ASCII values, and character references for non-UTF-8 files', () => {
  assert.equal(read(setProperty('<jive/>', 'a', 'bücher.example'), 'a'), 'bücher.example');
  assert.equal(escapeText('bü', true), 'b&#xfc;');
  assert.equal(read('<jive><a>b&#xfc;&#252;</a></jive>', 'a'), 'büü');
});

test('leafNames lists elements below a prefix', () => {
  assert.deepEqual(leafNames(parseOpenfireXml(OPENFIRE), 'plugin.httpfileupload'), [
    P + 'maxFileSize',
    P + 'announcedWebHost',
  ]);
  assert.deepEqual(leafNames(parseOpenfireXml(OPENFIRE), 'plugin.httpfileupload.serverspecific'), [
    P + 'serverspecific.fileRepo',
  ]);
  assert.deepEqual(leafNames(parseOpenfireXml(OPENFIRE), 'nothing'), []);
});

test('malformed documents are reported with line and column', () => {
  const cases: [string, number, number, RegExp][] = [
    ['<jive>\n  <a>1</b>\n</jive>', 2, 7, /<\/b> closes <a>/],
    ['<jive>\n  <plugin>\n', 2, 3, /<plugin> is never closed/],
    ['<?xml version="1.0"?>\n<config>\n</config>\n', 2, 1, /root element is <config>, expected <jive>/],
    ['<jive/>\n<jive/>', 2, 1, /second root element/],
    ['<jive>\n  <!-- open\n</jive>', 2, 3, /comment is never closed/],
    ['hello', 1, 1, /text before the root/],
    ['<jive></jive>\ntrailing', 2, 1, /text after the root/],
    ['<jive>\n <a b=1/>\n</jive>', 2, 7, /must be quoted/],
    ['<jive>\n  <a>x < y</a>\n</jive>', 2, 9, /./],
    ['<jive a="1" a="2"/>', 1, 13, /repeated/],
  ];
  for (const [text, line, col, msg] of cases) {
    assert.throws(
      () => parseOpenfireXml(text, '/etc/x.xml'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigSyntaxError, text);
        assert.deepEqual([err.line, err.col], [line, col], `${text}: ${err.message}`);
        assert.match(err.message, msg);
        assert.ok(err.message.startsWith(`/etc/x.xml:${line}:${col}: `), err.message);
        return true;
      },
    );
  }
});

test('lineCol', () => {
  assert.deepEqual(lineCol('ab\ncd\n', 0), { line: 1, col: 1 });
  assert.deepEqual(lineCol('ab\ncd\n', 4), { line: 2, col: 2 });
});

test('attributes of a property element, as Openfire marks encrypted values', () => {
  const doc = parseOpenfireXml(
    `<jive><plugin><httpfileupload><serverspecific>\n` +
      `<clamavHost encrypted="true" iv='MDEy&amp;NDU2'>abc</clamavHost><plain>1</plain><empty a = "x&#x41;" />` +
      `</serverspecific></httpfileupload></plugin></jive>`,
  );
  const base = 'plugin.httpfileupload.serverspecific.';
  assert.deepEqual(readAttributes(doc, base + 'clamavHost'), { encrypted: 'true', iv: 'MDEy&NDU2' });
  assert.deepEqual(readAttributes(doc, base + 'plain'), {});
  assert.deepEqual(readAttributes(doc, base + 'empty'), { a: 'xA' });
  assert.equal(readAttributes(doc, base + 'missing'), undefined);
});

test('setAttributes changes only the named attributes of the start tag', () => {
  const text = `<jive>\n  <a  encrypted='true'   iv="b2xk" keep="1">v</a>\n  <e other="x"/>\n</jive>\n`;
  assert.equal(
    setAttributes(text, 'a', { iv: 'bmV3' }),
    `<jive>\n  <a  encrypted='true'   iv="bmV3" keep="1">v</a>\n  <e other="x"/>\n</jive>\n`,
  );
  assert.equal(
    setAttributes(text, 'a', { encrypted: undefined, iv: undefined }),
    `<jive>\n  <a keep="1">v</a>\n  <e other="x"/>\n</jive>\n`,
  );
  assert.equal(
    setAttributes(text, 'e', { iv: 'a"b<' }),
    `<jive>\n  <a  encrypted='true'   iv="b2xk" keep="1">v</a>\n  <e other="x" iv="a&quot;b&lt;"/>\n</jive>\n`,
  );
  assert.equal(setAttributes(text, 'missing', { iv: 'x' }), text);
  assert.equal(setAttributes('<jive><b>1</b></jive>', 'b', { iv: undefined }), '<jive><b>1</b></jive>');
  const round = setAttributes(text, 'e', { iv: 'x' });
  assert.deepEqual(readAttributes(parseOpenfireXml(round), 'e'), { other: 'x', iv: 'x' });
});
