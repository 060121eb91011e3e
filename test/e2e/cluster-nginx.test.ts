/**
 * The multi-node deployment as documented: nginx (Debian package) load-balancing three `serve`
 * nodes that share one storage (a folder; or a radosgw bucket and nothing else), the
 * announced URL being nginx. Uploads and downloads spread over all nodes; the node holding the
 * component is killed with -9 while an upload is streaming into it; clients that retry succeed;
 * everything that got 201 reads back byte for byte; the component moves to a surviving node and
 * slot requests work again.
 *
 * FILEUPLOAD_CLUSTER_STORAGE=fs,s3 chooses the storages (default: both);
 * FILEUPLOAD_CLUSTER_XMPP=prosody|ejabberd the XMPP server (default: prosody).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { freePort } from '../../scripts/testservers/processes.ts';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import { startEjabberd } from '../../scripts/testservers/ejabberd.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { http, sha256 } from '../support/http.ts';
import { STACK_USERS, putToSlot, type SlotOk } from '../support/stack.ts';
import { connectUser, NS_UPLOAD_0, type UserSession } from '../support/xmpp-client.ts';
import {
  countLogs,
  fsClusterStorage,
  s3ClusterStorage,
  sharedProperties,
  startClusterNodes,
  waitForHolder,
  type ClusterNode,
  type ClusterStorage,
} from '../support/cluster.ts';
import { startLoadBalancer, type NginxLoadBalancer } from '../support/nginx-lb.ts';

/** Storages this test can run on: a shared folder, and a radosgw bucket with no shared folder. */
const STORAGES: Record<string, () => Promise<ClusterStorage>> = { fs: fsClusterStorage, s3: s3ClusterStorage };
const wanted = (process.env.FILEUPLOAD_CLUSTER_STORAGE ?? 'fs,s3')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
const xmppKind = process.env.FILEUPLOAD_CLUSTER_XMPP === 'ejabberd' ? 'ejabberd' : 'prosody';

const KiB = 1024;
const MAX_FILE_SIZE = 4 * 1024 * KiB;

/** One upload as a client sees it. */
interface Upload {
  name: string;
  data: Buffer;
  slot?: SlotOk;
  /** PUT attempts made. */
  attempts: number;
  /** The status of each attempt (0: no answer). */
  statuses: number[];
  /** 201 (or a retry's 409 whose GET matched: the earlier attempt had landed). */
  stored: boolean;
}

/** The body sent slowly (for an upload that is still streaming when its node dies). */
async function* paced(data: Buffer, pieces: number, delayMs: number): AsyncGenerator<Buffer> {
  const step = Math.ceil(data.length / pieces);
  for (let at = 0; at < data.length; at += step) {
    yield data.subarray(at, at + step);
    await new Promise((r) => setTimeout(r, delayMs));
  }
}

