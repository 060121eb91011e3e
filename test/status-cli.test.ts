/**
 * `fileupload status` as scripts use it: bin/fileupload spawned with stdout piped (not a
 * terminal), against a real admin API fed by a LiveState, or against nothing at all. Upload
 * details need the admin token, which status derives from the configuration's slotSecret.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run } from '../scripts/testservers/processes.ts';
import { LiveState } from '../src/status/live.ts';
import { createMetricsRegistry } from '../src/status/metrics.ts';
import { startAdminServer, type AdminServer } from '../src/status/admin-server.ts';
import { isStatusSnapshot } from '../src/status/snapshot.ts';
import { adminToken } from '../src/status/admin-auth.ts';
import { ExitCode } from '../src/cli/exit-codes.ts';
import { FILEUPLOAD_BIN, openfireXml } from './support/serve.ts';

let dir = '';
let live: LiveState;
let admin: AdminServer;
let socketAdmin: AdminServer;
const SLOT_SECRET = 'status-cli-test-slot-secret-0123456789abcdef';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fileupload-status-cli-'));
  live = new LiveState({ node: 'node-cli', thresholds: { maxRepoSize: 1 << 30 } });
  const registry = createMetricsRegistry(live, { processMetrics: false });
  admin = await startAdminServer({ live, registry, port: 0, token: adminToken(SLOT_SECRET) });
  socketAdmin = await startAdminServer({ live, registry, socketPath: join(dir, 'admin.sock') });
  live.xmppState('online');
  live.uploadStarted({ id: 'slot-xyz', filename: 'report.pdf', size: 4096, uploader: 'bob@example.org' });
  live.uploadProgress('slot-xyz', 1024);
  live.slotRefused('too-large');
});

after(async () => {
  await admin?.close();
  await socketAdmin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function status(args: string[], config?: Record<string, string | number>) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.xml`);
  await writeFile(file, openfireXml(config ?? {}));
  return run(FILEUPLOAD_BIN, ['--config', file, 'status', ...args], { timeoutMs: 20_000 });
}

test('not a terminal: one text snapshot', async () => {
  const r = await status(['--url', admin.url], { slotSecret: SLOT_SECRET });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^fileupload \S+ on node-cli /);
  assert.match(r.stdout, /^xmpp: online for /m);
  assert.match(r.stdout, /^uploads in flight: 1$/m);
  assert.match(r.stdout, /report\.pdf from bob@example\.org: 25% \(1 KiB of 4 KiB\)/);
  assert.match(r.stdout, /1 refused \(too-large 1\)/);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no terminal escapes in text output');
});

test('--json prints the StatusSnapshot', async () => {
  const r = await status(['--url', admin.url, '--json'], { slotSecret: SLOT_SECRET });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.ok(isStatusSnapshot(doc));
  assert.equal(doc.node, 'node-cli');
  assert.equal(doc.xmpp.state, 'online');
  assert.deepEqual(
    doc.inFlight.map((u) => [u.id, u.filename, u.received, u.size]),
    [['slot-xyz', 'report.pdf', 1024, 4096]],
  );
  assert.deepEqual(doc.totals.slotsRefused, { 'too-large': 1 });
  assert.equal(doc.thresholds.maxRepoSize, 1 << 30);
});

test('without the admin token: counters and progress, no upload named, and who may see more', async () => {
  const r = await status(['--url', admin.url]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^uploads in flight: 1$/m);
  assert.match(r.stdout, /^ {2}an upload: 25% \(1 KiB of 4 KiB\)/m);
  assert.match(r.stdout, /file names and uploaders need the admin credential: run as the service user or root/);
  assert.doesNotMatch(r.stdout, /slot-xyz|report\.pdf|bob@/);
  const j = await status(['--url', admin.url, '--json']);
  assert.equal(j.code, 0, j.stderr);
  const doc = JSON.parse(j.stdout);
  assert.ok(isStatusSnapshot(doc));
  assert.equal(doc.uploadDetails, false);
  assert.deepEqual(Object.keys(doc.inFlight[0] ?? {}).sort(), ['received', 'size', 'startedAt']);
  assert.doesNotMatch(j.stdout, /slot-xyz|report\.pdf|bob@/);
});

test('a slotSecret serve does not run with: counters, and a note saying why the details are hidden', async () => {
  const r = await status(['--url', admin.url], { slotSecret: 'another-secret-than-serve-has-0123456789' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}an upload: 25%/m);
  assert.doesNotMatch(r.stdout, /report\.pdf/);
  assert.match(r.stderr, /^fileupload: note: the admin token from .* is not the one serve runs with/m);
});

test('the socket needs no token; a loopback name gets it', async () => {
  const bySocket = await status(['--json', '--url', `unix:${join(dir, 'admin.sock')}`]);
  assert.equal(JSON.parse(bySocket.stdout).inFlight[0].filename, 'report.pdf');
  const byLocalhost = await status(['--json', '--url', admin.url.replace('127.0.0.1', 'localhost')], {
    slotSecret: SLOT_SECRET,
  });
  assert.equal(JSON.parse(byLocalhost.stdout).inFlight[0].filename, 'report.pdf');
});

test('the address comes from the configuration: adminPort, or adminSocket first', async () => {
  const port = Number(new URL(admin.url).port);
  const byPort = await status(['--json'], { adminPort: port, slotSecret: SLOT_SECRET });
  assert.equal(byPort.code, 0, byPort.stderr);
  assert.equal(JSON.parse(byPort.stdout).node, 'node-cli');
  assert.equal(JSON.parse(byPort.stdout).inFlight[0].uploader, 'bob@example.org');
  const bySocket = await status(['--json'], { adminPort: 1, adminSocket: join(dir, 'admin.sock') });
  assert.equal(bySocket.code, 0, bySocket.stderr);
  assert.equal(JSON.parse(bySocket.stdout).node, 'node-cli');
});

test('serve not running: exit 4 and a message saying so', async () => {
  const port = await freePort();
  for (const [json, r] of [
    [false, await status(['--url', `http://127.0.0.1:${port}`])],
    [false, await status([], { adminPort: port })],
    [true, await status(['--json'], { adminSocket: join(dir, 'none.sock') })],
  ] as const) {
    assert.equal(r.code, ExitCode.Unavailable, r.stderr);
    const message = json
      ? (JSON.parse(r.stderr) as { error: { code: string; message: string } }).error
      : { code: 'not-running', message: r.stderr.replace(/^fileupload: /, '') };
    assert.equal(message.code, 'not-running');
    assert.match(message.message, /^serve is not running/);
    assert.match(message.message, /fileupload serve/);
    assert.equal(r.stdout, '');
  }
});

test('admin API turned off, a bad --url or --interval: exit 2', async () => {
  const off = await status([], { adminPort: 0 });
  assert.equal(off.code, ExitCode.Usage);
  assert.match(off.stderr, /admin API is turned off .*adminPort/);
  const badUrl = await status(['--url', 'ftp://x']);
  assert.equal(badUrl.code, ExitCode.Usage);
  assert.match(badUrl.stderr, /--url: "ftp:\/\/x" is not an admin API address/);
  const badInterval = await status(['--url', admin.url, '--interval', 'soon']);
  assert.equal(badInterval.code, ExitCode.Usage);
  assert.match(badInterval.stderr, /--interval "soon"/);
});

test('an invalid unrelated property does not stop status from finding serve', async () => {
  const port = Number(new URL(admin.url).port);
  const r = await status(['--json'], { adminPort: port, webPort: 99999, maxFileSize: 'big' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).node, 'node-cli');
  const bad = await status([], { adminPort: 'x' });
  assert.equal(bad.code, ExitCode.Usage);
  assert.match(bad.stderr, /adminPort.*or pass --url/);
});
