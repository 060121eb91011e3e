/**
 * Malware scanning end to end on fs storage: a real clamd (Debian's clamav-daemon with a
 * signature database written by the test: EICAR and a custom signature), the real serve, a real
 * Prosody issuing the slots. Infected uploads are refused and never served, clean ones are
 * published (also one large enough for the splice path); clamd down refuses uploads, or
 * publishes them with clamavFailOpen; an upload larger than clamavStreamMaxLength follows
 * clamavTooLarge. The properties change by SIGHUP (they are read at every upload).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import {
  clamdMissing,
  EICAR,
  EICAR_SIGNATURE,
  startClamd,
  type ClamdTestServer,
} from '../../scripts/testservers/clamd.ts';
import { freePort } from '../../scripts/testservers/processes.ts';
import { fetchAdmin } from '../../src/status/admin-client.ts';
import { http, randomFile, sha256 } from '../support/http.ts';
import { sample } from '../support/prometheus.ts';
import { openfireXml, runFileupload, type ServeConfig } from '../support/serve.ts';
import { BLOCKLIST_MAX_AGE } from '../../src/blocklist/open.ts';
import { mustGetSlot, putToSlot, startStack, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0 } from '../support/xmpp-client.ts';

const MiB = 1024 * 1024;
/** A file only the custom signature (an .hdb line: its md5 and size) matches. */
const CUSTOM = Buffer.concat([Buffer.from('fileupload custom signature test\n'), randomBytes(4096)]);
const CUSTOM_SIGNATURE = 'Fileupload.Test.Custom';

