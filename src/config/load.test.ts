import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigSyntaxError } from './errors.ts';
import { documentLayers, ensureSlotSecret, loadSettings, requireProperties, settingsFromLayers } from './load.ts';
import { parseOpenfireXml } from './openfire-xml.ts';
import { defaultsLayer, mapLayer } from './resolve.ts';

const host = { hostname: () => 'box.example.org' };

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fu-load-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a missing file gives every default, typed', async () => {
  await withDir(async (dir) => {
    const s = await loadSettings(join(dir, 'nope.xml'), host);
    assert.deepEqual(s, {
      fileRepo: undefined,
      maxFileSize: 52428800,
      announcedWebProtocol: 'https',
      announcedWebHost: 'box.example.org',
      announcedWebPort: 7443,
      announcedWebContextRoot: '/httpfileupload',
      xmppHost: 'localhost',
      xmppPort: 5275,
      domain: '',
      sharedSecret: undefined,
      webHost: '0.0.0.0',
      webPort: 7443,
      allowedDomains: [],
      slotSecret: undefined,
      slotLifetime: 300_000,
      minUploadRate: 4096,
      idleTimeout: 60_000,
      corsOrigins: ['*'],
      maxConnections: undefined,
      maxConnectionsPerAddress: undefined,
      trustedProxies: [],
      tlsCertificate: undefined,
      tlsKey: undefined,
      shutdownTimeout: 30_000,
      purgeInterval: 300_000,
      maxAge: undefined,
      maxAgePurposes: ['message', 'ephemeral'],
      maxRepoSize: undefined,
      userQuota: undefined,
      dailyQuota: 524_288_000,
      globalQuota: undefined,
      slotRequestRate: 60,
      slotRequestBurst: 20,
      maxPendingSlots: 50,
      adminPort: 7444,
      adminSocket: undefined,
      adminJids: [],
      cluster: false,
      nodeName: 'box.example.org:7443',
      storage: 'fs',
      s3Endpoint: undefined,
      s3Bucket: undefined,
      s3Region: 'us-east-1',
      s3Prefix: '',
      s3AccessKey: undefined,
      s3SecretKey: undefined,
      s3ForcePathStyle: false,
      s3UploadMode: 'proxy',
      clamavEnabled: false,
      clamavHost: '127.0.0.1',
      clamavPort: 3310,
      clamavConnectionTimeout: 3000,
      clamavScanTimeout: 150_000,
      clamavMaxConcurrentScans: 4,
      clamavFailOpen: false,
      clamavTooLarge: 'refuse',
      clamavStreamMaxLength: 25 * 1024 * 1024,
    });
  });
});

test('values from the file: serverspecific over general, sizes in bytes, durations in ms', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(
      file,
      `<?xml version="1.0"?>
<jive>
  <plugin><httpfileupload>
    <serverspecific><maxFileSize>2G</maxFileSize><xmppPort></xmppPort></serverspecific>
    <maxFileSize>1G</maxFileSize>
    <xmppPort>5347</xmppPort>
    <domain>upload.example.org</domain>
    <announcedWebProtocol>http</announcedWebProtocol>
    <slotLifetime>2m</slotLifetime>
    <announcedWebContextRoot>/</announcedWebContextRoot>
  </httpfileupload></plugin>
</jive>`,
    );
    const s = await loadSettings(file, host);
    assert.equal(s.maxFileSize, 2 * 1024 ** 3);
    assert.equal(s.xmppPort, 5347);
    assert.equal(s.announcedWebPort, 7070);
    assert.equal(s.webPort, 7070);
    assert.deepEqual(s.allowedDomains, ['example.org']);
    assert.equal(s.slotLifetime, 120_000);
    assert.equal(s.announcedWebContextRoot, '');
  });
});

test('invalid values: one ConfigError naming every property, its layer name and rule', () => {
  const layers = [
    mapLayer('serverspecific', { xmppPort: '70000' }),
    mapLayer('general', { maxFileSize: 'lots', announcedWebProtocol: 'gopher' }),
    defaultsLayer(host),
  ];
  assert.throws(
    () => settingsFromLayers(layers),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.problems.map((p) => p.property),
        [
          'plugin.httpfileupload.maxFileSize',
          'plugin.httpfileupload.announcedWebProtocol',
          'plugin.httpfileupload.serverspecific.xmppPort',
        ],
      );
      assert.equal(err.property, 'plugin.httpfileupload.maxFileSize');
      assert.match(
        err.message,
        /xmppPort: 70000 is outside 1–65535 \(from serverspecific\) \(rule: a port number from 1 to 65535\)/,
      );
      assert.match(err.message, /announcedWebProtocol: "gopher" is not one of http, https/);
      return true;
    },
  );
});

