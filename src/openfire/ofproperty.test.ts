import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenfireFormatError } from './errors.ts';
import { importProperty, readHsqldbProperties, readSqlDumpProperties } from './ofproperty.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'openfire-ofproperty-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The shape HSQLDB 2.7 gives Openfire 4.x/5.x's embedded-db/openfire.script. */
const SCRIPT = `SET DATABASE UNIQUE NAME HSQLDB8E2D1C3A4B
SET DATABASE DEFAULT RESULT MEMORY ROWS 0
CREATE SCHEMA PUBLIC AUTHORIZATION DBA
CREATE MEMORY TABLE PUBLIC.OFPROPERTY(NAME VARCHAR(100) NOT NULL,PROPVALUE VARCHAR(4000) NOT NULL,ENCRYPTED INTEGER,IV CHARACTER(24),CONSTRAINT OFPROPERTY_PK PRIMARY KEY(NAME))
SET SCHEMA PUBLIC
INSERT INTO OFUSER VALUES('admin',NULL,NULL,NULL,4096,NULL,'becb0c67','Administrator','admin@example.org','001700223740785','0')
INSERT INTO OFPROPERTY VALUES('cache.MUCService''conference''Rooms.size','-1',0,NULL)
INSERT INTO OFPROPERTY VALUES('passwordKey','hGXiFzsKaAeYLjn',0,NULL)
INSERT INTO OFPROPERTY VALUES('plugin.httpfileupload.announcedWebHost','up.example.org',0,NULL)
INSERT INTO OFPROPERTY VALUES('plugin.httpfileupload.clamavHost','O/6254IEYaVKiyGzS5FgFQ==',1,'tOABsJ6gkWrO5+acg9eKlA==')
INSERT INTO OFPROPERTY VALUES('plugin.httpfileupload.fileRepo','/var/lib/openfire/uploads/caf\\u00e9 ''quoted'' \\u005cu',0,NULL)
INSERT INTO OFPROPERTY VALUES('plugin.httpfileupload.maxFileSize','104857600',0,NULL)
INSERT INTO OFPROPERTY VALUES('xmpp.domain','example.org',0,NULL)
INSERT INTO OFSECURITYAUDITLOG VALUES(2,'admin',1700223756534,'edited','example.org','port = 7777\\u000ahardcodedAddress = null')
`;

/** HSQLDB's log of changes since the last checkpoint: session-tagged statements, an update as DELETE + INSERT. */
const LOG = `/*C2*/SET SCHEMA PUBLIC
DELETE FROM OFPROPERTY WHERE NAME='plugin.httpfileupload.maxFileSize'
INSERT INTO OFPROPERTY VALUES('plugin.httpfileupload.maxFileSize','0',0,NULL)
COMMIT
/*C3*/DELETE FROM OFPROPERTY WHERE NAME='plugin.httpfileupload.announcedWebHost'
COMMIT
/*C3*/INSERT INTO OFPROPERTY VALUES('plugin.httpfileupload.clamavEnabled','true',0,NULL)
COMMIT
`;

test('the embedded database: the script, then the log replayed over it; only the import’s properties', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'openfire.script'), SCRIPT);
  writeFileSync(join(dir, 'openfire.log'), LOG);
  const props = await readHsqldbProperties(join(dir, 'openfire.script'));
  assert.deepEqual(Object.fromEntries(props), {
    'plugin.httpfileupload.clamavHost': {
      value: 'O/6254IEYaVKiyGzS5FgFQ==',
      encrypted: true,
      iv: 'tOABsJ6gkWrO5+acg9eKlA==',
    },
    'plugin.httpfileupload.fileRepo': {
      value: "/var/lib/openfire/uploads/café 'quoted' \\u",
      encrypted: false,
      iv: undefined,
    },
    'plugin.httpfileupload.maxFileSize': { value: '0', encrypted: false, iv: undefined },
    'xmpp.domain': { value: 'example.org', encrypted: false, iv: undefined },
    'plugin.httpfileupload.clamavEnabled': { value: 'true', encrypted: false, iv: undefined },
  });
  const all = await readHsqldbProperties(join(dir, 'openfire.script'), undefined, () => true);
  assert.equal(all.get("cache.MUCService'conference'Rooms.size")?.value, '-1');
  assert.equal(all.get('passwordKey')?.value, 'hGXiFzsKaAeYLjn');
});

