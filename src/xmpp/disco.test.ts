import { test } from 'node:test';
import assert from 'node:assert/strict';
import { announcedMaxFileSize, discoFeatures, discoInfo, discoItems } from './disco.ts';
import { catalogue } from '../config/catalogue.ts';

const form = (ns: string, max: string) =>
  `<x xmlns="jabber:x:data" type="result"><field var="FORM_TYPE" type="hidden"><value>${ns}</value></field><field var="max-file-size"><value>${max}</value></field></x>`;
const features = (vars: string[]) => vars.map((v) => `<feature var="${v}"/>`).join('');
const BASE = [
  'urn:xmpp:http:upload:0',
  'urn:xmpp:http:upload',
  'eu:siacs:conversations:http:upload',
  'http://jabber.org/protocol/disco#info',
  'http://jabber.org/protocol/disco#items',
  'urn:xmpp:ping',
  'jabber:iq:version',
  'urn:xmpp:time',
  'jabber:iq:last',
];

test('disco#info: store/file identity, the features, a max-file-size form per upload namespace', () => {
  assert.equal(
    discoInfo({ maxFileSize: 52428800 }).toString(),
    '<query xmlns="http://jabber.org/protocol/disco#info">' +
      '<identity category="store" type="file" name="HTTP File Upload"/>' +
      features(BASE) +
      form('urn:xmpp:http:upload:0', '52428800') +
      form('urn:xmpp:http:upload', '52428800') +
      form('eu:siacs:conversations:http:upload', '52428800') +
      '</query>',
  );
});

test('unlimited (-1) is announced as 2^53-1 so clients that need a limit still upload', () => {
  assert.equal(announcedMaxFileSize(-1), 9007199254740991);
  assert.equal(announcedMaxFileSize(0), 0);
  assert.equal(announcedMaxFileSize(10), 10);
  const xmlText = discoInfo({ maxFileSize: -1 }).toString();
  assert.equal(xmlText.match(/<value>9007199254740991<\/value>/g)?.length, 3);
});

test('purposes and extra features are appended, without duplicates', () => {
  assert.deepEqual(
    discoFeatures({
      maxFileSize: 1,
      purposes: ['message', 'ephemeral'],
      extraFeatures: ['urn:example:x', 'urn:xmpp:ping'],
    }),
    [...BASE, 'urn:xmpp:http:upload:purpose:0#message', 'urn:xmpp:http:upload:purpose:0#ephemeral', 'urn:example:x'],
  );
  assert.match(
    discoInfo({ maxFileSize: 1, purposes: ['profile'], name: 'Uploads' }).toString(),
    /name="Uploads".*<feature var="urn:xmpp:http:upload:purpose:0#profile"\/>/,
  );
});

test('disco#items is empty', () => {
  assert.equal(discoItems().toString(), '<query xmlns="http://jabber.org/protocol/disco#items"/>');
});

test('maxFileSize 0 or negative, as the Openfire plugin writes unlimited, is announced as 2^53-1, never left out', () => {
  for (const configured of ['0', '-1', '-5']) {
    const xmlText = discoInfo({ maxFileSize: catalogue.maxFileSize.parse(configured) }).toString();
    assert.equal(xmlText.match(/<value>9007199254740991<\/value>/g)?.length, 3, configured);
  }
});
