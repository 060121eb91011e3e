import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, cliFor, shellQuote } from './config-check.ts';

const dir = mkdtempSync(join(tmpdir(), 'doctor-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const hostname = () => 'upload.example.org';

function file(name: string, inner: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `<?xml version="1.0"?>\n<jive><plugin><httpfileupload>${inner}</httpfileupload></plugin></jive>\n`,
  );
  return path;
}

test('a valid configuration passes and yields settings', async () => {
  const f = file('ok.xml', '<domain>upload.example.org</domain><sharedSecret>s</sharedSecret>');
  const { result, settings } = await checkConfig(f, { hostname });
  assert.equal(result.status, 'pass');
  assert.equal(settings?.domain, 'upload.example.org');
});

test('a missing file fails with the commands that write it, and no settings', async () => {
  const f = join(dir, 'missing.xml');
  const { result, settings } = await checkConfig(f, { hostname });
  assert.equal(result.status, 'fail');
  assert.match(result.message, /does not exist/);
  assert.match(result.fix ?? '', new RegExp(`fileupload --config ${f} config set domain`));
  assert.equal(settings, undefined);
});

test('malformed XML fails with its position', async () => {
  const f = join(dir, 'bad.xml');
  writeFileSync(f, '<jive><plugin></jive>');
  const { result, settings } = await checkConfig(f);
  assert.equal(result.status, 'fail');
  assert.match(result.message, /malformed configuration/);
  assert.match(result.fix ?? '', /line 1, column/);
  assert.equal(settings, undefined);
});

test('an invalid value fails naming the property', async () => {
  const f = file(
    'invalid.xml',
    '<domain>upload.example.org</domain><sharedSecret>s</sharedSecret><xmppPort>70000</xmppPort>',
  );
  const { result, settings } = await checkConfig(f, { hostname });
  assert.equal(result.status, 'fail');
  assert.match(result.message, /plugin\.httpfileupload\.xmppPort: 70000 is outside/);
  assert.match(result.fix ?? '', /correct xmppPort/);
  assert.equal(settings, undefined);
});

test('missing domain and sharedSecret fail but keep the settings for the other checks', async () => {
  const f = file('empty.xml', '<maxFileSize>10M</maxFileSize>');
  const { result, settings } = await checkConfig(f, { hostname });
  assert.equal(result.status, 'fail');
  assert.match(result.message, /domain and sharedSecret are not set/);
  assert.match(result.fix ?? '', /config set domain upload\.example\.org; .*config set sharedSecret SECRET/);
  assert.equal(settings?.maxFileSize, 10 * 1024 * 1024);
});

test('an unknown name warns with a suggestion', async () => {
  const f = file(
    'stray.xml',
    '<domain>upload.example.org</domain><sharedSecret>s</sharedSecret><maxFilesize>1</maxFilesize>',
  );
  const { result } = await checkConfig(f, { hostname });
  assert.equal(result.status, 'warn');
  assert.match(result.message, /plugin\.httpfileupload\.maxFilesize \(did you mean maxFileSize\?\)/);
});

test('an encrypted value is read as Openfire does; one that does not decrypt fails naming it and the file', async () => {
  // '127.0.0.1' as Openfire's Blowfish writes it under its default key (no security.xml here).
  const blowfish = 'fae8f71ba71587eded2c85991a03167600c731c08505bbda1fc2c2714fb1411e';
  const ok = file(
    'encrypted.xml',
    `<domain>upload.example.org</domain><sharedSecret encrypted="true">${blowfish}</sharedSecret>`,
  );
  const good = await checkConfig(ok, { hostname });
  assert.equal(good.result.status, 'pass');
  assert.equal(good.settings?.sharedSecret, '127.0.0.1');
  const bad = file(
    'undecryptable.xml',
    '<domain>upload.example.org</domain><sharedSecret encrypted="true" iv="MDEyMzQ1Njc4OWFiY2RlZg==">c2VjcmV0</sharedSecret>',
  );
  const { result, settings } = await checkConfig(bad, { hostname });
  assert.equal(result.status, 'fail');
  assert.match(
    result.message,
    new RegExp(
      `plugin\\.httpfileupload\\.sharedSecret: is encrypted in ${bad} but does not decrypt with Openfire's default key`,
    ),
  );
  assert.match(result.fix ?? '', /correct sharedSecret/);
  assert.equal(settings, undefined);
});

test('an option of the component library that is not read warns with why; an alias does not', async () => {
  const f = file(
    'component.xml',
    '<domain>upload.example.org</domain><sharedSecret>s</sharedSecret><webContextRoot>/f</webContextRoot><contentSecurityPolicy>x</contentSecurityPolicy>',
  );
  const { result, settings } = await checkConfig(f, { hostname });
  assert.equal(result.status, 'warn');
  assert.match(
    result.message,
    /is valid, but plugin\.httpfileupload\.contentSecurityPolicy is an option of the component library that fileupload does not read: /,
  );
  assert.doesNotMatch(result.message, /webContextRoot|unknown/);
  assert.equal(settings?.announcedWebContextRoot, '/f');
});

test('cliFor adds --config only for a non-default file, quoted when needed', () => {
  assert.equal(cliFor('/etc/fileupload/openfire.xml'), 'fileupload');
  assert.equal(cliFor('/tmp/my conf.xml'), "fileupload --config '/tmp/my conf.xml'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
