/**
 * The ad-hoc commands in a cluster: two nodes on one shared folder, one of them holds the
 * component and answers the commands (slixmpp's xep_0050 through Prosody); an upload stored
 * through the other node is listed, and once deleted it is gone on both at once: GET 410 on
 * each, a PUT of its slot 410 on the node that does not hold the component.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from '../../scripts/testservers/processes.ts';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { http, randomFile, sha256 } from '../support/http.ts';
import { REPO_ROOT } from '../support/serve.ts';
import { mustGetSlot, onOrigin, putToSlot, STACK_USERS } from '../support/stack.ts';
import { connectUser, NS_UPLOAD_0, type UserSession } from '../support/xmpp-client.ts';
import {
  fsClusterStorage,
  sharedProperties,
  startClusterNodes,
  waitForHolder,
  type ClusterNode,
  type ClusterStorage,
} from '../support/cluster.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(REPO_ROOT, 'test/e2e/clients/slixmpp_commands.py');

describe('ad-hoc commands in a cluster', () => {
  let xmpp: XmppTestServer;
  let storage: ClusterStorage;
  let nodes: ClusterNode[] = [];
  let alice: UserSession;

  before(async () => {
    const probe = await run(PYTHON, ['-c', 'import slixmpp']);
    assert.equal(probe.code, 0, `slixmpp is missing: apt-get install -y python3-slixmpp\n${probe.stderr}`);
    xmpp = await startProsody({ users: STACK_USERS });
    storage = await fsClusterStorage();
    await storage.writeSharedConfig(await sharedProperties(xmpp, { host: '127.0.0.1', port: 7070 }));
    nodes = await startClusterNodes(storage, 2);
    const u = xmpp.users[0]!;
    alice = await connectUser({ port: xmpp.c2sPort, domain: u.host, username: u.user, password: u.password });
  });
  after(async () => {
    await alice?.close();
    await Promise.all(nodes.map((n) => n.serve.stop()));
    await storage?.stop();
    await xmpp?.stop();
  });

  it('the holder deletes an upload stored through the other node; it is gone on both', async () => {
    const holder = await waitForHolder(nodes);
    const other = nodes.find((n) => n !== holder)!;
    const file = randomFile(3000);
    const slot = await mustGetSlot(alice, xmpp.componentDomain, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: 'cluster.txt',
      size: file.length,
    });
    const at = (node: ClusterNode, url: string) => onOrigin(url, node.serve.origin);
    assert.equal((await putToSlot(slot, file, { url: at(other, slot.put) })).status, 201);
    assert.equal((await http(at(holder, slot.get))).bodySha256, sha256(file));

    const u = xmpp.users[0]!;
    const steps = [{ action: 'complete', choose: ['cluster.txt'], values: { confirm: '1' } }];
    const r = await run(
      PYTHON,
      [
        SCRIPT,
        `${u.user}@${u.host}`,
        u.password,
        String(xmpp.c2sPort),
        xmpp.componentDomain,
        'delete-uploads',
        JSON.stringify(steps),
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, `slixmpp failed:\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as { steps: { status?: string; notes?: { text: string }[] }[] };
    const done = out.steps.at(-1)!;
    assert.equal(done.status, 'completed', r.stdout);
    assert.match(done.notes?.[0]?.text ?? '', /^Deleted 1 upload /);
    // The node holding the component answered (its log line may follow the answer).
    await holder.serve.waitForLog((l) => l.msg === 'uploads removed via ad-hoc command', { timeoutMs: 5000 });
    for (const node of nodes) assert.equal((await http(at(node, slot.get))).status, 410, node.name);
    assert.equal((await putToSlot(slot, file, { url: at(other, slot.put) })).status, 410);
  });
});
