import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NGINX_BIN, nginxConfig, startNginx } from './nginx.ts';
import { memKiB } from './proc.ts';
import { streamRequest } from './raw-stream.ts';

test('the config keeps every path inside its dir and listens on loopback only', () => {
  const conf = nginxConfig({ dir: '/d', root: '/r', port: 8081, asRoot: false });
  assert.match(conf, /listen 127\.0\.0\.1:8081;/);
  assert.match(conf, /worker_processes 1;/);
  assert.match(conf, /dav_methods PUT;/);
  assert.match(conf, /client_max_body_size 0;/);
  for (const m of conf.matchAll(/(?:pid|error_log|_temp_path)\s+(\S+?);?$/gm)) assert.ok(m[1]!.startsWith('/d/'), m[0]);
  assert.doesNotMatch(conf, /\/var\/|\/etc\//);
  assert.doesNotMatch(conf, /ssl/);
  const tls = nginxConfig({
    dir: '/d',
    root: '/r',
    port: 8081,
    asRoot: false,
    tls: { port: 8443, cert: '/d/c', key: '/d/k' },
  });
  assert.match(
    tls,
    /listen 127\.0\.0\.1:8081;\n\s+listen 127\.0\.0\.1:8443 ssl;\n\s+ssl_certificate \/d\/c;\n\s+ssl_certificate_key \/d\/k;/,
  );
});

test(
  'nginx takes a PUT, serves it back, and is gone after stop',
  { skip: !existsSync(NGINX_BIN) && 'nginx not installed' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-test-'));
    try {
      const nginx = await startNginx({ dir: join(dir, 'conf'), root: join(dir, 'root') });
      const pids = nginx.pids();
      assert.equal(pids.length, 2, 'master and one worker');
      const url = `http://127.0.0.1:${nginx.port}/upload/abc/f.bin`;
      const signal = AbortSignal.timeout(10_000);
      const put = await streamRequest({ url, method: 'PUT', size: 100_000, signal });
      assert.equal(put.status, 201);
      assert.equal(readFileSync(join(dir, 'root', 'upload', 'abc', 'f.bin')).length, 100_000);
      const get = await streamRequest({ url, method: 'GET', signal });
      assert.equal(get.bytes, 100_000);
      await nginx.stop();
      for (const pid of pids) assert.equal(memKiB(pid), undefined, `pid ${pid} still exists`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
