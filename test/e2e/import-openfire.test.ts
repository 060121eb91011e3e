/**
 * The migration from the Openfire plugin, as the README's guide does it: an Openfire-shaped
 * install (conf/openfire.xml as Openfire writes it, with encrypted and clear plugin properties;
 * conf/security.xml with AES under its own key; the embedded database's HSQLDB script and log;
 * the plugin's raw repository with both id forms, several content types and a large file), then
 * `fileupload import openfire` (a dry run that changes nothing, the import, a second run that
 * imports nothing new), `slots ls`, serve on the written configuration, and every old URL with the
 * plugin's file names and with any other name after the id — directly and through nginx set up
 * with the `location` blocks of the README's migration guide; then purge's maxAge on them. Into a
 * folder and into an S3 bucket (a throw-away radosgw), where every upload is streamed in.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startRadosgw, type RadosgwServer } from '../../scripts/testservers/ceph.ts';
import { freePort, portAccepts, spawnGroup, trackDir, waitFor } from '../../scripts/testservers/processes.ts';
import { OpenfireCipher, parseSecurityXml } from '../../src/openfire/cipher.ts';
import { http, sha256 } from '../support/http.ts';
import { NGINX } from '../support/nginx-lb.ts';
import {
  REPO_ROOT,
  listTree,
  openfireXml,
  runFileupload,
  serveConfigFor,
  startServe,
  type ServeProcess,
} from '../support/serve.ts';

const MiB = 1024 * 1024;
const PREFIX = 'imported/';

/** Openfire's built-in AES key and the fixed IV it obfuscates security.xml's key with (AesEncryptor). */
const OPENFIRE_AES_KEY = Buffer.from('f2465d2ad1730b18cb8695a3b1e58927', 'hex');
const OPENFIRE_LEGACY_IV = Buffer.from('cd91a7c5278b39e0fa72d02983659d74', 'hex');

/** One upload the plugin stored, and the name its chat link carries. */
interface PluginFile {
  id: string;
  name: string;
  data: Buffer;
  type: string;
  mtime: Date;
}

const secureId = (): string => {
  for (;;) {
    const id = randomBytes(20).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
};

const FILES: PluginFile[] = [
  {
    // A leading '-' (the plugin's ids may start with one).
    id: `-${secureId().slice(1)}`,
    name: 'photo.png',
    data: Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), randomBytes(40_000)]),
    type: 'image/png',
    mtime: new Date('2023-05-04T10:00:00Z'),
  },
  {
    id: secureId(),
    name: 'Bericht März.pdf',
    data: Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(3000)]),
    type: 'application/pdf',
    mtime: new Date('2024-01-02T03:04:05Z'),
  },
  {
    id: crypto.randomUUID(),
    name: 'holiday.mp4',
    data: Buffer.concat([Buffer.from('\0\0\0\x18ftypisom', 'latin1'), randomBytes(24 * MiB)]),
    type: 'video/mp4',
    mtime: new Date('2022-12-24T18:00:00Z'),
  },
  {
    id: crypto.randomUUID(),
    name: 'cat.jpg',
    data: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2000)]),
    type: 'image/jpeg',
    mtime: new Date('2021-07-01T00:00:00Z'),
  },
  {
    id: secureId(),
    name: 'notes.txt',
    data: Buffer.from('plain text: the plugin kept no type, so none is sniffed\n'),
    type: 'application/octet-stream',
    mtime: new Date('2025-02-02T02:02:02Z'),
  },
];

/** The fixture's HSQLDB header (Openfire's embedded database as HSQLDB 2.7 writes it), up to the rows. */
function hsqldbHeader(): string {
  const fixture = readFileSync(join(REPO_ROOT, 'src/openfire/fixtures/embedded-db/openfire.script'), 'utf8');
  const lines = fixture.split('\n');
  return lines.slice(0, lines.lastIndexOf('SET SCHEMA PUBLIC') + 1).join('\n');
}

const sql = (s: string): string => `'${s.replace(/'/g, "''")}'`;

interface Install {
  home: string;
  pluginRepo: string;
}

