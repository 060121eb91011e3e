import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTzo, timeQuery, versionQuery } from './entity-info.ts';

test('version: name and version, os only when given', () => {
  assert.equal(
    versionQuery({ name: 'fileupload', version: '0.1.0' }).toString(),
    '<query xmlns="jabber:iq:version"><name>fileupload</name><version>0.1.0</version></query>',
  );
  assert.equal(
    versionQuery({ name: 'fileupload', version: '1', os: 'Linux' }).toString(),
    '<query xmlns="jabber:iq:version"><name>fileupload</name><version>1</version><os>Linux</os></query>',
  );
});

test('time: tzo and utc (XEP-0082, whole seconds)', () => {
  assert.equal(
    timeQuery(new Date('2006-12-19T17:58:35.123Z'), -360).toString(),
    '<time xmlns="urn:xmpp:time"><tzo>-06:00</tzo><utc>2006-12-19T17:58:35Z</utc></time>',
  );
  assert.match(
    timeQuery(new Date()).toString(),
    /<tzo>[+-]\d\d:\d\d<\/tzo><utc>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ<\/utc>/,
  );
});

test('formatTzo', () => {
  assert.equal(formatTzo(0), '+00:00');
  assert.equal(formatTzo(-0), '+00:00');
  assert.equal(formatTzo(330), '+05:30');
  assert.equal(formatTzo(-570), '-09:30');
  assert.equal(formatTzo(840), '+14:00');
});
