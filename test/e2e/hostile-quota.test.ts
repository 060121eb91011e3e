/**
 * A hostile user against quotas, slot limits and purge: the real serve (FILEUPLOAD_E2E_BIN for
 * the built binary) as the component of a real Prosody, the attacker alice and the victim bob as
 * real XMPP clients.
 *
 *   flood  20,000 slot requests pipelined over one c2s connection: the per-user rate and
 *          pending-slot limits refuse them with wait/resource-constraint and a retry stamp,
 *          before the index is touched (it grows by less than 1 MB).
 *   purge  on a small tmpfs (root only) alice uploads up to her default daily quota and keeps
 *          an upload running; purge's disk rule then has work to do, and takes only her files:
 *          bob's permanent, profile and message uploads all still download.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { runFileupload, serveConfigFor, startServe, type ServeProcess } from '../support/serve.ts';
import { connectUser, NS_UPLOAD_0, type SlotRequestSpec, type UserSession } from '../support/xmpp-client.ts';
import { http } from '../support/http.ts';
import { putToSlot, type SlotOk } from '../support/stack.ts';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

let prosody: XmppTestServer;
const open: Array<{ close(): Promise<void> }> = [];

before(async () => {
  prosody = await startProsody({
    users: [
      { user: 'alice', password: 'alice-pw' },
      { user: 'bob', password: 'bob-pw' },
    ],
  });
});
after(async () => {
  for (const o of open.reverse()) await o.close().catch(() => {});
  await prosody?.stop();
});

async function login(user: string): Promise<UserSession> {
  const s = await connectUser({ port: prosody.c2sPort, domain: 'localhost', username: user, password: `${user}-pw` });
  open.push(s);
  return s;
}

/** Starts serve as the component; stopped when the test ends (the next test's serve takes the domain). */
async function serve(
  t: { after(fn: () => Promise<void>): void },
  config: Record<string, string | number | undefined>,
): Promise<ServeProcess> {
  const s = await startServe({ config: await serveConfigFor(prosody, config), waitFor: 'xmpp online' });
  t.after(async () => {
    await s.stop();
  });
  return s;
}

/** Disk usage of a folder in KiB (blocks, as `du -sk` says). */
const duKiB = (dir: string): number => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split(/\s/)[0]);

const spec = (filename: string, size: number, purpose?: string): SlotRequestSpec => ({
  namespace: NS_UPLOAD_0,
  shape: 'attributes',
  filename,
  size,
  ...(purpose ? { purpose: { name: purpose } } : {}),
});

async function mustSlot(user: UserSession, service: string, s: SlotRequestSpec): Promise<SlotOk> {
  const o = await user.requestSlot(service, s);
  if (!o.ok) throw new Error(`slot refused: ${o.error.type}/${o.error.condition} ${o.error.text ?? ''}`);
  return o;
}

test('20,000 pipelined slot requests from one user: ≥ 90 % refused with wait and a retry stamp, the index grows < 1 MB', async (t) => {
  // The default limits (slotRequestRate 60/min, slotRequestBurst 20, maxPendingSlots 50, the
  // daily quota): nothing about them is set here.
  const s = await serve(t, { purgeInterval: 0 });
  const alice = await login('alice');
  const index = join(String(s.config.fileRepo), 'index');
  mkdirSync(index, { recursive: true });
  const before = duKiB(index);
  const started = Date.now();
  const N = 20_000;
  // All sent at once on one connection; every answer is awaited (bounded by the IQ timeout).
  const outcomes = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      alice.requestSlot(prosody.componentDomain, spec(`f${i}.bin`, 10 * MiB), 170_000),
    ),
  );
  const seconds = (Date.now() - started) / 1000;
  const grown = duKiB(index) - before;

  let granted = 0;
  let waited = 0;
  for (const o of outcomes) {
    if (o.ok) {
      granted++;
      continue;
    }
    assert.equal(o.error.type, 'wait', `refused with ${o.error.type}/${o.error.condition}: ${o.error.text}`);
    assert.equal(o.error.condition, 'resource-constraint');
    const stamp = Date.parse(o.error.retryStamp ?? '');
    assert.ok(Number.isFinite(stamp), `a retry stamp in ${o.stanza.toString()}`);
    assert.ok(stamp >= started - 1000, `the retry stamp ${o.error.retryStamp} is not in the past`);
    waited++;
  }
  t.diagnostic(
    `${granted} granted, ${waited} refused with wait in ${seconds.toFixed(1)} s; index grew by ${grown} KiB`,
  );
  assert.equal(granted + waited, N);
  assert.ok(waited >= 0.9 * N, `${waited} of ${N} refused`);
  assert.ok(granted >= 1, 'the first requests are granted');
  assert.ok(grown < 1024, `the index grew by ${grown} KiB`);

  // Another user is not affected by alice's flood.
  const bob = await login('bob');
  assert.ok((await bob.requestSlot(prosody.componentDomain, spec('b.bin', 1000))).ok);
});

