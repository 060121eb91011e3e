/**
 * Acceptance of issue 3: an unmodified third-party client library (slixmpp, Debian's
 * python3-slixmpp with python3-aiohttp) discovers the service through Prosody's and ejabberd's
 * disco#items and uploads 1 MiB; the download has the same sha256.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, trackDir } from '../../scripts/testservers/processes.ts';
import { http, randomFile, sha256 } from '../support/http.ts';
import { REPO_ROOT } from '../support/serve.ts';
import { startStack } from '../support/stack.ts';

/** Debian's python, where apt puts python3-slixmpp (not a pyenv or venv one earlier on PATH). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(REPO_ROOT, 'test/e2e/clients/slixmpp_upload.py');

describe('third-party client: slixmpp', { concurrency: true }, () => {
  before(async () => {
    const probe = await run(PYTHON, ['-c', 'import slixmpp, aiohttp; print(slixmpp.__version__)']);
    assert.equal(
      probe.code,
      0,
      `slixmpp is missing: apt-get install -y python3-slixmpp python3-aiohttp\n${probe.stderr}`,
    );
  });

  for (const kind of ['prosody', 'ejabberd'] as const) {
    it(`discovers the service through ${kind} and uploads 1 MiB; GET returns the same sha256`, async () => {
      const stack = await startStack(kind);
      try {
        const dir = mkdtempSync(join(tmpdir(), 'fileupload-slixmpp-'));
        trackDir(dir);
        const file = randomFile(1024 * 1024);
        const path = join(dir, 'from slixmpp.bin');
        writeFileSync(path, file);
        const u = stack.xmpp.users[0]!;
        const r = await run(PYTHON, [SCRIPT, `${u.user}@${u.host}`, u.password, String(stack.xmpp.c2sPort), path], {
          timeoutMs: 90_000,
        });
        assert.equal(r.code, 0, `slixmpp failed:\n${r.stderr}`);
        const { url } = JSON.parse(r.stdout) as { url: string };
        assert.ok(url.startsWith(`${stack.serve.baseUrl}/`), url);
        const got = await http(url);
        assert.equal(got.status, 200);
        assert.equal(got.bodySha256, sha256(file));
      } finally {
        await stack.stop();
      }
    });
  }
});