/** Writes an Openfire home as Openfire 4.x/5.x leaves it, with the plugin's repository beside it. */
function buildOpenfire(dir: string): Install {
  const home = join(dir, 'openfire');
  const pluginRepo = join(dir, 'openfire-uploads');
  mkdirSync(join(home, 'conf'), { recursive: true });
  mkdirSync(join(home, 'embedded-db'));
  mkdirSync(pluginRepo);

  const key = 'q8vM2pL0xZ7rT4nB';
  const obfuscate = createCipheriv('aes-128-cbc', OPENFIRE_AES_KEY, OPENFIRE_LEGACY_IV);
  const obfuscated = Buffer.concat([obfuscate.update(key, 'utf8'), obfuscate.final()]).toString('base64');
  const securityXml = `<?xml version="1.0" encoding="UTF-8"?>

<!--
    This file stores security-related properties needed by Openfire.
-->

<security>
  <encrypt>
    <algorithm>AES</algorithm>
    <key>
      <current>${obfuscated}</current>
    </key>
    <property>
      <name>database.defaultProvider.username</name>
      <name>database.defaultProvider.password</name>
      <name>plugin.httpfileupload.announcedWebHost</name>
    </property>
  </encrypt>
</security>
`;
  writeFileSync(join(home, 'conf', 'security.xml'), securityXml);
  const cipher = new OpenfireCipher(parseSecurityXml(securityXml));
  const host = cipher.encrypt('files.example.org');
  const port = cipher.encrypt('443');

  writeFileSync(
    join(home, 'conf', 'openfire.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>

<!--
    This file stores bootstrap properties needed by Openfire.
    Property names must be in the format: "prop.name.is.blah=value"
    That will be stored as:
        <prop>
            <name>
                <is>
                    <blah>value</blah>
                </is>
            </name>
        </prop>

    Most properties are stored in the Openfire database. A
    property viewer and editor is included in the admin console.
-->
<!-- root element, all properties must be under this element -->
<jive>
  <adminConsole>
    <!-- Disable either port by setting the value to -1 -->
    <port>9090</port>
    <securePort>9091</securePort>
    <interface>127.0.0.1</interface>
  </adminConsole>
  <locale>en</locale>
  <!-- Network settings. By default, Openfire will bind to all network interfaces.
      Alternatively, you can specify a specific network interfaces that the server
      will listen on. For example, 127.0.0.1. This setting is generally only useful
       on multi-homed servers. -->
  <!--
    <network>
        <interface></interface>
    </network>
    -->
  <connectionProvider>
    <className>org.jivesoftware.database.EmbeddedConnectionProvider</className>
  </connectionProvider>
  <setup>true</setup>
  <fqdn>xmpp.example.org</fqdn>
  <plugin>
    <httpfileupload>
      <serverspecific>
        <fileRepo>${pluginRepo}</fileRepo>
        <announcedWebPort encrypted="true" iv="${port.iv}">${port.value}</announcedWebPort>
        <webContextRoot>/httpfileupload</webContextRoot>
        <wildcardCORS>true</wildcardCORS>
      </serverspecific>
    </httpfileupload>
  </plugin>
</jive>
`,
  );

  const row = (name: string, value: string, iv?: string): string =>
    `INSERT INTO OFPROPERTY VALUES(${sql(name)},${sql(value)},${iv ? 1 : 0},${iv ? sql(iv) : 'NULL'})`;
  writeFileSync(
    join(home, 'embedded-db', 'openfire.script'),
    [
      hsqldbHeader(),
      row('plugin.httpfileupload.announcedWebHost', host.value, host.iv),
      row('plugin.httpfileupload.announcedWebProtocol', 'https'),
      row('plugin.httpfileupload.fileRepo', pluginRepo),
      row('plugin.httpfileupload.maxFileSize', '52428800'),
      row('provider.admin.className', 'org.jivesoftware.openfire.admin.DefaultAdminProvider'),
      row('xmpp.domain', 'example.org'),
      '',
    ].join('\n'),
  );
  // Changes HSQLDB has not checkpointed into the script yet: the size limit raised later.
  writeFileSync(
    join(home, 'embedded-db', 'openfire.log'),
    [
      '/*C2*/SET SCHEMA PUBLIC',
      "DELETE FROM OFPROPERTY WHERE NAME='plugin.httpfileupload.maxFileSize'",
      row('plugin.httpfileupload.maxFileSize', '104857600'),
      'COMMIT',
      '',
    ].join('\n'),
  );

  for (const f of FILES) {
    const path = join(pluginRepo, f.id);
    writeFileSync(path, f.data);
    utimesSync(path, f.mtime, f.mtime);
  }
  // Not uploads: the plugin never served these.
  writeFileSync(join(pluginRepo, 'README.txt'), 'not an upload');
  writeFileSync(join(pluginRepo, crypto.randomUUID().toUpperCase()), 'an upper-case UUID');
  return { home, pluginRepo };
}

/** The README's nginx configuration of the migration guide: its `map` and `location` blocks. */
function guideNginxBlocks(): { map: string; locations: string } {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- migration-nginx:start -->');
  const end = readme.indexOf('<!-- migration-nginx:end -->');
  assert.ok(start >= 0 && end > start, 'README has the migration guide’s nginx block');
  const text = readme.slice(start, end);
  const map = /^\s*(map \$http_upgrade[^\n]*)$/m.exec(text)?.[1];
  const locations = [...text.matchAll(/^( *location [^\n]*\{\n[\s\S]*?^ *\})$/gm)].map((m) => m[1]!);
  assert.ok(map, 'the guide’s map line');
  assert.equal(locations.length, 2, 'the guide has two locations: fileupload and Openfire');
  return { map, locations: locations.join('\n') };
}

interface NginxProxy {
  origin: string;
  stop(): Promise<void>;
}

/** nginx on a free loopback port with the guide's blocks, its upstreams moved to the test's ports. */
async function startGuideProxy(serveUpstream: string, openfireUpstream: string): Promise<NginxProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'fileupload-import-nginx-'));
  trackDir(dir);
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const port = await freePort();
  const { map, locations } = guideNginxBlocks();
  const conf = `${process.getuid?.() === 0 ? 'user root root;\n' : ''}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${map}
  server {
    listen 127.0.0.1:${port};
${locations.replaceAll('127.0.0.1:12121', serveUpstream).replaceAll('127.0.0.1:7070', openfireUpstream)}
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proc = spawnGroup(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    background: true,
  });
  let stderr = '';
  proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitFor(async () => proc.running() && (await portAccepts(port)), { timeoutMs: 5000, describe: 'nginx' });
  } catch (err) {
    await proc.stop('SIGKILL');
    throw new Error(`nginx did not start: ${(err as Error).message}\n${stderr}`);
  }
  return { origin: `http://127.0.0.1:${port}`, stop: () => proc.stop('SIGQUIT', 3000).then(() => {}) };
}

/** The old URL of an upload with `name` after the id, as the plugin built it (name percent-encoded). */
const oldPath = (id: string, name: string): string => `/httpfileupload/${id}/${encodeURIComponent(name)}`;

/** Where the imported uploads go: FILEUPLOAD_IMPORT_STORAGE=fs,s3 (default both). */
const STORAGES = (process.env.FILEUPLOAD_IMPORT_STORAGE ?? 'fs,s3')
  .split(',')
  .map((x) => x.trim())
  .filter((x): x is 'fs' | 's3' => x === 'fs' || x === 's3');

for (const storage of STORAGES)
  describe(`import openfire into ${storage === 'fs' ? 'a folder' : 'an S3 bucket (radosgw)'}, then the plugin’s old URLs through serve and through the guide’s nginx`, () => {
    let dir: string;
    let install: Install;
    let configFile: string;
    let repo: string;
    let rgw: RadosgwServer | undefined;
    let s3: S3Client | undefined;
    let config: Awaited<ReturnType<typeof serveConfigFor>>;
    let serve: ServeProcess | undefined;
    let openfireStandIn: Server | undefined;
    let proxy: NginxProxy | undefined;

    const importRun = async (...args: string[]) => {
      const r = await runFileupload(['--config', configFile, '--json', 'import', 'openfire', install.home, ...args], {
        timeoutMs: 120_000,
      });
      return { ...r, report: r.code === 0 ? JSON.parse(r.stdout) : undefined };
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fileupload-import-'));
      trackDir(dir);
      install = buildOpenfire(dir);
      // Step 1 of the guide: what the admin sets before importing (no XMPP server here).
      if (storage === 's3') {
        rgw = await startRadosgw();
        s3 = new S3Client({
          endpoint: rgw.endpoint,
          region: rgw.region,
          forcePathStyle: true,
          credentials: { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
        });
        config = await serveConfigFor(undefined, {
          fileRepo: undefined,
          storage: 's3',
          s3Endpoint: rgw.endpoint,
          s3Bucket: rgw.bucket,
          s3Region: rgw.region,
          s3AccessKey: rgw.accessKey,
          s3SecretKey: rgw.secretKey,
          s3Prefix: PREFIX,
        });
      } else {
        config = await serveConfigFor(undefined);
        repo = String(config.fileRepo);
      }
      const adminConfig = { ...config, maxFileSize: undefined, announcedWebHost: undefined, domain: undefined };
      configFile = join(dir, 'etc', 'openfire.xml');
      mkdirSync(join(dir, 'etc'));
      writeFileSync(configFile, openfireXml(adminConfig));
    });

    after(async () => {
      await proxy?.stop();
      await serve?.stop();
      await new Promise<void>((resolve) => (openfireStandIn ? openfireStandIn.close(() => resolve()) : resolve()));
      s3?.destroy();
      await rgw?.stop();
    });

    /** Everything stored: the repository folder's files, or the bucket's keys under the prefix. */
    const stored = async (): Promise<string[]> => {
      if (storage === 'fs') return listTree(repo);
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3!.send(
          new ListObjectsV2Command({ Bucket: rgw!.bucket, Prefix: PREFIX, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) keys.push(o.Key!);
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    };

    it('a dry run reports what it would do and changes nothing', async () => {
      const configBefore = readFileSync(configFile);
      const repoBefore = await stored();
      const pluginBefore = listTree(install.pluginRepo);
      const r = await importRun('--dry-run');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.report.dryRun, true);
      assert.equal(r.report.uploads.imported, FILES.length);
      assert.equal(
        r.report.uploads.importedBytes,
        FILES.reduce((n, f) => n + f.data.length, 0),
      );
      assert.deepEqual(readFileSync(configFile), configBefore);
      assert.deepEqual(await stored(), repoBefore);
      assert.deepEqual(listTree(install.pluginRepo), pluginBefore);
    });

    it('the import writes the plugin’s properties, decrypted and under fileupload’s names, keeping the admin’s', async () => {
      const r = await importRun();
      assert.equal(r.code, 0, r.stderr);
      const byName = Object.fromEntries(
        (r.report.properties as { name: string; value: unknown; action: string; current?: string }[]).map((p) => [
          p.name,
          p,
        ]),
      );
      // The database (script, then the log's later value), decrypted with security.xml's own key.
      assert.equal(byName['plugin.httpfileupload.announcedWebHost']?.value, 'files.example.org');
      assert.equal(byName['plugin.httpfileupload.announcedWebHost']?.action, 'set');
      assert.equal(byName['plugin.httpfileupload.maxFileSize']?.value, 104857600);
      // openfire.xml: an encrypted serverspecific value and an alias, under fileupload's names.
      assert.equal(byName['plugin.httpfileupload.serverspecific.announcedWebPort']?.action, 'kept');
      assert.equal(byName['plugin.httpfileupload.serverspecific.announcedWebPort']?.value, 443);
      assert.equal(byName['plugin.httpfileupload.serverspecific.announcedWebContextRoot']?.action, 'kept');
      assert.equal(byName['fqdn']?.value, 'xmpp.example.org');
      assert.equal(byName['plugin.httpfileupload.domain']?.value, 'httpfileupload.example.org');
      const notes = r.report.notes as { from: string; text: string }[];
      if (storage === 'fs') {
        // The admin's repository wins over the plugin's folder, in either layer.
        assert.equal(byName['plugin.httpfileupload.serverspecific.fileRepo']?.action, 'kept');
        assert.equal(byName['plugin.httpfileupload.fileRepo']?.current, repo);
      } else {
        // In a bucket, the plugin's folder is only read.
        assert.equal(byName['plugin.httpfileupload.fileRepo'], undefined);
        assert.equal(byName['plugin.httpfileupload.serverspecific.fileRepo'], undefined);
        assert.equal(notes.filter((n) => n.from.includes('fileRepo') && /only read/.test(n.text)).length, 2);
      }
      assert.ok(notes.some((n) => n.from.includes('wildcardCORS') && /does not read it/.test(n.text)));

      const written = readFileSync(configFile, 'utf8');
      assert.match(written, /<announcedWebHost>files\.example\.org<\/announcedWebHost>/);
      assert.match(written, /<fqdn>xmpp\.example\.org<\/fqdn>/);
      assert.doesNotMatch(written, /serverspecific|encrypted=/);
      if (storage === 'fs') assert.match(written, new RegExp(`<fileRepo>${repo}</fileRepo>`));
      else assert.doesNotMatch(written, /fileRepo/);

      const u = r.report.uploads;
      assert.deepEqual(
        [u.source, u.found, u.imported, u.already, u.failed.length],
        [install.pluginRepo, FILES.length, FILES.length, 0, 0],
      );
      if (storage === 'fs') assert.equal(u.repository, repo);
      else assert.match(u.repository, new RegExp(`^s3://${rgw!.bucket}/${PREFIX}`));
      assert.deepEqual(
        u.skipped.map((s: { name: string }) => s.name).sort(),
        [...readdirSync(install.pluginRepo).filter((n) => !FILES.some((f) => f.id === n))].sort(),
      );
      // --copy (the default): the plugin's files are where they were.
      for (const f of FILES) assert.equal(statSync(join(install.pluginRepo, f.id)).size, f.data.length);
    });

    it('a second run imports nothing new', async () => {
      const before = (await stored()).filter((p) => p.includes('files/'));
      const r = await importRun();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([r.report.uploads.imported, r.report.uploads.already], [0, FILES.length]);
      assert.ok(r.report.properties.every((p: { action: string }) => p.action !== 'set'));
      assert.equal(before.length, FILES.length);
      assert.deepEqual(
        (await stored()).filter((p) => p.includes('files/')),
        before,
      );
    });

    it('slots ls lists them as imported, with their ages and types and no uploader', async () => {
      const r = await runFileupload(['--config', configFile, '--json', 'slots', 'ls']);
      assert.equal(r.code, 0, r.stderr);
      const rows = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(rows.length, FILES.length);
      for (const f of FILES) {
        const row = rows.find((x) => x.id === f.id);
        assert.ok(row, f.id);
        assert.deepEqual(
          [row.state, row.uploader, row.size, row.contentType, row.created, row.purpose],
          ['imported', '', f.data.length, f.type, f.mtime.toISOString(), 'message'],
        );
      }
      const mine = await runFileupload([
        '--config',
        configFile,
        '--json',
        'slots',
        'ls',
        '--user',
        'alice@example.org',
      ]);
      assert.equal(mine.stdout.trim(), '', 'no user’s listing shows them');
    });

    it('serve answers every old URL byte for byte, with the plugin’s names and any other', async () => {
      serve = await startServe({ config, configFile, writeConfig: false });
      for (const f of FILES) {
        for (const name of [f.name, 'anything else.bin', f.id]) {
          const get = await http(serve.origin + oldPath(f.id, name), { discardBody: f.data.length > MiB });
          assert.equal(get.status, 200, `${f.id}/${name}`);
          assert.equal(get.bodySha256, sha256(f.data), `${f.id}/${name}: the same bytes`);
          assert.equal(get.headers['content-length'], String(f.data.length));
          assert.equal(get.headers['content-type'], f.type);
          assert.equal(get.headers['x-content-type-options'], 'nosniff');
          assert.ok(
            String(get.headers['content-disposition']).includes(`filename*=UTF-8''${encodeURIComponent(name)}`),
            `${name}: ${get.headers['content-disposition']}`,
          );
          const head = await http(serve.origin + oldPath(f.id, name), { method: 'HEAD' });
          assert.equal(head.status, 200);
          assert.equal(head.headers['content-length'], String(f.data.length));
          assert.equal(head.bodyLength, 0);
        }
      }
      const uuid = FILES.find((f) => f.id.length === 36)!;
      const upper = await http(serve.origin + oldPath(uuid.id.toUpperCase(), uuid.name), { discardBody: true });
      assert.equal(upper.bodySha256, sha256(uuid.data), 'a UUID in upper case is the same upload');
      const ranged = await http(serve.origin + oldPath(FILES[0]!.id, 'x'), { headers: { range: 'bytes=0-7' } });
      assert.deepEqual([ranged.status, ranged.body], [206, FILES[0]!.data.subarray(0, 8)]);

      assert.equal((await http(`${serve.origin}${oldPath(secureId(), 'x')}`)).status, 404, 'an id never imported');
      const put = await http(serve.origin + oldPath(FILES[4]!.id, 'notes.txt'), { method: 'PUT', body: 'overwrite' });
      assert.ok(put.status >= 400 && put.status < 500, `a PUT to an imported id is refused (${put.status})`);
      const still = await http(serve.origin + oldPath(FILES[4]!.id, 'notes.txt'));
      assert.deepEqual(still.body, FILES[4]!.data);
    });

    it('through the guide’s nginx, /httpfileupload/ reaches serve and the rest reaches Openfire', async () => {
      assert.ok(serve, 'serve runs');
      openfireStandIn = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`openfire ${req.url}`);
      });
      await new Promise<void>((resolve) => openfireStandIn!.listen(0, '127.0.0.1', resolve));
      const address = openfireStandIn.address();
      assert.ok(address && typeof address === 'object');
      proxy = await startGuideProxy(`127.0.0.1:${config.webPort}`, `127.0.0.1:${address.port}`);
      for (const f of FILES) {
        const r = await http(proxy.origin + oldPath(f.id, f.name), { discardBody: f.data.length > MiB });
        assert.equal(r.status, 200, f.name);
        assert.equal(r.bodySha256, sha256(f.data), `${f.name} through nginx`);
      }
      const bosh = await http(`${proxy.origin}/http-bind/`);
      assert.deepEqual([bosh.status, bosh.body.toString()], [200, 'openfire /http-bind/']);
    });

    it('imported uploads follow the retention rules like any other: maxAge takes those older than it', async () => {
      assert.ok(serve, 'serve runs');
      const cutoff = Date.parse('2023-06-01T00:00:00Z');
      const days = Math.ceil((Date.now() - cutoff) / 86_400_000);
      const old = FILES.filter((f) => f.mtime.getTime() < Date.now() - days * 86_400_000);
      assert.ok(old.length > 0 && old.length < FILES.length, 'some are older than maxAge, some are not');
      const set = await runFileupload(['--config', configFile, 'config', 'set', 'maxAge', `${days}d`]);
      assert.equal(set.code, 0, set.stderr);
      const r = await runFileupload(['--config', configFile, '--json', 'purge']);
      assert.equal(r.code, 0, r.stderr);
      const deleted = (JSON.parse(r.stdout).deletions as { id: string; rule: string }[])
        .filter((d) => d.rule === 'maxAge')
        .map((d) => d.id);
      assert.deepEqual(deleted.sort(), old.map((f) => f.id).sort());
      for (const f of FILES) {
        const got = await http(serve.origin + oldPath(f.id, f.name), { method: 'HEAD' });
        assert.equal(got.status, old.includes(f) ? 404 : 200, f.name);
      }
    });
  });