test('storage s3 needs a bucket; S3 keys go together', () => {
  assert.throws(
    () => settingsFromLayers([mapLayer('general', { storage: 's3' }), defaultsLayer(host)]),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.property === 'plugin.httpfileupload.s3Bucket' &&
      /storage is s3/.test(err.message),
  );
  assert.throws(
    () =>
      settingsFromLayers([
        mapLayer('general', { storage: 's3', s3Bucket: 'bk1', s3AccessKey: 'AK' }),
        defaultsLayer(host),
      ]),
    (err: unknown) => err instanceof ConfigError && err.property === 'plugin.httpfileupload.s3SecretKey',
  );
  const s = settingsFromLayers([
    mapLayer('general', {
      storage: 's3',
      s3Bucket: 'bk1',
      s3Endpoint: 'http://127.0.0.1:7480',
      s3Prefix: 'fu',
      s3AccessKey: 'AK',
      s3SecretKey: 'SK',
    }),
    defaultsLayer(host),
  ]);
  assert.deepEqual(
    [s.storage, s.s3Bucket, s.s3Endpoint, s.s3Prefix, s.s3ForcePathStyle, s.s3UploadMode],
    ['s3', 'bk1', 'http://127.0.0.1:7480', 'fu/', true, 'proxy'],
  );
});

test("ClamAV: the Openfire plugin's plain-number timeout is milliseconds; not with s3UploadMode direct", () => {
  const s = settingsFromLayers([
    mapLayer('general', { clamavEnabled: 'true', clamavConnectionTimeout: '5000', clamavScanTimeout: '90' }),
    defaultsLayer(host),
  ]);
  assert.deepEqual([s.clamavEnabled, s.clamavConnectionTimeout, s.clamavScanTimeout], [true, 5000, 90_000]);
  assert.equal(
    settingsFromLayers([mapLayer('general', { clamavConnectionTimeout: '2s' }), defaultsLayer(host)])
      .clamavConnectionTimeout,
    2000,
  );
  assert.throws(
    () => settingsFromLayers([mapLayer('general', { clamavConnectionTimeout: '5' }), defaultsLayer(host)]),
    (err: unknown) => err instanceof ConfigError && err.property === 'plugin.httpfileupload.clamavConnectionTimeout',
  );
  const direct = { storage: 's3', s3Bucket: 'bk1', s3UploadMode: 'direct' };
  assert.throws(
    () => settingsFromLayers([mapLayer('general', { ...direct, clamavEnabled: 'true' }), defaultsLayer(host)]),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.property === 'plugin.httpfileupload.clamavEnabled' &&
      /serve never sees the bytes/.test(err.message),
  );
  assert.equal(settingsFromLayers([mapLayer('general', direct), defaultsLayer(host)]).clamavEnabled, false);
});

test('TLS certificate and key go together', () => {
  assert.throws(
    () => settingsFromLayers([mapLayer('general', { tlsCertificate: '/etc/ssl/c.pem' }), defaultsLayer(host)]),
    (err: unknown) => err instanceof ConfigError && err.property === 'plugin.httpfileupload.tlsKey',
  );
  const s = settingsFromLayers([
    mapLayer('general', { tlsCertificate: '/c.pem', tlsKey: '/k.pem' }),
    defaultsLayer(host),
  ]);
  assert.deepEqual([s.tlsCertificate, s.tlsKey], ['/c.pem', '/k.pem']);
});

test('requireProperties names the missing ones and how to set them', () => {
  const s = settingsFromLayers([mapLayer('general', { domain: 'upload.example.org' }), defaultsLayer(host)]);
  requireProperties(s, ['domain']);
  assert.throws(
    () => requireProperties(s, ['domain', 'sharedSecret']),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.length === 1 &&
      err.property === 'plugin.httpfileupload.sharedSecret' &&
      /fileupload config set sharedSecret VALUE/.test(err.message),
  );
  const empty = settingsFromLayers([defaultsLayer(host)]);
  assert.throws(
    () => requireProperties(empty, ['domain', 'sharedSecret']),
    (err: unknown) => err instanceof ConfigError && err.problems.length === 2,
  );
});

test('a malformed file is a ConfigSyntaxError with line and column', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(file, '<jive>\n  <plugin>\n  </plugn>\n</jive>\n');
    await assert.rejects(
      loadSettings(file),
      (err: unknown) => err instanceof ConfigSyntaxError && err.line === 3 && err.col === 3,
    );
  });
});