test('older schemas: no iv (before 4.3), no encrypted column (before schema 26); a missing log is fine', async (t) => {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'openfire.script'),
    "INSERT INTO OFPROPERTY VALUES('xmpp.domain','old.example',0)\nINSERT INTO OFPROPERTY VALUES('xmpp.fqdn','xmpp.old.example')\n",
  );
  const props = await readHsqldbProperties(join(dir, 'openfire.script'));
  assert.deepEqual(props.get('xmpp.domain'), { value: 'old.example', encrypted: false, iv: undefined });
  assert.deepEqual(props.get('xmpp.fqdn'), { value: 'xmpp.old.example', encrypted: false, iv: undefined });
  await assert.rejects(readHsqldbProperties(join(dir, 'missing.script')), { code: 'ENOENT' });
});

test('a damaged row is refused with file and line', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'openfire.script');
  writeFileSync(file, "SET SCHEMA PUBLIC\nINSERT INTO OFPROPERTY VALUES('xmpp.domain','cut off\n");
  await assert.rejects(
    readHsqldbProperties(file),
    (e: unknown) => e instanceof OpenfireFormatError && e.line === 2 && e.file === file,
  );
  writeFileSync(file, "INSERT INTO OFPROPERTY VALUES('a','b',0,NULL,'extra')\n");
  await assert.rejects(readHsqldbProperties(file), /5 values; expected name, propValue/);
  writeFileSync(file, 'CREATE CACHED TABLE PUBLIC.OFPROPERTY(NAME VARCHAR(100) NOT NULL)\n');
  await assert.rejects(readHsqldbProperties(file), /not a MEMORY table/);
  writeFileSync(file, "INSERT INTO OFPROPERTY VALUES('a','b',0,NULL,'extra')\n");
  await assert.rejects(readHsqldbProperties(file), /5 values; expected name, propValue/);
});

test('a PostgreSQL dump with COPY: tab-separated, \\N for NULL, backslash escapes', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'openfire.sql');
  writeFileSync(
    file,
    [
      '--',
      '-- PostgreSQL database dump',
      '--',
      'SET standard_conforming_strings = on;',
      'CREATE TABLE public.ofproperty (',
      '    name character varying(100) NOT NULL,',
      '    propvalue character varying(4000) NOT NULL,',
      '    encrypted integer,',
      '    iv character(24)',
      ');',
      'COPY public.ofproperty (name, propvalue, encrypted, iv) FROM stdin;',
      'passwordKey\tabc\t0\t\\N',
      'plugin.httpfileupload.announcedWebContextRoot\t/httpfileupload\t0\t\\N',
      'plugin.httpfileupload.clamavHost\tO/6254IEYaVKiyGzS5FgFQ==\t1\ttOABsJ6gkWrO5+acg9eKlA==',
      'plugin.httpfileupload.note\tline one\\nline\\ttwo \\\\ end\t\\N\t\\N',
      '\\.',
      'COPY public.ofuser (username) FROM stdin;',
      'plugin.httpfileupload.notAProperty',
      '\\.',
      '',
    ].join('\n'),
  );
  assert.deepEqual(Object.fromEntries(await readSqlDumpProperties(file)), {
    'plugin.httpfileupload.announcedWebContextRoot': { value: '/httpfileupload', encrypted: false, iv: undefined },
    'plugin.httpfileupload.clamavHost': {
      value: 'O/6254IEYaVKiyGzS5FgFQ==',
      encrypted: true,
      iv: 'tOABsJ6gkWrO5+acg9eKlA==',
    },
    'plugin.httpfileupload.note': { value: 'line one\nline\ttwo \\ end', encrypted: false, iv: undefined },
  });
});

test('a PostgreSQL dump with --column-inserts: a value spanning lines, rows split over several statements', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'openfire.sql');
  writeFileSync(
    file,
    [
      "INSERT INTO public.ofproperty (name, propvalue, encrypted, iv) VALUES ('xmpp.domain', 'example.org', 0, NULL);",
      "INSERT INTO public.ofproperty (propvalue, name) VALUES ('multi",
      "line; with ''quotes'' and \\ backslash', 'plugin.httpfileupload.motd');",
      'INSERT INTO public.ofproperty VALUES',
      "\t('plugin.httpfileupload.maxFileSize', '-1', 0, NULL),",
      "\t('plugin.httpfileupload.secret', E'it\\'s', 1, NULL);",
    ].join('\n') + '\n',
  );
  assert.deepEqual(Object.fromEntries(await readSqlDumpProperties(file)), {
    'xmpp.domain': { value: 'example.org', encrypted: false, iv: undefined },
    'plugin.httpfileupload.motd': {
      value: "multi\nline; with 'quotes' and \\ backslash",
      encrypted: false,
      iv: undefined,
    },
    'plugin.httpfileupload.maxFileSize': { value: '-1', encrypted: false, iv: undefined },
    'plugin.httpfileupload.secret': { value: "it's", encrypted: true, iv: undefined },
  });
});

