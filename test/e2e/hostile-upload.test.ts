/**
 * Hostile uploaders against the real `serve` (the single binary with FILEUPLOAD_E2E_BIN) and a
 * real Prosody issuing the slots: many parallel PUTs of one slot, a slow-loris PUT, a retry after
 * an abort, and parallel PUTs of one slot to two cluster nodes sharing a repository.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { http, randomFile, sha256 } from '../support/http.ts';
import {
  mustGetSlot,
  onOrigin,
  putToSlot,
  startStack,
  STACK_USERS,
  type SlotOk,
  type Stack,
} from '../support/stack.ts';
import { connectUser, NS_UPLOAD_0, type UserSession } from '../support/xmpp-client.ts';
import {
  fsClusterStorage,
  s3ClusterStorage,
  sharedProperties,
  startClusterNodes,
  waitForHolder,
  type ClusterNode,
  type ClusterStorage,
} from '../support/cluster.ts';
import { waitFor } from '../support/serve.ts';
import { rawPut } from '../support/raw-http.ts';

/** What the store writes before the body (the metadata header, see storage/fs/format.ts): well under this for a short filename. */
const HEADER_ALLOWANCE = 1024;

/** Temp files of a repository and their bytes (files that vanish meanwhile are skipped). */
function tmpUsage(repo: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(join(repo, 'tmp'))) {
    if (!name.endsWith('.part')) continue;
    try {
      bytes += statSync(join(repo, 'tmp', name)).size;
      files++;
    } catch {
      // published or removed since the listing
    }
  }
  return { files, bytes };
}

