/**
 * `serve` as a process: kill -9 in the middle of an upload, SIGTERM while an upload runs, a
 * configuration error, a busy port, the XMPP server restarting, a wrong component secret. Each
 * case has its own Prosody and serve, so they run concurrently.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import { freePort, portAccepts, trackDir } from '../../scripts/testservers/processes.ts';
import { generatedBody, http, randomFile, sha256 } from '../support/http.ts';
import {
  openfireXml,
  runFileupload,
  serveConfigFor,
  startServe,
  type LogLine,
  type ServeConfig,
} from '../support/serve.ts';
import { mustGetSlot, putToSlot, startStack } from '../support/stack.ts';
import { connectUser, NS_UPLOAD_0, NS_UPLOAD_LEGACY } from '../support/xmpp-client.ts';

const MiB = 1024 * 1024;

describe('serve lifecycle', { concurrency: true }, () => {
  it('kill -9 mid-upload: nothing partial is served; after a restart every 201 is served byte-identical', async () => {
    const stack = await startStack('prosody');
    let restarted: Awaited<ReturnType<typeof startServe>> | undefined;
    try {
      const done: Array<{ get: string; sha: string }> = [];
      for (const size of [MiB, 100 * 1024, 1]) {
        const file = randomFile(size);
        const slot = await mustGetSlot(stack.alice, stack.service, {
          namespace: NS_UPLOAD_0,
          shape: 'attributes',
          filename: `done-${size}.bin`,
          size,
        });
        assert.equal((await putToSlot(slot, file)).status, 201);
        done.push({ get: slot.get, sha: sha256(file) });
      }
      const size = 8 * MiB;
      const partial = await mustGetSlot(stack.alice, stack.service, {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename: 'partial.bin',
        size,
      });
      let reachedTwoMiB: () => void = () => {};
      const twoMiB = new Promise<void>((resolve) => (reachedTwoMiB = resolve));
      const upload = putToSlot(
        partial,
        generatedBody(size, {
          chunkSize: 256 * 1024,
          delayMs: 20,
          onChunk: (_c, sent) => void (sent >= 2 * MiB && reachedTwoMiB()),
        }),
        { headers: { 'content-length': size } },
      );
      await twoMiB;
      await stack.serve.kill9();
      const interrupted = await upload;
      assert.notEqual(interrupted.status, 201);

      restarted = await startServe({
        config: stack.config,
        configFile: stack.serve.configFile,
        waitFor: 'xmpp online',
      });
      for (const { get, sha } of done) {
        const r = await http(get);
        assert.equal(r.status, 200, get);
        assert.equal(r.bodySha256, sha, get);
      }
      assert.equal((await http(partial.get)).status, 404);
      assert.equal((await http(partial.get, { method: 'HEAD' })).status, 404);
    } finally {
      await restarted?.stop();
      await stack.stop();
    }
  });

  it('SIGTERM lets a running upload finish, takes no new one, then exits 0', async () => {
    const stack = await startStack('prosody');
    let after: Awaited<ReturnType<typeof startServe>> | undefined;
    try {
      const size = 4 * MiB;
      const running = await mustGetSlot(stack.alice, stack.service, {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename: 'drain.bin',
        size,
      });
      const late = await mustGetSlot(stack.alice, stack.service, {
        namespace: NS_UPLOAD_LEGACY,
        shape: 'children',
        filename: 'late.bin',
        size: 1024,
      });
      const chunks: Buffer[] = [];
      let reachedOneMiB: () => void = () => {};
      const oneMiB = new Promise<void>((resolve) => (reachedOneMiB = resolve));
      const upload = putToSlot(
        running,
        generatedBody(size, {
          chunkSize: 128 * 1024,
          delayMs: 30,
          onChunk: (c, sent) => {
            chunks.push(c);
            if (sent >= MiB) reachedOneMiB();
          },
        }),
        { headers: { 'content-length': size } },
      );
      await oneMiB;
      process.kill(stack.serve.pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      const refused = await putToSlot(late, randomFile(1024));
      assert.notEqual(refused.status, 201, 'no new upload after SIGTERM');
      const noSlot = await stack.alice.requestSlot(
        stack.service,
        { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'after.bin', size: 1 },
        5000,
      );
      assert.equal(noSlot.ok, false, 'no slot is handed out while draining');
      const finished = await upload;
      assert.equal(
        finished.status,
        201,
        `the running upload finished: ${finished.status} ${finished.error ?? ''}\n${stack.serve
          .logLines()
          .map((l) => JSON.stringify(l))
          .join('\n')}`,
      );
      const exit = await stack.serve.waitForExit();
      assert.deepEqual(exit, { code: 0, signal: null });

      after = await startServe({ config: stack.config, configFile: stack.serve.configFile, waitFor: 'ready' });
      assert.equal((await http(running.get)).bodySha256, sha256(Buffer.concat(chunks)));
      assert.equal((await http(late.get)).status, 404);
    } finally {
      await after?.stop();
      await stack.stop();
    }
  });

  it('a configuration error exits 2 before anything listens, naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fileupload-badconfig-'));
    trackDir(dir);
    const cases: Array<[string, ServeConfig, RegExp]> = [
      ['webPort', { webPort: 'not-a-port' }, /webPort/],
      ['maxFileSize', { maxFileSize: 'lots' }, /maxFileSize/],
      ['fileRepo', { fileRepo: join(dir, 'does-not-exist') }, /fileRepo|does-not-exist/],
    ];
    for (const [property, override, named] of cases) {
      const config = await serveConfigFor(undefined, { xmppPort: await freePort() });
      const file = join(dir, `${property}.xml`);
      writeFileSync(file, openfireXml({ ...config, ...override }));
      const r = await runFileupload(['--config', file, 'serve']);
      assert.equal(r.code, 2, `${property}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, named, `${property}: the problem is named`);
      assert.doesNotMatch(r.stdout, /"msg":"ready"/);
      if (typeof config.webPort === 'number') assert.equal(await portAccepts(config.webPort), false);
    }
  });

  it('a web port in use exits 2 after undoing what had started: the temporary repository is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fileupload-busyport-'));
    trackDir(dir);
    const config = await serveConfigFor(undefined, { xmppPort: await freePort(), fileRepo: undefined });
    const file = join(dir, 'openfire.xml');
    writeFileSync(file, openfireXml(config));
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(config.webPort), '127.0.0.1', resolve));
    try {
      const r = await runFileupload(['--config', file, 'serve']);
      assert.equal(r.code, 2, `exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.match(
        r.stdout + r.stderr,
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${config.webPort} \\(EADDRINUSE\\)`),
      );
      const temporary = r.stdout
        .split('\n')
        .map((line) => (line.startsWith('{') ? (JSON.parse(line) as LogLine) : undefined))
        .find((line) => String(line?.msg).startsWith('plugin.httpfileupload.fileRepo is not set'));
      assert.equal(typeof temporary?.repository, 'string', r.stdout);
      assert.equal(existsSync(String(temporary?.repository)), false, 'the temporary repository is removed');
    } finally {
      squatter.close();
    }
  });

  it('reconnects after the XMPP server restarts, and slots work again', async () => {
    const stack = await startStack('prosody');
    try {
      const mark = stack.serve.logLines().length;
      await stack.xmpp.restart();
      await stack.serve.waitForLog('xmpp online', { from: mark, timeoutMs: 30_000 });
      const u = stack.xmpp.users[0]!;
      const alice = await connectUser({
        port: stack.xmpp.c2sPort,
        domain: u.host,
        username: u.user,
        password: u.password,
      });
      try {
        const file = randomFile(1000);
        const slot = await mustGetSlot(alice, stack.service, {
          namespace: NS_UPLOAD_0,
          shape: 'attributes',
          filename: 'after-restart.bin',
          size: file.length,
        });
        assert.equal((await putToSlot(slot, file)).status, 201);
        assert.equal((await http(slot.get)).bodySha256, sha256(file));
      } finally {
        await alice.close();
      }
    } finally {
      await stack.stop();
    }
  });

  it('a refused handshake (wrong secret) is logged clearly and retried, HTTP stays up', async () => {
    const prosody = await startProsody();
    let serve: Awaited<ReturnType<typeof startServe>> | undefined;
    try {
      const config = await serveConfigFor(prosody, { sharedSecret: 'not-the-secret' });
      serve = await startServe({ config, waitFor: 'ready' });
      const complaint = (line: LogLine) =>
        (line.level === 'error' || line.level === 'warn') &&
        /secret|handshake|not-authorized|auth/i.test(JSON.stringify(line));
      const first = await serve.waitForLog(complaint, { timeoutMs: 15_000 });
      const at = serve.logLines().indexOf(first);
      await serve.waitForLog(complaint, { from: at + 1, timeoutMs: 30_000 });
      assert.ok(!serve.logLines().some((l) => l.msg === 'xmpp online'), 'never online with a wrong secret');
      assert.ok(serve.running());
      assert.equal((await http(`${serve.baseUrl}/AAAAAAAAAAAAAAAAAAAAAAAA/x.txt`)).status, 404);
    } finally {
      await serve?.stop();
      await prosody.stop();
    }
  });
});