describe('import openfire: every bad input is refused with exit code 2 and changes nothing', () => {
  let dir: string;
  let install: Install;
  let configFile: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fileupload-import-bad-'));
    trackDir(dir);
    install = buildOpenfire(dir);
    configFile = join(dir, 'openfire.xml');
  });

  const refused = async (args: string[], message: RegExp): Promise<void> => {
    const before = listTree(dir);
    const r = await runFileupload(['--config', configFile, 'import', 'openfire', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
    assert.deepEqual(listTree(dir), before, 'nothing was written');
  };

  it('names what is wrong', async () => {
    await refused([join(dir, 'nowhere')], /nowhere\/conf\/openfire\.xml does not exist: OPENFIRE_HOME is the folder/);
    await refused([install.home, '--link'], /--link is not offered: .*metadata header.*--move/);
    await refused([install.home, '--move', '--copy'], /--move or --copy, not both/);
    await refused([install.home, '--repo', join(dir, 'gone')], /the plugin's repository .*gone is not a folder/);
    await refused([install.home, '--properties', join(dir, 'missing.sql')], /missing\.sql/);
    writeFileSync(configFile, openfireXml({ fileRepo: join(dir, 'no-such-repository') }));
    await refused([install.home], /the repository .*no-such-repository is not a folder: create it first/);
    await refused([install.home, '--dry-run'], /no-such-repository is not a folder/);
  });

  it('refuses a value that security.xml does not decrypt, before writing anything', async () => {
    const security = join(install.home, 'conf', 'security.xml');
    writeFileSync(security, readFileSync(security, 'utf8').replace(/<current>[^<]*<\/current>/, '<current></current>'));
    await refused([install.home], /cannot decrypt property plugin\.httpfileupload\.\S+: the AES key of security\.xml/);
  });
});

describe('import openfire --properties: a SQL dump of ofProperty instead of the embedded database', () => {
  it('reads the general properties from the dump, encrypted ones decrypted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fileupload-import-dump-'));
    trackDir(dir);
    const install = buildOpenfire(dir);
    const cipher = new OpenfireCipher(
      parseSecurityXml(readFileSync(join(install.home, 'conf', 'security.xml'), 'utf8')),
    );
    const host = cipher.encrypt('dump.example.net');
    const dump = join(dir, 'ofproperty.sql');
    writeFileSync(
      dump,
      [
        '--',
        '-- PostgreSQL database dump',
        '--',
        'COPY public.ofproperty (name, propvalue, encrypted, iv) FROM stdin;',
        `plugin.httpfileupload.announcedWebHost\t${host.value}\t1\t${host.iv}`,
        'plugin.httpfileupload.maxFileSize\t2097152\t0\t\\N',
        'xmpp.domain\texample.net\t0\t\\N',
        '\\.',
        '',
      ].join('\n'),
    );
    const configFile = join(dir, 'openfire.xml');
    writeFileSync(configFile, openfireXml({ fileRepo: mkdtempSync(join(dir, 'repo-')) }));
    const r = await runFileupload([
      '--config',
      configFile,
      '--json',
      'import',
      'openfire',
      install.home,
      '--properties',
      dump,
      '--dry-run',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.ok(report.read.includes(dump));
    assert.ok(!report.read.some((f: string) => f.endsWith('openfire.script')), 'the embedded database is not read');
    const values = Object.fromEntries(
      (report.properties as { name: string; value: unknown; from: string }[]).map((p) => [p.name, p]),
    );
    assert.equal(values['plugin.httpfileupload.announcedWebHost']?.value, 'dump.example.net');
    assert.equal(values['plugin.httpfileupload.maxFileSize']?.value, 2097152);
    assert.match(values['plugin.httpfileupload.maxFileSize']!.from, /ofproperty\.sql/);
    assert.equal(values['plugin.httpfileupload.domain']?.value, 'httpfileupload.example.net');
    assert.equal(report.uploads.imported, FILES.length, 'the plugin’s folder comes from openfire.xml');
  });
});