test('a mysqldump: back-quoted names, extended INSERT, MySQL’s backslash escapes', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'openfire.sql');
  writeFileSync(
    file,
    [
      '-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)',
      '/*!40101 SET NAMES utf8mb4 */;',
      'LOCK TABLES `ofProperty` WRITE;',
      "INSERT INTO `ofProperty` VALUES ('passwordKey','x',0,NULL),('plugin.httpfileupload.fileRepo','C:\\\\uploads\\\\of',0,NULL),('plugin.httpfileupload.clamavHost','O/6254IEYaVKiyGzS5FgFQ==',1,'tOABsJ6gkWrO5+acg9eKlA=='),('xmpp.fqdn','it\\'s \\\"here\\\"',0,NULL);",
      'UNLOCK TABLES;',
    ].join('\n') + '\n',
  );
  assert.deepEqual(Object.fromEntries(await readSqlDumpProperties(file)), {
    'plugin.httpfileupload.fileRepo': { value: 'C:\\uploads\\of', encrypted: false, iv: undefined },
    'plugin.httpfileupload.clamavHost': {
      value: 'O/6254IEYaVKiyGzS5FgFQ==',
      encrypted: true,
      iv: 'tOABsJ6gkWrO5+acg9eKlA==',
    },
    'xmpp.fqdn': { value: 'it\'s "here"', encrypted: false, iv: undefined },
  });
});

test('a dump that ends inside a statement or a COPY is refused with the line it started on', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cut.sql');
  writeFileSync(file, "SELECT 1;\nINSERT INTO ofProperty VALUES ('xmpp.domain', 'never closed\n");
  await assert.rejects(readSqlDumpProperties(file), (e: unknown) => e instanceof OpenfireFormatError && e.line === 2);
  writeFileSync(file, 'COPY ofproperty (name, propvalue) FROM stdin;\nxmpp.domain\tx\n');
  await assert.rejects(readSqlDumpProperties(file), /no \\\. line/);
});

test('the import’s properties: the plugin’s, the domain, the FQDN and the HTTP-bind ports', () => {
  assert.ok(importProperty('plugin.httpfileupload.serverspecific.fileRepo'));
  assert.ok(importProperty('xmpp.fqdn'));
  assert.ok(importProperty('httpbind.port.secure'));
  assert.ok(!importProperty('passwordKey'));
  assert.ok(!importProperty('plugin.httpfileuploadx'));
});

test('files a real HSQLDB 2.7 wrote: Openfire’s ofProperty DDL and statements, killed before a checkpoint', async () => {
  // fixtures/embedded-db: HSQLDB 2.7.1 ran Openfire's CREATE TABLE ofProperty and JiveProperties'
  // INSERT, then (logged, not checkpointed) its UPDATE, DELETE … OR name LIKE and INSERT.
  const script = new URL('./fixtures/embedded-db/openfire.script', import.meta.url).pathname;
  const props = await readHsqldbProperties(script);
  assert.deepEqual(Object.fromEntries(props), {
    'plugin.httpfileupload.clamavHost': {
      value: 'O/6254IEYaVKiyGzS5FgFQ==',
      encrypted: true,
      iv: 'tOABsJ6gkWrO5+acg9eKlA==',
    },
    'plugin.httpfileupload.fileRepo': { value: "/srv/café 'q' \\u005c x\ny\té𝄞", encrypted: false, iv: undefined },
    'plugin.httpfileupload.maxFileSize': { value: '0', encrypted: false, iv: undefined },
    'xmpp.domain': { value: 'example.org', encrypted: false, iv: undefined },
    'plugin.httpfileupload.clamavEnabled': { value: 'true', encrypted: false, iv: undefined },
  });
});
