/**
 * startServe in this process, with nothing on the XMPP port (the component keeps retrying in the
 * background): what it leaves behind when start-up fails part way, and when it is stopped — ports
 * closed, the temporary repository removed — and in which order it says so. Serve as a process
 * (signals, exit codes) is tested in test/e2e/lifecycle.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, portAccepts, trackDir } from '../../scripts/testservers/processes.ts';
import { openfireXml, type ServeConfig } from '../../test/support/serve.ts';
import { createLogger } from '../log.ts';
import { ServeConfigError, startServe } from './index.ts';

type Line = Record<string, unknown> & { msg: string; level: string };

/** A config file for a serve on free loopback ports, without fileRepo (a temporary repository). */
async function configFile(): Promise<{ file: string; webPort: number; adminPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fileupload-serve-'));
  trackDir(dir);
  const [webPort, adminPort, xmppPort] = [await freePort(), await freePort(), await freePort()];
  const props: ServeConfig = {
    domain: 'upload.localhost',
    sharedSecret: 'unused-secret',
    slotSecret: randomBytes(32).toString('base64url'),
    xmppHost: '127.0.0.1',
    xmppPort,
    webHost: '127.0.0.1',
    webPort,
    adminPort,
  };
  const file = join(dir, 'openfire.xml');
  writeFileSync(file, openfireXml(props));
  return { file, webPort, adminPort };
}

function logSink() {
  const lines: Line[] = [];
  const logger = createLogger({}, { level: 'info', write: (text) => void lines.push(JSON.parse(text) as Line) });
  /** The temporary repository serve made (it says where). */
  const repository = () => lines.find((l) => l.msg.startsWith('plugin.httpfileupload.fileRepo is not set'))?.repository;
  return { logger, lines, repository };
}

/** Holds a loopback port, as another program would. */
async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

describe('startServe', () => {
  it('a web port in use: ServeConfigError, and the admin listener and temporary repository it had started are gone', async () => {
    const { file, webPort, adminPort } = await configFile();
    const { logger, lines, repository } = logSink();
    const squatter = await occupy(webPort);
    try {
      await assert.rejects(
        startServe({ configFile: file, logger }),
        (err: Error) =>
          err instanceof ServeConfigError && err.message.includes(`cannot listen on 127.0.0.1:${webPort} (EADDRINUSE)`),
      );
    } finally {
      squatter.close();
    }
    const repo = repository();
    assert.equal(typeof repo, 'string');
    assert.equal(existsSync(String(repo)), false, 'the temporary repository is removed');
    assert.equal(await portAccepts(adminPort), false, 'the admin listener is closed');
    assert.ok(!lines.some((l) => l.msg === 'ready'));
  });

  it('an admin port in use: ServeConfigError naming it, and the temporary repository is gone', async () => {
    const { file, webPort, adminPort } = await configFile();
    const { logger, repository } = logSink();
    const squatter = await occupy(adminPort);
    try {
      await assert.rejects(
        startServe({ configFile: file, logger }),
        (err: Error) => err instanceof ServeConfigError && /adminPort/.test(err.message),
      );
    } finally {
      squatter.close();
    }
    assert.equal(existsSync(String(repository())), false, 'the temporary repository is removed');
    assert.equal(await portAccepts(webPort), false, 'the endpoint never listened');
  });

  it('stop() stops every part once, the component with the endpoint, and says when it is done', async () => {
    const { file, webPort, adminPort } = await configFile();
    const { logger, lines, repository } = logSink();
    const serve = await startServe({ configFile: file, logger });
    assert.equal(await portAccepts(webPort), true);
    assert.equal(await portAccepts(adminPort), true);
    const states: string[] = [];
    serve.xmpp.on('state', (s) => states.push(s));

    const stopping = serve.stop();
    assert.equal(serve.stop(), stopping, 'a second stop() is the same stop');
    assert.deepEqual(await stopping, { clean: true });

    const msgs = lines.map((l) => l.msg);
    assert.deepEqual(msgs.slice(msgs.indexOf('shutting down')), ['shutting down', 'xmpp stopped', 'stopped']);
    assert.equal(states.at(-1), 'stopped');
    assert.equal(await portAccepts(webPort), false, 'the endpoint is closed');
    assert.equal(await portAccepts(adminPort), false, 'the admin listener is closed');
    assert.equal(existsSync(String(repository())), false, 'the temporary repository is removed');
  });
});