describe('hostile uploads on one node (Prosody + serve)', () => {
  let stack: Stack;
  let repo: string;
  before(async () => {
    // Small limits: a stalled body is cut after 2 s; uploads must average 4 KiB/s (the 60 s floor
    // for these small slots).
    stack = await startStack('prosody', { maxFileSize: 1024 * 1024, idleTimeout: '2s', minUploadRate: '4K' });
    repo = String(stack.config.fileRepo);
  });
  after(() => stack?.stop());

  const slot = (filename: string, size: number): Promise<SlotOk> =>
    mustGetSlot(stack.alice, stack.service, { namespace: NS_UPLOAD_0, shape: 'attributes', filename, size });

  it('50 parallel trickling PUTs of one slot: one receives, 49 get 409 before a byte is stored; tmp/ stays within the slot size', async (t) => {
    // Larger than the store's small-body hold (bytes go to disk as they come), so the sampler
    // sees them.
    const size = 256 * 1024;
    const s = await slot('contested.bin', size);
    const puts = Array.from({ length: 50 }, () => rawPut(s.put, s.headers, size));
    const sent = new Array<number>(puts.length).fill(0);
    let peak = { files: 0, bytes: 0 };
    const sample = (): void => {
      const u = tmpUsage(repo);
      if (u.bytes > peak.bytes || u.files > peak.files)
        peak = { files: Math.max(peak.files, u.files), bytes: Math.max(peak.bytes, u.bytes) };
    };
    // Each attacker sends 1 KiB every 100 ms (never idle for 2 s), and tmp/ is sampled meanwhile.
    for (let round = 0; round < 20; round++) {
      puts.forEach((p, i) => {
        if (p.answered() || sent[i]! + 1024 > size - 1) return;
        p.send(Buffer.alloc(1024, i));
        sent[i]! += 1024;
      });
      sample();
      await sleep(100);
    }
    const answered = puts.filter((p) => p.answered());
    const open = puts.filter((p) => !p.answered());
    assert.equal(open.length, 1, `exactly one PUT is still receiving (answered: ${answered.length})`);
    for (const p of answered) {
      const a = await p.answer;
      assert.equal(a.status, 409, `${a.status} ${a.body}`);
      assert.equal(a.body.trim(), 'upload in progress');
    }
    t.diagnostic(`tmp/ peaked at ${peak.bytes} bytes in ${peak.files} file(s) for a ${size}-byte slot`);
    assert.equal(peak.files, 1, 'one temp file at most, ever');
    assert.ok(peak.bytes <= size + HEADER_ALLOWANCE, `tmp/ peaked at ${peak.bytes} bytes for a ${size}-byte slot`);
    assert.ok(peak.bytes > 0, 'the sampler saw the receiving upload');

    // The one receiving upload finishes and reads back whole.
    const winner = open[0]!;
    const index = puts.indexOf(winner);
    winner.send(Buffer.alloc(size - sent[index]!, index));
    const done = await winner.answer;
    assert.equal(done.status, 201, done.body);
    const got = await http(s.get);
    assert.equal(got.status, 200);
    assert.equal(got.bodySha256, sha256(Buffer.alloc(size, index)), "the body is the receiving upload's alone");
    for (const p of puts) p.socket.destroy();
    await waitFor(() => tmpUsage(repo).files === 0, { timeoutMs: 5000, describe: 'tmp/ to be empty' });
  });

  it('a slow-loris PUT (a byte every 3 s, idleTimeout 2 s) is cut off: 408, connection closed, no temp file', async () => {
    const size = 1000;
    const s = await slot('loris.bin', size);
    const p = rawPut(s.put, s.headers, size);
    p.send('x');
    await waitFor(() => tmpUsage(repo).files === 1, { timeoutMs: 5000, describe: 'the upload to start' });
    const timer = setInterval(() => p.send('x'), 3000);
    try {
      const a = await p.answer;
      assert.equal(a.status, 408, a.body);
      assert.match(a.body, /no data received for 2 s/);
      assert.equal(a.headers.connection, 'close');
      assert.equal(a.closed, true);
    } finally {
      clearInterval(timer);
      p.socket.destroy();
    }
    await waitFor(() => tmpUsage(repo).files === 0, { timeoutMs: 5000, describe: 'the temp file to be removed' });
    assert.equal((await http(s.get)).status, 404);
    await waitFor(() => stack.serve.logLines().some((l) => l.msg === 'request' && l.status === 408), {
      timeoutMs: 5000,
      describe: 'the 408 in the log',
    });
  });

  it('after an aborted PUT, a retry of the slot succeeds and reads back whole', async () => {
    const file = randomFile(512 * 1024);
    const s = await slot('retry.bin', file.length);
    const aborted = await putToSlot(s, file, { abortAfterBytes: 200 * 1024 });
    assert.equal(aborted.status, 0, 'no answer to an aborted upload');
    const retry = await putToSlot(s, file);
    assert.equal(retry.status, 201, retry.body.toString());
    assert.equal((await http(s.get)).bodySha256, sha256(file));
    await waitFor(() => tmpUsage(repo).files === 0, { timeoutMs: 5000, describe: 'tmp/ to be empty' });

    // The slot is still valid, but its upload is stored: a further PUT is refused before its
    // body, so it cannot fill a temp file no quota counts.
    const again = rawPut(s.put, s.headers, file.length);
    again.send(file.subarray(0, 64 * 1024));
    const answer = await again.answer;
    assert.equal(answer.status, 409, answer.body);
    assert.equal(answer.body.trim(), 'already uploaded');
    assert.equal(tmpUsage(repo).files, 0, 'no temp file for it');
    again.socket.destroy();
    await waitFor(
      () =>
        stack.serve
          .logLines()
          .some(
            (l) =>
              l.msg === 'request' &&
              l.status === 409 &&
              l.id === new URL(s.put).pathname.split('/').at(-2) &&
              l.bytes === 0,
          ),
      {
        timeoutMs: 5000,
        describe: 'the 409 logged with no body byte stored',
      },
    );
  });
});

/** Cluster storages: a shared folder, and a radosgw bucket (FILEUPLOAD_CLUSTER_STORAGE=fs,s3 chooses). */
const STORAGES: Record<string, () => Promise<ClusterStorage>> = { fs: fsClusterStorage, s3: s3ClusterStorage };
const wanted = (process.env.FILEUPLOAD_CLUSTER_STORAGE ?? 'fs,s3')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');

