/**
 * Component failover on a real Prosody and a real ejabberd: three `serve` nodes on one shared
 * folder; exactly one holds the component connection (ejabberd would accept all three and spread
 * the stanzas over them: every slot request must be answered by the holder alone); the others
 * stand by and take over when the holder stops (SIGTERM), dies (kill -9) or stops renewing the
 * lease (SIGSTOP); a holder that wakes up to a lost lease disconnects. /status and /metrics of
 * every node name the holder.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import { startEjabberd } from '../../scripts/testservers/ejabberd.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { sample } from '../support/prometheus.ts';
import { STACK_USERS } from '../support/stack.ts';
import { connectUser, NS_UPLOAD_0, type UserSession } from '../support/xmpp-client.ts';
import {
  fsClusterStorage,
  sharedProperties,
  startClusterNodes,
  waitForHolder,
  type ClusterNode,
  type ClusterStorage,
} from '../support/cluster.ts';

const servers = { prosody: startProsody, ejabberd: startEjabberd } as const;

for (const kind of ['prosody', 'ejabberd'] as const) {
  describe(`component failover on ${kind}`, () => {
    let xmpp: XmppTestServer;
    let storage: ClusterStorage;
    let nodes: ClusterNode[] = [];
    let alice: UserSession;

    before(async () => {
      xmpp = await servers[kind]({ users: STACK_USERS });
      storage = await fsClusterStorage();
      await storage.writeSharedConfig(await sharedProperties(xmpp, { host: '127.0.0.1', port: 7070 }));
      nodes = await startClusterNodes(storage, 3);
      const u = xmpp.users[0]!;
      alice = await connectUser({ port: xmpp.c2sPort, domain: u.host, username: u.user, password: u.password });
    });
    after(async () => {
      await alice?.close();
      for (const n of nodes) {
        if (n.serve.running()) process.kill(n.serve.pid, 'SIGCONT');
      }
      await Promise.all(nodes.map((n) => n.serve.stop()));
      await storage?.stop();
      await xmpp?.stop();
    });

    /** Sends `n` slot requests (each must succeed) and returns how many each node answered. */
    // Each call asks for sizes no other request uses, so its "slot issued" lines are told apart
    // from those of earlier requests whose lines are still on their way (log lines are written
    // once per event-loop turn, after the answer).
    let sizeBase = 1000;
    const slotsAnsweredBy = async (n: number): Promise<Map<string, number>> => {
      const sizes = new Set(Array.from({ length: n }, (_, i) => sizeBase + i));
      sizeBase += 1000;
      for (const size of sizes) {
        const slot = await alice.requestSlot(
          xmpp.componentDomain,
          { namespace: NS_UPLOAD_0, shape: 'attributes', filename: `f${size}.bin`, size },
          5000,
        );
        assert.ok(
          slot.ok,
          `slot request of ${size} bytes: ${slot.ok ? '' : `${slot.error.type}/${slot.error.condition}`}`,
        );
      }
      const counts = () =>
        new Map(
          nodes.map((node) => [
            node.name,
            node.serve.logLines().filter((l) => l.msg === 'slot issued' && sizes.has(l.size as number)).length,
          ]),
        );
      // The answer can overtake the log line (XMPP socket vs stdout pipe): wait for the lines, bounded.
      const deadline = Date.now() + 3000;
      while ([...counts().values()].reduce((a, b) => a + b, 0) < n && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      return counts();
    };

    /** Slot requests until one succeeds (the takeover window), bounded. */
    const slotWorksAgain = async (): Promise<void> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = await alice
          .requestSlot(
            xmpp.componentDomain,
            { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'again.bin', size: 1 },
            3000,
          )
          .catch(() => undefined);
        if (r?.ok) return;
        if (Date.now() > deadline) throw new Error('slot requests did not work again within 20 s');
        await new Promise((r2) => setTimeout(r2, 200));
      }
    };

    it('exactly one node holds the component; only it answers; every node says which', async () => {
      const holder = await waitForHolder(nodes);
      const answered = await slotsAnsweredBy(12);
      assert.equal(answered.get(holder.name), 12, `answers per node: ${JSON.stringify([...answered])}`);
      for (const n of nodes) {
        const s = await n.status();
        assert.equal(s.node, n.name);
        assert.deepEqual([s.cluster?.holder, s.cluster?.holding], [holder.name, n === holder]);
        assert.equal(s.xmpp.state, n === holder ? 'online' : 'standby');
        const m = await n.metrics();
        assert.equal(sample(m, 'fileupload_component_holder', { node: holder.name }), 1);
        assert.equal(sample(m, 'fileupload_component_holding'), n === holder ? 1 : 0);
      }
    });

    it('SIGTERM on the holder: another node takes over and answers', async () => {
      const holder = await waitForHolder(nodes);
      await holder.serve.stop();
      const next = await waitForHolder(nodes, { not: holder.name });
      await slotWorksAgain();
      const answered = await slotsAnsweredBy(6);
      assert.equal(answered.get(next.name), 6);
    });

    it('a holder that stops renewing (SIGSTOP) loses the lease; when it wakes up it disconnects', async () => {
      const holder = await waitForHolder(nodes);
      const others = nodes.filter((n) => n !== holder && n.serve.running());
      const lostFrom = holder.serve.logLines().length;
      const acquiredFrom = new Map(others.map((n) => [n, n.serve.logLines().length]));
      process.kill(holder.serve.pid, 'SIGSTOP');
      try {
        // The lease (6 s) runs out and a standby takes it.
        await Promise.any(
          others.map((n) =>
            n.serve.waitForLog('component lease acquired', { from: acquiredFrom.get(n)!, timeoutMs: 20_000 }),
          ),
        );
        if (kind === 'ejabberd') {
          // ejabberd accepts the new holder's connection beside the frozen one.
          await waitForHolder(others);
        }
        // Prosody refuses it (conflict) while the frozen node's connection is open: nothing
        // but the frozen node itself (or its death) can end that connection.
      } finally {
        process.kill(holder.serve.pid, 'SIGCONT');
      }
      await holder.serve.waitForLog('component lease lost', { from: lostFrom, timeoutMs: 10_000 });
      const next = await waitForHolder(nodes, { not: holder.name });
      await slotWorksAgain();
      // ejabberd would still spread stanzas to the old holder if it had stayed connected.
      const answered = await slotsAnsweredBy(12);
      assert.equal(answered.get(next.name), 12, `answers per node: ${JSON.stringify([...answered])}`);
      assert.equal((await holder.status()).xmpp.state, 'standby');
    });

    it('kill -9 of the holder: a surviving node takes over', async () => {
      const holder = await waitForHolder(nodes);
      await holder.serve.kill9();
      const next = await waitForHolder(nodes, { not: holder.name });
      await slotWorksAgain();
      const answered = await slotsAnsweredBy(4);
      assert.equal(answered.get(next.name), 4);
      const service = await alice.findUploadService();
      assert.equal(service?.jid, xmpp.componentDomain, 'disco finds the service again');
    });
  });
}
