import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogue, lookupProperty, properties, suggestProperty } from './catalogue.ts';
import { InvalidValue, parentDomain } from './types.ts';

const ok = (short: keyof typeof catalogue, text: string) => catalogue[short].parse(text);
const bad = (short: keyof typeof catalogue, text: string, why: RegExp) =>
  assert.throws(
    () => catalogue[short].parse(text),
    (err: unknown) => err instanceof InvalidValue && why.test(err.message),
    `${short}=${text}`,
  );

test('every property is complete and named in the plugin style', () => {
  assert.ok(properties.length >= 19);
  for (const p of properties) {
    assert.equal(p.name, `plugin.httpfileupload.${p.short}`);
    assert.ok(p.help.length > 10 && !p.help.includes('\n'), p.short);
    assert.ok(p.rule.length > 3, p.short);
    assert.ok(p.defaultText.length > 0, p.short);
    assert.equal(typeof p.restart, 'boolean');
  }
  assert.deepEqual(
    properties.filter((p) => p.secret).map((p) => p.short),
    ['sharedSecret', 'slotSecret', 's3SecretKey'],
  );
});

test('S3 properties: endpoint URL, bucket name, prefix, path-style default', () => {
  assert.equal(ok('s3Endpoint', 'http://127.0.0.1:7480/'), 'http://127.0.0.1:7480');
  assert.equal(ok('s3Endpoint', 'https://S3.Example.org'), 'https://s3.example.org');
  bad('s3Endpoint', 'ftp://x', /http/);
  bad('s3Endpoint', 'https://key:secret@s3.example.org', /scheme:\/\/host/);
  bad('s3Endpoint', 'https://s3.example.org/bucket', /scheme:\/\/host/);
  bad('s3Endpoint', 'nope', /not a URL/);
  assert.equal(ok('s3Bucket', 'chat-uploads.1'), 'chat-uploads.1');
  bad('s3Bucket', 'Uploads', /bucket name/);
  bad('s3Bucket', 'a/b', /bucket name/);
  assert.equal(ok('s3Prefix', 'chat/uploads'), 'chat/uploads/');
  assert.equal(ok('s3Prefix', 'fu/'), 'fu/');
  for (const p of ['/abs', 'a/../b', 'a//b', '.', '/']) bad('s3Prefix', p, /key prefix/);
  assert.equal(ok('storage', 's3'), 's3');
  bad('storage', 'nfs', /one of fs, s3/);
  assert.equal(ok('s3UploadMode', 'direct'), 'direct');
  const ctx = (values: Record<string, string | undefined> = {}) => ({
    value: (k: string) => values[k],
    hostname: () => 'h',
  });
  assert.equal(catalogue.s3ForcePathStyle.default(ctx()), 'false');
  assert.equal(catalogue.s3ForcePathStyle.default(ctx({ s3Endpoint: 'http://127.0.0.1:7480' })), 'true');
  assert.equal(catalogue.s3Region.default(ctx()), 'us-east-1');
});

test('seed defaults', () => {
  const ctx = (values: Record<string, string | undefined> = {}) => ({
    value: (k: string) => values[k],
    hostname: () => 'box.example.org',
  });
  assert.equal(catalogue.maxFileSize.default(ctx()), '52428800');
  assert.equal(catalogue.announcedWebProtocol.default(ctx()), 'https');
  assert.equal(catalogue.announcedWebHost.default(ctx()), 'box.example.org');
  // The Openfire plugin announces Openfire's FQDN: the file's <fqdn> when it has one.
  assert.equal(catalogue.announcedWebHost.default({ ...ctx(), fqdn: () => 'xmpp.example.org' }), 'xmpp.example.org');
  assert.equal(catalogue.announcedWebHost.default({ ...ctx(), fqdn: () => undefined }), 'box.example.org');
  assert.equal(catalogue.announcedWebPort.default(ctx()), '7443');
  assert.equal(catalogue.announcedWebPort.default(ctx({ announcedWebProtocol: 'http' })), '7070');
  assert.equal(catalogue.announcedWebContextRoot.default(ctx()), '/httpfileupload');
  assert.equal(catalogue.xmppHost.default(ctx()), 'localhost');
  assert.equal(catalogue.xmppPort.default(ctx()), '5275');
  assert.equal(catalogue.webPort.default(ctx({ announcedWebPort: '8443' })), '8443');
  assert.equal(catalogue.allowedDomains.default(ctx({ domain: 'upload.example.org' })), 'example.org');
  assert.equal(catalogue.allowedDomains.default(ctx()), undefined);
  assert.equal(catalogue.fileRepo.default(ctx()), undefined);
  assert.equal(catalogue.slotLifetime.default(ctx()), '300s');
});