test('ensureSlotSecret generates once into the general property and then keeps it', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'sub', 'openfire.xml');
    const a = await ensureSlotSecret(file);
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.match(await readFile(file, 'utf8'), new RegExp(`<httpfileupload>\\s*<slotSecret>${a}</slotSecret>`));
    const before = await readFile(file, 'utf8');
    assert.equal(await ensureSlotSecret(file), a);
    assert.equal(await readFile(file, 'utf8'), before);
    assert.equal((await loadSettings(file)).slotSecret, a);
  });
});

test('ensureSlotSecret into an existing 0644 file leaves it 0640: the generated secret is not world-readable', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(
      file,
      '<jive><plugin><httpfileupload><domain>upload.example.org</domain></httpfileupload></plugin></jive>\n',
    );
    await chmod(file, 0o644);
    await ensureSlotSecret(file);
    assert.equal((await stat(file)).mode & 0o777, 0o640);
  });
});

test('ensureSlotSecret respects a serverspecific secret and does not write', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    const text =
      '<jive><plugin><httpfileupload><serverspecific><slotSecret>node-secret</slotSecret></serverspecific></httpfileupload></plugin></jive>';
    await writeFile(file, text);
    assert.equal(await ensureSlotSecret(file), 'node-secret');
    assert.equal(await readFile(file, 'utf8'), text);
  });
});

test('ensureSlotSecret on a configuration it cannot write: a ConfigError naming slotSecret and the fix, file untouched', async () => {
  await withDir(async (dir) => {
    const text = '<jive><plugin><httpfileupload><domain>upload.example.org</domain></httpfileupload></plugin></jive>';
    const file = join(dir, 'openfire.xml');
    await writeFile(file, text);
    // Root ignores permissions: a read-only filesystem refuses everyone.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
      await writeFile(file, text);
      execFileSync('mount', ['-o', 'remount,ro', dir]);
    } else {
      await chmod(dir, 0o555);
    }
    try {
      await assert.rejects(ensureSlotSecret(file), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.property, 'plugin.httpfileupload.slotSecret');
        assert.match(
          err.message,
          /slotSecret is not set, and generating one failed: .* cannot be written \((EROFS|EACCES)\)/,
        );
        assert.match(err.message, /config set slotSecret/);
        return true;
      });
      assert.equal(await readFile(file, 'utf8'), text);
    } finally {
      if (asRoot) execFileSync('umount', [dir]);
      else await chmod(dir, 0o755);
    }
  });
});

test('announcedWebHost defaults to the file’s <fqdn> (trimmed, lower-cased as Openfire reads it), else the host name', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(file, '<jive>\n  <fqdn> XMPP.Example.org </fqdn>\n</jive>\n');
    assert.equal((await loadSettings(file, host)).announcedWebHost, 'xmpp.example.org');
    await writeFile(
      file,
      '<jive><fqdn>xmpp.example.org</fqdn><plugin><httpfileupload><announcedWebHost>files.example.org</announcedWebHost></httpfileupload></plugin></jive>',
    );
    assert.equal((await loadSettings(file, host)).announcedWebHost, 'files.example.org', 'a set value wins');
    await writeFile(file, '<jive><fqdn></fqdn></jive>');
    assert.equal((await loadSettings(file, host)).announcedWebHost, 'box.example.org');
    assert.throws(
      () =>
        settingsFromLayers(
          documentLayers({ doc: parseOpenfireXml('<jive><fqdn>not a host!</fqdn></jive>'), encryption: undefined }),
        ),
      /announcedWebHost: "not a host!" is neither a host name nor an IP address \(from default\)/,
    );
  });
});

test('the component library’s webContextRoot is read as announcedWebContextRoot, which wins when both are set', () => {
  const settings = (xml: string) =>
    settingsFromLayers(
      documentLayers(
        {
          doc: parseOpenfireXml(`<jive><plugin><httpfileupload>${xml}</httpfileupload></plugin></jive>`),
          encryption: undefined,
        },
        host,
      ),
    );
  assert.equal(settings('<webContextRoot>/files</webContextRoot>').announcedWebContextRoot, '/files');
  assert.equal(
    settings('<webContextRoot>/files</webContextRoot><announcedWebContextRoot>/up</announcedWebContextRoot>')
      .announcedWebContextRoot,
    '/up',
  );
  assert.equal(
    settings('<announcedWebContextRoot></announcedWebContextRoot><webContextRoot>/files</webContextRoot>')
      .announcedWebContextRoot,
    '/files',
    'an empty element is unset, so the alias counts',
  );
  assert.equal(
    settings(
      '<webContextRoot>/files</webContextRoot><serverspecific><webContextRoot>/node</webContextRoot></serverspecific>',
    ).announcedWebContextRoot,
    '/node',
  );
});
