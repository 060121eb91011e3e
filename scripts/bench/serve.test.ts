import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isReadyLine, lineSplitter, serveConfigXml } from './serve.ts';
import { loadSettings } from '../../src/config/load.ts';
import { raisedLimits } from './limits.ts';

test('the generated openfire.xml means to the config loader what the bench intends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-serve-test-'));
  try {
    const file = join(dir, 'openfire.xml');
    writeFileSync(
      file,
      serveConfigXml({
        repo: '/srv/repo & co',
        port: 40123,
        contextRoot: '/upload',
        slotSecret: 's3cr3t<x>',
        xmpp: { host: '127.0.0.1', port: 5347, domain: 'upload.localhost', secret: 'comp' },
      }),
    );
    const s = await loadSettings(file);
    assert.equal(s.fileRepo, '/srv/repo & co');
    assert.equal(s.webHost, '127.0.0.1');
    assert.equal(s.webPort, 40123);
    assert.equal(s.announcedWebProtocol, 'http');
    assert.equal(s.announcedWebHost, '127.0.0.1');
    assert.equal(s.announcedWebPort, 40123);
    assert.equal(s.announcedWebContextRoot, '/upload');
    assert.equal(s.slotSecret, 's3cr3t<x>');
    assert.equal(s.domain, 'upload.localhost');
    assert.equal(s.sharedSecret, 'comp');
    assert.equal(s.xmppPort, 5347);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the raised limits reach serve by name; without them every limit keeps its default', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-serve-test-'));
  try {
    const file = join(dir, 'openfire.xml');
    const cfg = {
      repo: dir,
      port: 40123,
      contextRoot: '/upload',
      slotSecret: 'x',
      xmpp: { host: '127.0.0.1', port: 5347, domain: 'upload.localhost', secret: 'c' },
    };
    writeFileSync(file, serveConfigXml({ ...cfg, properties: raisedLimits({ slowCount: 500 }) }));
    const raised = await loadSettings(file);
    assert.equal(raised.maxFileSize, -1);
    assert.equal(raised.slotRequestRate, 1_000_000);
    assert.equal(raised.slotRequestBurst, 1_000_000);
    assert.equal(raised.maxPendingSlots, -1); // 0 or less = unlimited, read as -1
    assert.equal(raised.dailyQuota, -1);
    assert.equal(raised.maxConnectionsPerAddress, 1024);
    assert.equal(raised.maxConnections, undefined); // derived from the open-file limit
    assert.equal(raised.minUploadRate, 4096);
    assert.equal(raised.idleTimeout, 60_000);

    writeFileSync(file, serveConfigXml(cfg));
    const defaults = await loadSettings(file);
    assert.equal(defaults.maxFileSize, 52_428_800);
    assert.equal(defaults.slotRequestRate, 60);
    assert.equal(defaults.slotRequestBurst, 20);
    assert.equal(defaults.maxPendingSlots, 50);
    assert.equal(defaults.dailyQuota, 10 * 52_428_800);
    assert.equal(defaults.maxConnectionsPerAddress, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only a JSON line whose msg is "ready" counts as serve being ready', () => {
  assert.equal(isReadyLine('{"time":"2026-11-26T00:00:00Z","level":"info","msg":"ready","port":8080}'), true);
  assert.equal(isReadyLine('{"level":"info","msg":"xmpp online","state":"ready"}'), false);
  assert.equal(isReadyLine('{"msg":"ready"'), false); // cut off
  assert.equal(isReadyLine('ready'), false);
});

test('lines cut between chunks come out whole, UTF-8 characters too; the unterminated rest waits', () => {
  const split = lineSplitter();
  const bytes = Buffer.from('{"msg":"x","file":"é"}\n{"msg":"ready"}\n{"msg":"la');
  const cutInCharacter = bytes.indexOf(Buffer.from('é')) + 1;
  const cutInReady = bytes.indexOf('ready') + 2;
  assert.deepEqual(split(bytes.subarray(0, cutInCharacter)), []);
  assert.deepEqual(split(bytes.subarray(cutInCharacter, cutInReady)), ['{"msg":"x","file":"é"}']);
  const lines = split(bytes.subarray(cutInReady));
  assert.deepEqual(lines, ['{"msg":"ready"}']);
  assert.equal(isReadyLine(lines[0]!), true);
  assert.deepEqual(split(Buffer.from('st"}\n')), ['{"msg":"last"}']);
});