describe('import openfire as root into a repository folder the service user owns', () => {
  it(
    'gives every entry it created there to the folder’s owner; the plugin’s files keep theirs',
    { skip: process.geteuid?.() !== 0 && 'needs root' },
    async () => {
      const SERVICE = 65534; // nobody
      const dir = mkdtempSync(join(tmpdir(), 'fileupload-import-owner-'));
      trackDir(dir);
      const install = buildOpenfire(dir);
      const config = await serveConfigFor(undefined);
      const repo = String(config.fileRepo);
      chownSync(repo, SERVICE, SERVICE);
      const configFile = join(dir, 'openfire.xml');
      writeFileSync(
        configFile,
        openfireXml({ ...config, maxFileSize: undefined, announcedWebHost: undefined, domain: undefined }),
      );
      const r = await runFileupload(['--config', configFile, '--json', 'import', 'openfire', install.home], {
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).uploads.imported, FILES.length);
      // Folders too (the index's key folders): listTree names files only.
      const notService = ['', ...readdirSync(repo, { recursive: true, encoding: 'utf8' })]
        .map((p) => ({ p, st: lstatSync(join(repo, p)) }))
        .filter(({ st }) => st.uid !== SERVICE || st.gid !== SERVICE)
        .map(({ p, st }) => `${p} ${st.uid}:${st.gid}`);
      assert.deepEqual(notService, []);
      assert.ok(
        listTree(repo).some((p) => p.startsWith('index/')),
        'the inventory was written',
      );
      for (const f of FILES) assert.equal(statSync(join(install.pluginRepo, f.id)).uid, 0);
    },
  );
});