test('dailyQuota defaults to 10 × maxFileSize, 1G when maxFileSize is unlimited', () => {
  const at = (max: string | undefined): string | undefined =>
    catalogue.dailyQuota.default({ value: (k) => (k === 'maxFileSize' ? max : undefined), hostname: () => 'h' });
  assert.equal(at(undefined), String(10 * 52428800));
  assert.equal(at('10M'), String(10 * 10 * 1024 * 1024));
  assert.equal(at('-1'), '1G');
  assert.equal(at('0'), '1G');
});

test('sizes, durations and 0 or less = unlimited', () => {
  assert.equal(ok('maxFileSize', '50M'), 52428800);
  // The Openfire plugin's rule for every size limit: 0 or any negative number means no limit.
  assert.equal(ok('maxFileSize', '-1'), -1);
  assert.equal(ok('maxFileSize', '-2'), -1);
  // With a unit too: `config set maxFileSize -2M` means unlimited, like -2.
  assert.equal(ok('maxFileSize', '-2M'), -1);
  assert.equal(ok('userQuota', '-1.5GiB'), -1);
  bad('maxFileSize', '-2MB', /not a size/);
  bad('maxFileSize', '--2', /not a size/);
  assert.equal(ok('maxFileSize', '0'), -1);
  // Unlimited is still announced (src/xmpp/disco.ts), as a large number: the help says why.
  assert.match(
    catalogue.maxFileSize.help,
    /Dino before 0\.5 .*refuses an upload service that announces no max-file-size/,
  );
  assert.equal(ok('dailyQuota', '0'), -1);
  bad('maxFileSize', 'big', /not a size/);
  bad('maxFileSize', '-2.5', /not a size/);
  assert.equal(ok('minUploadRate', '4K'), 4096);
  // Count limits follow the same rule as size limits.
  for (const name of ['maxConnections', 'maxConnectionsPerAddress', 'slotRequestRate', 'maxPendingSlots'] as const) {
    assert.equal(ok(name, '50'), 50);
    for (const off of ['0', '-1', '-7']) assert.equal(ok(name, off), -1, `${name}=${off}`);
    bad(name, '1000001', /outside/);
    assert.match(catalogue[name].rule, /0 or less = unlimited/);
  }
  assert.deepEqual(ok('trustedProxies', '10.0.0.0/8, ::1'), ['10.0.0.0/8', '::1/128']);
  bad('trustedProxies', '10.0.0.0/33', /prefix length/);
  bad('trustedProxies', 'proxy.example.org', /not an IP address/);
  assert.equal(ok('slotLifetime', '5m'), 300_000);
  assert.equal(ok('shutdownTimeout', '0'), 0);
  bad('slotLifetime', '0', /shorter than 1s/);
  bad('slotLifetime', 'forever', /not a duration/);
  bad('shutdownTimeout', '2d', /longer than 1d/);
  assert.equal(ok('purgeInterval', '0'), 0);
  assert.equal(ok('purgeInterval', '1s'), 1000);
  bad('purgeInterval', '1ms', /shorter than 1s/);
});