describe('ClamAV before publish on fs storage (clamd, serve, Prosody)', { skip: clamdMissing() }, () => {
  let clamd: ClamdTestServer;
  let stack: Stack;
  let adminPort: number;
  let repo: string;
  /** The properties as first started; `reload` changes some of them. */
  let clamav: ServeConfig;

  before(async () => {
    clamd = await startClamd({ streamMaxLength: 32 * MiB, signatures: [{ name: CUSTOM_SIGNATURE, content: CUSTOM }] });
    adminPort = await freePort();
    clamav = {
      clamavEnabled: 'true',
      clamavHost: clamd.host,
      clamavPort: clamd.port,
      clamavStreamMaxLength: 32 * MiB,
    };
    stack = await startStack('prosody', { maxFileSize: 20 * MiB, adminPort, ...clamav });
    repo = String(stack.config.fileRepo);
  });
  after(async () => {
    await stack?.stop();
    await clamd?.stop();
  });

  /** Rewrites the config with `over` on top of the first start's and reloads serve. */
  const reload = async (over: ServeConfig): Promise<void> => {
    const from = stack.serve.logLines().length;
    writeFileSync(stack.serve.configFile, openfireXml({ ...stack.config, ...over }));
    process.kill(stack.serve.pid, 'SIGHUP');
    await stack.serve.waitForLog('configuration reloaded', { from });
  };

  const upload = async (file: Buffer, filename: string) => {
    const slot = await mustGetSlot(stack.alice, stack.service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename,
      size: file.length,
    });
    const from = stack.serve.logLines().length;
    const put = await putToSlot(slot, file);
    const id = new URL(slot.get).pathname.split('/').at(-2)!;
    return { slot, put, id, from };
  };

  const tempFiles = (): string[] => readdirSync(join(repo, 'tmp')).filter((n) => n.endsWith('.part'));

  /** The upload was refused and left nothing: no GET, no temp file. */
  const assertNothingLeft = async (slotGet: string): Promise<void> => {
    assert.equal((await http(slotGet)).status, 404, 'never served');
    assert.deepEqual(tempFiles(), [], 'no temp file left');
  };

  it('serve says at start that uploads are scanned, and by which clamd', async () => {
    const line = await stack.serve.waitForLog('uploads are scanned for malware');
    assert.equal(line.clamd, `${clamd.host}:${clamd.port}`);
    assert.match(String(line.version), /^ClamAV \d/);
  });

  it('EICAR is refused (422 naming the signature), never served, logged with slot id, uploader and signature', async () => {
    const { slot, put, id, from } = await upload(EICAR, 'eicar.com');
    assert.equal(put.status, 422, put.body.toString());
    assert.match(put.body.toString(), new RegExp(`malware found \\(${EICAR_SIGNATURE}`));
    await assertNothingLeft(slot.get);
    const line = await stack.serve.waitForLog((l) => l.msg === 'upload refused: malware found', { from });
    assert.equal(line.id, id);
    assert.equal(line.uploader, 'alice@localhost');
    assert.match(String(line.signature), new RegExp(`^${EICAR_SIGNATURE}`));
  });

  it('a file matching the custom signature is refused; the same file one byte different is published', async () => {
    const refused = await upload(CUSTOM, 'custom.bin');
    assert.equal(refused.put.status, 422, refused.put.body.toString());
    assert.match(refused.put.body.toString(), new RegExp(CUSTOM_SIGNATURE));
    await assertNothingLeft(refused.slot.get);

    const changed = Buffer.from(CUSTOM);
    changed.writeUInt8(changed.readUInt8(changed.length - 1) ^ 1, changed.length - 1);
    const clean = await upload(changed, 'custom-changed.bin');
    assert.equal(clean.put.status, 201, clean.put.body.toString());
    assert.equal((await http(clean.slot.get)).bodySha256, sha256(changed));
  });

  it('clean files are published and served byte-identical, a large one too (the splice path when the addon is built)', async (t) => {
    for (const size of [0, 1000, 12 * MiB]) {
      const file = randomFile(size);
      const { slot, put } = await upload(file, `clean-${size}.bin`);
      assert.equal(put.status, 201, put.body.toString());
      const got = await http(slot.get);
      assert.equal(got.status, 200);
      assert.equal(got.bodySha256, sha256(file));
      // Connection: close after a 201 means the body went by splice (src/http/put.ts).
      if (size > 4 * MiB) t.diagnostic(`${size} bytes by splice: ${put.headers.connection === 'close'}`);
    }
    assert.deepEqual(tempFiles(), []);
  });

  it('EICAR at the end of a large upload is found too, and nothing is left', async () => {
    const file = Buffer.concat([randomFile(12 * MiB), EICAR]);
    const { slot, put } = await upload(file, 'large-infected.bin');
    assert.equal(put.status, 422, put.body.toString());
    await assertNothingLeft(slot.get);
  });

  it('the metrics count the scans by verdict', async () => {
    const text = await fetchAdmin({ host: '127.0.0.1', port: adminPort }, '/metrics');
    assert.ok((sample(text, 'fileupload_scans_total', { verdict: 'infected' }) ?? 0) >= 3);
    assert.ok((sample(text, 'fileupload_scans_total', { verdict: 'clean' }) ?? 0) >= 4);
  });

  it('with the blocklist too: blocked bytes are refused 403 before clamd sees them, malware still 422, clean files published', async () => {
    const scans = async (): Promise<number> => {
      const text = await fetchAdmin({ host: '127.0.0.1', port: adminPort }, '/metrics');
      return ['clean', 'infected', 'too-large', 'error'].reduce(
        (sum, verdict) => sum + (sample(text, 'fileupload_scans_total', { verdict }) ?? 0),
        0,
      );
    };
    const blocked = randomFile(3 * MiB);
    const cli = (...args: string[]) => runFileupload(['--config', stack.serve.configFile, ...args]);
    assert.equal((await cli('blocklist', 'add', sha256(blocked), '--size', String(blocked.length))).code, 0);
    // Serve looks at the blocklist again at the next upload after BLOCKLIST_MAX_AGE.
    await new Promise((r) => setTimeout(r, BLOCKLIST_MAX_AGE.fs + 200));
    const before = await scans();
    const refused = await upload(blocked, 'blocked.bin');
    assert.equal(refused.put.status, 403, refused.put.body.toString());
    assert.equal(refused.put.body.toString().trim(), 'blocked content');
    await assertNothingLeft(refused.slot.get);
    assert.equal(await scans(), before, 'blocked content is not sent to clamd');
    const infected = await upload(EICAR, 'eicar-too.com');
    assert.equal(infected.put.status, 422, infected.put.body.toString());
    const clean = randomFile(2 * MiB);
    const published = await upload(clean, 'clean-too.bin');
    assert.equal(published.put.status, 201, published.put.body.toString());
    assert.equal(await scans(), before + 2, 'the others are scanned');
    assert.equal((await cli('blocklist', 'rm', sha256(blocked))).code, 0);
  });

  it('clamd down: refused with 503, Retry-After and the reason (fail closed); published with clamavFailOpen', async () => {
    const nowhere = await freePort();
    await reload({ ...clamav, clamavPort: nowhere });
    const file = randomFile(5000);
    const closed = await upload(file, 'while-down.bin');
    assert.equal(closed.put.status, 503, closed.put.body.toString());
    assert.ok(Number(closed.put.headers['retry-after']) > 0, 'Retry-After');
    assert.match(closed.put.body.toString(), /cannot be scanned for malware/);
    await assertNothingLeft(closed.slot.get);
    const line = await stack.serve.waitForLog((l) => l.msg === 'upload refused: it could not be scanned for malware', {
      from: closed.from,
    });
    assert.match(String(line.reason), new RegExp(`127\\.0\\.0\\.1:${nowhere}`));

    await reload({ ...clamav, clamavPort: nowhere, clamavFailOpen: 'true' });
    const open = await upload(file, 'fail-open.bin');
    assert.equal(open.put.status, 201, open.put.body.toString());
    assert.equal((await http(open.slot.get)).bodySha256, sha256(file));
    await stack.serve.waitForLog((l) => l.msg === 'upload published without a malware scan' && l.id === open.id, {
      from: open.from,
    });
    await reload(clamav);
  });

  it('a clamd that accepts and never answers: the scan timeout refuses the upload with 503, even past the socket timeout', async () => {
    // A stuck daemon: connections are taken, nothing is ever answered.
    const held = new Set<Socket>();
    const stuck = createServer((socket) => {
      held.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    try {
      const port = (stuck.address() as { port: number }).port;
      // The socket's own timeout is idleTimeout + 5 s: the 8 s scan timeout ends after it.
      await reload({ ...clamav, clamavPort: port, clamavScanTimeout: '8s', idleTimeout: '1s' });
      const { slot, put, from } = await upload(randomFile(2000), 'stuck.bin');
      assert.equal(put.status, 503, `${put.error ?? ''} ${put.body.toString()}`);
      assert.ok(Number(put.headers['retry-after']) > 0, 'Retry-After');
      await assertNothingLeft(slot.get);
      const line = await stack.serve.waitForLog(
        (l) => l.msg === 'upload refused: it could not be scanned for malware',
        { from },
      );
      assert.match(String(line.reason), /made no progress for 8000 ms/);
    } finally {
      for (const socket of held) socket.destroy();
      stuck.close();
      await reload(clamav);
    }
  });

  it('larger than clamavStreamMaxLength: refused with 413 by default, published unscanned when told; logged both ways', async () => {
    const file = randomFile(100 * 1024);
    await reload({ ...clamav, clamavStreamMaxLength: '64K' });
    const refused = await upload(file, 'too-large.bin');
    assert.equal(refused.put.status, 413, refused.put.body.toString());
    assert.match(refused.put.body.toString(), /65536 bytes that can be scanned/);
    await assertNothingLeft(refused.slot.get);
    await stack.serve.waitForLog((l) => l.msg === 'upload refused: too large to scan for malware', {
      from: refused.from,
    });

    await reload({ ...clamav, clamavStreamMaxLength: '64K', clamavTooLarge: 'publish-unscanned' });
    const published = await upload(file, 'too-large-published.bin');
    assert.equal(published.put.status, 201, published.put.body.toString());
    assert.equal((await http(published.slot.get)).bodySha256, sha256(file));
    await stack.serve.waitForLog((l) => l.msg === 'upload published without a malware scan' && l.id === published.id, {
      from: published.from,
    });
    await reload(clamav);
  });
});