for (const storageName of wanted) {
  describe(
    `three nodes behind nginx on ${storageName} storage (${xmppKind})`,
    { skip: STORAGES[storageName] ? false : `no ${storageName} fixture` },
    () => {
      let xmpp: XmppTestServer;
      let storage: ClusterStorage;
      let nodes: ClusterNode[] = [];
      let lb: NginxLoadBalancer;
      let alice: UserSession;
      const uploads: Upload[] = [];

      before(async () => {
        xmpp = await (xmppKind === 'ejabberd' ? startEjabberd : startProsody)({ users: STACK_USERS });
        storage = await STORAGES[storageName]!();
        const lbPort = await freePort();
        // alice sends some sixty uploads within a minute, and uploads finished on other nodes count
        // as unused slots on the component's node until they expire: this test is not about
        // those limits.
        const limits = { slotRequestRate: 6000, slotRequestBurst: 100, maxPendingSlots: 1000 };
        await storage.writeSharedConfig(
          await sharedProperties(xmpp, { host: '127.0.0.1', port: lbPort }, { maxFileSize: MAX_FILE_SIZE, ...limits }),
        );
        // Debug level: successful GETs are logged too, so each node's share of downloads shows.
        nodes = await startClusterNodes(storage, 3, { env: { FILEUPLOAD_LOG_LEVEL: 'debug' } });
        lb = await startLoadBalancer({
          port: lbPort,
          upstreams: nodes.map((n) => `127.0.0.1:${n.webPort}`),
          contextRoot: '/httpfileupload',
          maxFileSize: MAX_FILE_SIZE,
        });
        const u = xmpp.users[0]!;
        alice = await connectUser({ port: xmpp.c2sPort, domain: u.host, username: u.user, password: u.password });
      });
      after(async () => {
        await alice?.close();
        await lb?.stop();
        await Promise.all(nodes.map((n) => n.serve.stop()));
        await storage?.stop();
        await xmpp?.stop();
      });

      /** A slot, retrying while no node holds the component (bounded). */
      const slotFor = async (name: string, size: number): Promise<SlotOk> => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const r = await alice
            .requestSlot(
              xmpp.componentDomain,
              { namespace: NS_UPLOAD_0, shape: 'attributes', filename: name, size },
              3000,
            )
            .catch(() => undefined);
          if (r?.ok) return r;
          if (Date.now() > deadline)
            throw new Error(
              `no slot for ${name} within 30 s: ${r && !r.ok ? `${r.error.type}/${r.error.condition}` : 'timeout'}`,
            );
          await new Promise((res) => setTimeout(res, 250));
        }
      };

      /** What a retrying client does: slot, PUT until stored (bounded), then one download. */
      const upload = async (name: string, size: number, options: { slow?: boolean } = {}): Promise<Upload> => {
        const u: Upload = { name, data: randomBytes(size), attempts: 0, statuses: [], stored: false };
        uploads.push(u);
        u.slot = await slotFor(name, size);
        while (!u.stored && u.attempts < 8) {
          u.attempts++;
          const body = options.slow && u.attempts === 1 ? paced(u.data, 20, 100) : u.data;
          const r = await putToSlot(u.slot, body, { headers: { 'content-length': size } });
          u.statuses.push(r.status);
          if (r.status === 201) u.stored = true;
          else if (r.status === 409 && u.attempts > 1)
            u.stored = (await http(u.slot.get)).bodySha256 === sha256(u.data);
          else if (r.status === 0 || r.status === 502 || r.status === 503 || r.status === 504)
            await new Promise((res) => setTimeout(res, 300));
          else break;
        }
        if (u.stored) {
          const got = await http(u.slot.get);
          assert.equal(got.bodySha256, sha256(u.data), `${name}: download right after upload`);
        }
        return u;
      };

      /** Runs uploads with `concurrency` workers. */
      const uploadMany = async (prefix: string, count: number, concurrency: number): Promise<void> => {
        let next = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < count) {
              const i = next++;
              await upload(`${prefix}-${i}.bin`, 1 + Math.floor(Math.random() * 512 * KiB));
            }
          }),
        );
      };

      it('spreads uploads and downloads over every node', async () => {
        await waitForHolder(nodes);
        await uploadMany('before', 24, 6);
        for (const n of nodes) {
          assert.ok(countLogs(n, 'request', { method: 'PUT', status: 201 }) > 0, `${n.name} stored no upload`);
          assert.ok(countLogs(n, 'request', { method: 'GET', status: 200 }) > 0, `${n.name} served no download`);
        }
        assert.ok(
          uploads.every((u) => u.stored && u.attempts === 1),
          'no retries needed while every node runs',
        );
        // The lease lives in the shared place: the bucket on S3 (no folder is shared there).
        for (const n of nodes) {
          const line = n.serve.logLines().find((l) => l.msg === 'cluster node');
          assert.ok(
            String(line?.lease).startsWith(storageName === 's3' ? 's3://' : '/'),
            `${n.name} lease: ${String(line?.lease)}`,
          );
        }
      });

      it('kill -9 of the component holder during an upload: retrying clients succeed, the component moves', async () => {
        const victim = await waitForHolder(nodes);
        // Start slow uploads until one is streaming into the victim (nginx round-robins them).
        const slow: Promise<Upload>[] = [];
        for (let i = 0; i < 9 && (await victim.status()).inFlightCount === 0; i++) {
          slow.push(upload(`slow-${i}.bin`, 256 * KiB, { slow: true }));
          await new Promise((res) => setTimeout(res, 150));
        }
        assert.ok((await victim.status()).inFlightCount > 0, `no upload reached ${victim.name}`);
        const during = uploadMany('during', 12, 4);
        await victim.serve.kill9();
        await Promise.all([during, ...slow]);

        const next = await waitForHolder(nodes, { not: victim.name });
        assert.notEqual(next.name, victim.name);
        // Slot requests work again (the component moved) and uploads go on.
        await uploadMany('after', 12, 4);
        const service = await alice.findUploadService();
        assert.equal(service?.jid, xmpp.componentDomain);

        const failedThenStored = uploads.filter((u) => u.stored && u.statuses.length > 1);
        assert.ok(
          failedThenStored.length > 0,
          'the upload that was streaming into the killed node was retried and stored',
        );
        const lost = uploads.filter((u) => !u.stored);
        assert.deepEqual(
          lost.map((u) => `${u.name}: ${u.statuses.join(',')}`),
          [],
          'every retrying client succeeded',
        );
      });

      it('nothing that got 201 is lost: every upload reads back byte for byte through nginx', async () => {
        const stored = uploads.filter((u) => u.statuses.includes(201) || u.stored);
        assert.ok(stored.length >= 48, `${stored.length} uploads`);
        for (const u of stored) {
          const got = await http(u.slot!.get);
          assert.equal(got.status, 200, u.name);
          assert.equal(got.bodySha256, sha256(u.data), `${u.name} differs`);
        }
        // nginx's own view: requests went to all three upstreams.
        const upstreams = new Set(
          lb
            .accessLog()
            .map((l) => l.split(' ')[2] ?? '-')
            .filter((a) => a !== '-'),
        );
        for (const n of nodes)
          assert.ok(
            [...upstreams].some((a) => a.includes(`127.0.0.1:${n.webPort}`)),
            `nginx never used ${n.name}`,
          );
      });
    },
  );
}