for (const storageName of wanted) {
  describe(
    `one upload per slot across two cluster nodes on ${storageName} storage`,
    { skip: STORAGES[storageName] ? false : `no ${storageName} fixture` },
    () => {
      let xmpp: XmppTestServer;
      let storage: ClusterStorage;
      let nodes: ClusterNode[] = [];
      let alice: UserSession;
      /** The shared folder (fs storage only): its tmp/ and claims/ are looked at too. */
      let repo: string | undefined;
      before(async () => {
        xmpp = await startProsody({ users: STACK_USERS });
        storage = await STORAGES[storageName]!();
        repo = 'repo' in storage ? String(storage.repo) : undefined;
        await storage.writeSharedConfig(
          await sharedProperties(xmpp, { host: '127.0.0.1', port: 7070 }, { idleTimeout: '5s' }),
        );
        nodes = await startClusterNodes(storage, 2);
        await waitForHolder(nodes);
        const u = xmpp.users[0]!;
        alice = await connectUser({ port: xmpp.c2sPort, domain: u.host, username: u.user, password: u.password });
      });
      after(async () => {
        await alice?.close();
        await Promise.all(nodes.map((n) => n.serve.stop()));
        await storage?.stop();
        await xmpp?.stop();
      });

      const origins = (): string[] => nodes.map((n) => `http://127.0.0.1:${n.webPort}`);

      it('parallel PUTs of one slot to both nodes: one proceeds, the other gets 409', async () => {
        const size = 32 * 1024;
        const s = await mustGetSlot(alice, xmpp.componentDomain, {
          namespace: NS_UPLOAD_0,
          shape: 'attributes',
          filename: 'both.bin',
          size,
        });
        const puts = origins().map((o) => rawPut(onOrigin(s.put, o), s.headers, size));
        puts.forEach((p) => p.send(Buffer.alloc(1024, 1)));
        await waitFor(() => puts.filter((p) => p.answered()).length === 1, {
          timeoutMs: 10_000,
          describe: 'one of the two PUTs to be refused',
        });
        const refused = puts.find((p) => p.answered())!;
        const winner = puts.find((p) => !p.answered())!;
        const a = await refused.answer;
        assert.equal(a.status, 409, a.body);
        assert.equal(a.body.trim(), 'upload in progress');
        if (repo) {
          assert.equal(tmpUsage(repo).files, 1, 'one temp file in the shared repository');
          assert.deepEqual(readdirSync(join(repo, 'claims')), [`${new URL(s.put).pathname.split('/').at(-2)}.claim`]);
        }

        winner.send(Buffer.alloc(size - 1024, 1));
        assert.equal((await winner.answer).status, 201);
        assert.equal((await http(onOrigin(s.get, origins()[0]!))).bodySha256, sha256(Buffer.alloc(size, 1)));
        if (repo) {
          const dir = repo;
          await waitFor(() => readdirSync(join(dir, 'claims')).length === 0, {
            timeoutMs: 5000,
            describe: 'the claim to be released',
          });
        }
        for (const p of puts) p.socket.destroy();
      });

      it('a retry on the other node after an aborted PUT takes the slot', async () => {
        const file = randomFile(256 * 1024);
        const s = await mustGetSlot(alice, xmpp.componentDomain, {
          namespace: NS_UPLOAD_0,
          shape: 'attributes',
          filename: 'moved.bin',
          size: file.length,
        });
        const [a, b] = origins();
        const aborted = await putToSlot(s, file, { url: onOrigin(s.put, a!), abortAfterBytes: 100 * 1024 });
        assert.equal(aborted.status, 0);
        // As a client does: retry while the first node still winds the aborted upload down (bounded).
        const retry = await waitFor(
          async () => {
            const r = await putToSlot(s, file, { url: onOrigin(s.put, b!) });
            return r.status === 409 && r.body.toString().trim() === 'upload in progress' ? undefined : r;
          },
          { timeoutMs: 10_000, intervalMs: 200, describe: 'the retry to get past "upload in progress"' },
        );
        assert.equal(retry.status, 201, retry.body.toString());
        assert.equal((await http(onOrigin(s.get, a!))).bodySha256, sha256(file));
      });
    },
  );
}