test('ports, protocol, context root', () => {
  assert.equal(ok('xmppPort', '5347'), 5347);
  for (const p of ['0', '65536', '-1', '80a', '1.5']) bad('webPort', p, /port|outside/);
  assert.equal(ok('announcedWebProtocol', 'http'), 'http');
  bad('announcedWebProtocol', 'ftp', /one of http, https/);
  bad('announcedWebProtocol', 'HTTPS', /one of http, https/);
  assert.equal(ok('announcedWebContextRoot', '/upload/'), '/upload');
  assert.equal(ok('announcedWebContextRoot', '/'), '');
  bad('announcedWebContextRoot', 'upload', /does not start with \//);
  bad('announcedWebContextRoot', '/a b', /not allowed/);
  bad('announcedWebContextRoot', '/a/../b', /\.\. segment/);
});

test('hosts, domains, paths and lists', () => {
  assert.equal(ok('webHost', '::'), '::');
  assert.equal(ok('webHost', '127.0.0.1'), '127.0.0.1');
  assert.equal(ok('announcedWebHost', 'bücher.example'), 'bücher.example');
  bad('announcedWebHost', 'bad host', /neither a host name/);
  bad('announcedWebHost', 'https://x.org', /neither a host name/);
  assert.equal(ok('domain', 'upload.example.org'), 'upload.example.org');
  // An all-digit label is a label (not an IPv4 number) when the name is not an address.
  assert.equal(ok('xmppHost', '8.example.org'), '8.example.org');
  assert.equal(ok('domain', '1.2.example.org'), '1.2.example.org');
  bad('domain', '10.0.0.1', /not a domain/);
  bad('domain', '-x.org', /not a domain/);
  bad('domain', 'a..b', /not a domain/);
  for (const dot of ['\u3002', '\uff0e', '\uff61']) {
    bad('domain', `upload.example${dot}org`, /not a domain/);
    bad('allowedDomains', `example${dot}org`, /list item/);
  }
  assert.equal(ok('fileRepo', '/srv/up'), '/srv/up');
  bad('fileRepo', 'srv/up', /absolute/);
  assert.deepEqual(ok('allowedDomains', 'example.org, example.net,'), ['example.org', 'example.net']);
  assert.deepEqual(ok('allowedDomains', '*'), ['*']);
  bad('allowedDomains', 'example.org, not a domain', /list item/);
  assert.deepEqual(ok('corsOrigins', 'https://chat.example.org/, http://localhost:8080'), [
    'https://chat.example.org',
    'http://localhost:8080',
  ]);
  bad('corsOrigins', 'https://chat.example.org/path', /origin/);
  bad('corsOrigins', 'chat.example.org', /origin/);
});

test('names: short, full and serverspecific spellings; suggestions for typos', () => {
  assert.equal(lookupProperty('maxFileSize')?.property, catalogue.maxFileSize);
  assert.deepEqual(lookupProperty('plugin.httpfileupload.maxFileSize'), {
    property: catalogue.maxFileSize,
    serverSpecific: false,
  });
  assert.deepEqual(lookupProperty('plugin.httpfileupload.serverspecific.fileRepo'), {
    property: catalogue.fileRepo,
    serverSpecific: true,
  });
  assert.deepEqual(lookupProperty('serverspecific.fileRepo'), { property: catalogue.fileRepo, serverSpecific: true });
  // The component library's webContextRoot is an alias, in every spelling.
  assert.deepEqual(lookupProperty('webContextRoot'), {
    property: catalogue.announcedWebContextRoot,
    serverSpecific: false,
  });
  assert.deepEqual(lookupProperty('plugin.httpfileupload.serverspecific.webContextRoot'), {
    property: catalogue.announcedWebContextRoot,
    serverSpecific: true,
  });
  assert.equal(lookupProperty('wildcardCORS'), undefined, 'an option fileupload does not read is no alias');
  assert.equal(lookupProperty('maxfilesize'), undefined);
  assert.equal(lookupProperty('plugin.httpfileupload.serverspecific'), undefined);
  assert.equal(lookupProperty('toString'), undefined);
  assert.deepEqual(suggestProperty('maxfilesize'), ['maxFileSize']);
  assert.deepEqual(suggestProperty('plugin.httpfileupload.sharedSecrt'), ['sharedSecret']);
  assert.ok(suggestProperty('port').includes('xmppPort'));
  assert.deepEqual(suggestProperty('zzzzzzzzzzzz'), []);
});

test('parentDomain drops the first label', () => {
  assert.equal(parentDomain('upload.example.org'), 'example.org');
  assert.equal(parentDomain('upload.localhost'), 'localhost');
  assert.equal(parentDomain('localhost'), 'localhost');
  assert.equal(parentDomain('upload.example.org.'), 'example.org');
});

test('adminJids: bare JIDs, lower-cased; a full JID or a domain is refused; none by default', () => {
  assert.deepEqual(ok('adminJids', 'Admin@Example.org, bob@example.org'), ['admin@example.org', 'bob@example.org']);
  bad('adminJids', 'admin@example.org/phone', /full JID: give the bare JID/);
  bad('adminJids', 'example.org', /not a bare JID/);
  bad('adminJids', 'a b@example.org', /not a bare JID/);
  assert.equal(catalogue.adminJids.defaultText, 'none (no admin commands are offered)');
  assert.equal(catalogue.adminJids.restart, false);
});