test(
  "the victim's uploads survive the attacker's uploads up to her quota, a running upload and a purge on a small disk",
  { skip: !isRoot && 'needs root to mount a tmpfs' },
  async (t) => {
    const mount = mkdtempSync(join(tmpdir(), 'fileupload-hostile-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=36m', 'tmpfs', mount]);
    t.after(() => {
      execFileSync('umount', ['-l', mount]);
      rmSync(mount, { recursive: true, force: true });
    });
    const repo = join(mount, 'repo');
    mkdirSync(repo);
    // maxFileSize 2 MiB: the default daily quota is 20 MiB. No purge by serve: the test runs it.
    const s = await serve(t, { fileRepo: repo, maxFileSize: 2 * MiB, purgeInterval: 0 });
    const service = prosody.componentDomain;
    const [alice, bob] = [await login('alice'), await login('bob')];

    // bob first: his uploads are the oldest, which is what the oldest-first rule took.
    const victims: Array<{ purpose: string; get: string; body: Buffer }> = [];
    for (const purpose of ['permanent', 'profile', 'message']) {
      const body = Buffer.alloc(MiB, purpose.charCodeAt(0));
      const slot = await mustSlot(bob, service, spec(`${purpose}.bin`, body.length, purpose));
      assert.equal((await putToSlot(slot, body)).status, 201);
      victims.push({ purpose, get: slot.get, body });
    }

    // bob's uploads pass the size rules' grace of a minute: from now on they could be taken.
    await new Promise((r) => setTimeout(r, 62_000));

    // alice: nine 2 MiB uploads and a tenth slot with its upload kept running: her 20 MiB.
    for (let i = 0; i < 9; i++) {
      const slot = await mustSlot(alice, service, spec(`a${i}.bin`, 2 * MiB));
      assert.equal((await putToSlot(slot, Buffer.alloc(2 * MiB, 0x61 + i))).status, 201);
    }
    const last = await mustSlot(alice, service, spec('running.bin', 2 * MiB));
    const over = await alice.requestSlot(service, spec('over.bin', MiB));
    assert.ok(
      !over.ok && over.error.type === 'wait' && over.error.condition === 'resource-constraint',
      'alice is at her daily quota',
    );

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let stop = false;
    const body = async function* (): AsyncGenerator<Buffer> {
      yield Buffer.alloc(MiB, 0x7a);
      let sent = MiB;
      // Alive until the purge is over: a little data now and then (bounded: at most 5 minutes).
      for (let i = 0; i < 300 && !stop; i++) {
        await Promise.race([gate, new Promise((r) => setTimeout(r, 1000))]);
        if (stop) break;
        yield Buffer.alloc(16, 0x7a);
        sent += 16;
      }
      yield Buffer.alloc(2 * MiB - sent, 0x7a);
    };
    const running = http(last.put, {
      method: 'PUT',
      headers: { ...last.headers, 'content-length': 2 * MiB },
      body: body(),
      timeoutMs: 400_000,
    });

    type PurgeDoc = {
      deletions: Array<{ id: string; rule: string; filename: string }>;
      summary: { scanned: { partials: number; partialBytes: number }; shortfall: number };
    };
    // A purge right after her burst: her uploads are still in their grace and cannot be taken yet,
    // but they count for her share, so bob's older uploads are not taken in their place.
    const early = await runFileupload(['--config', s.configFile, '--json', 'purge']);
    assert.equal(early.code, 0, early.stderr);
    const earlyDoc = JSON.parse(early.stdout) as PurgeDoc;
    t.diagnostic(`purge during the grace: ${early.stdout.slice(0, 600)}`);
    assert.ok(earlyDoc.summary.shortfall > 0, 'the disk rule had work to do (else this proves nothing)');
    assert.deepEqual(
      earlyDoc.deletions.map((d) => d.filename),
      [],
      "nothing goes while the filler's uploads are in their grace",
    );
    for (const v of victims)
      assert.equal((await http(v.get)).status, 200, `bob's ${v.purpose} upload after the early purge`);

    // The size rules leave uploads younger than a minute alone: let every upload pass that age.
    await new Promise((r) => setTimeout(r, 62_000));
    const purge = await runFileupload(['--config', s.configFile, '--json', 'purge']);
    stop = true;
    release();
    assert.equal(purge.code, 0, purge.stderr);
    const doc = JSON.parse(purge.stdout) as PurgeDoc;
    t.diagnostic(
      `purge: ${JSON.stringify(doc.summary.scanned)}; deleted ${doc.deletions.map((d) => `${d.filename} (${d.rule})`).join(', ')}`,
    );
    assert.ok(doc.summary.scanned.partials >= 1, 'the running upload had its temp file during the purge');
    assert.ok(
      doc.deletions.some((d) => d.rule === 'disk'),
      'the disk rule had to act (else this test proves nothing)',
    );
    for (const d of doc.deletions) assert.match(d.filename, /^a\d\.bin$/, `only alice's uploads go, not ${d.filename}`);

    for (const v of victims) {
      const r = await http(v.get);
      assert.equal(r.status, 200, `bob's ${v.purpose} upload`);
      assert.ok(r.body.equals(v.body), `bob's ${v.purpose} upload is whole`);
    }
    const done = await running;
    assert.equal(done.status, 201, 'the running upload finished');
  },
);
