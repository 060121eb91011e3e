/**
 * The one-command demo (scripts/demo.ts): Prosody + serve + `doctor --as`, run without stdin as
 * CI does, and stopped by a signal; either way nothing may be left behind.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { freePort, portAccepts, spawnGroup, waitFor } from '../../scripts/testservers/processes.ts';
import { REPO_ROOT } from '../support/serve.ts';

const NODE = join(REPO_ROOT, 'scripts', 'node24');
const DEMO = join(REPO_ROOT, 'scripts', 'demo.ts');

function startDemo(args: string[]) {
  const p = spawnGroup(NODE, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  let out = '';
  p.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { p, output: () => out };
}

/** What the demo printed about where things are. */
function places(out: string) {
  const dir = /(\/\S*fileupload-demo-[A-Za-z0-9]+)\//.exec(out)?.[1];
  const c2s = Number(/c2s 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  const web = Number(/listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  assert.ok(dir && c2s > 0 && web > 0, `the demo did not say where things are:\n${out}`);
  return { dir, c2s, web };
}

async function assertNothingLeft(where: { dir: string; c2s: number; web: number }) {
  assert.equal(existsSync(where.dir), false, `${where.dir} was not removed`);
  assert.equal(await portAccepts(where.c2s), false, 'Prosody still listens');
  assert.equal(await portAccepts(where.web), false, 'serve still listens');
}

describe('npm run demo', { concurrency: true }, () => {
  test('--exit-after-check: doctor --as passes through Prosody and serve, exit 0, everything removed', async () => {
    const demo = startDemo(['--exit-after-check']);
    const { code } = await Promise.race([
      demo.p.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`demo timed out:\n${demo.output()}`)), 60_000).unref(),
      ),
    ]);
    const out = demo.output();
    assert.equal(code, 0, out);
    assert.match(out, /account alice@localhost {2}password alice-[0-9a-f]{8}/);
    assert.match(out, /account bob@localhost {2}password bob-[0-9a-f]{8}/);
    assert.match(out, /fileupload config set fileRepo /);
    assert.match(out, /pass {2}user-upload +alice@localhost logged in .* GET returned the same sha256/);
    assert.match(out, /summary: \d+ pass, \d+ warn, 0 fail/);
    await assertNothingLeft(places(out));
  });

  test('interactive, on the ports given: prints what to try next, and SIGINT stops everything cleanly', async () => {
    const [webPort, adminPort] = [await freePort(), await freePort()];
    const demo = startDemo(['--web-port', String(webPort), '--admin-port', String(adminPort)]);
    await waitFor(() => demo.output().includes('Press Ctrl-C') || !demo.p.running(), {
      timeoutMs: 60_000,
      describe: 'the demo to be ready',
    });
    const out = demo.output();
    assert.match(out, /Things to try:/);
    assert.match(out, /--config \S+openfire\.xml status/);
    assert.match(out, new RegExp(`curl -s http://127\\.0\\.0\\.1:${adminPort}/metrics`));
    const where = places(out);
    assert.equal(where.web, webPort);
    assert.equal(await portAccepts(where.web), true, 'serve listens while the demo runs');
    process.kill(demo.p.pid, 'SIGINT');
    const { code } = await demo.p.exited;
    assert.equal(code, 0, demo.output());
    assert.match(demo.output(), /SIGINT: stopping serve and Prosody/);
    await assertNothingLeft(where);
  });

  test('a --web-port in use: says so and exits 1 before starting anything; a bad port exits 2', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => busy.once('listening', resolve));
    try {
      const port = (busy.address() as { port: number }).port;
      const demo = startDemo(['--exit-after-check', '--web-port', String(port)]);
      const { code } = await demo.p.exited;
      assert.equal(code, 1, demo.output());
      assert.equal(
        demo.output(),
        `fileupload demo: 127.0.0.1:${port} (--web-port) is in use; give another port, or leave --web-port out for a free one\n`,
      );
    } finally {
      busy.close();
    }
    const bad = startDemo(['--admin-port', 'http']);
    const { code } = await bad.p.exited;
    assert.equal(code, 2);
    assert.match(bad.output(), /^--admin-port: "http" is not a port \(1-65535\)\nusage: /);
  });
});
