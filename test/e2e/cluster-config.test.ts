/**
 * The cluster-wide configuration with real processes: `config set` on one node writes the shared
 * document and every running node applies it within seconds without a restart; `config get
 * --json` names the layer; serverspecific still wins on its node; --local writes the node's own
 * file (below the cluster value); restart-only properties are reported as needing a restart;
 * bootstrap properties always stay local. No XMPP server: the nodes serve HTTP only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseOpenfireXml, readProperty } from '../../src/config/openfire-xml.ts';
import { runFileupload, waitFor } from '../support/serve.ts';
import { fsClusterStorage, sharedProperties, startClusterNodes, type ClusterNode } from '../support/cluster.ts';

const MiB = 1024 * 1024;

describe('cluster-wide configuration across running nodes', () => {
  let storage: Awaited<ReturnType<typeof fsClusterStorage>>;
  let nodes: ClusterNode[] = [];
  let a: ClusterNode;
  let b: ClusterNode;

  const config = async (node: ClusterNode, args: string[]) => {
    const r = await runFileupload(['--config', node.serve.configFile, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return { ...r, json: args.includes('--json') ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined };
  };
  const sharedValue = (name: string) =>
    readProperty(parseOpenfireXml(readFileSync(storage.repo + '/cluster/openfire.xml', 'utf8')), name);
  const localValue = (node: ClusterNode, name: string) =>
    readProperty(parseOpenfireXml(readFileSync(node.serve.configFile, 'utf8')), name);
  const maxFileSizeOf = async (node: ClusterNode) => (await node.status()).thresholds.maxFileSize;

  before(async () => {
    storage = await fsClusterStorage();
    await storage.writeSharedConfig(
      await sharedProperties(undefined, { host: '127.0.0.1', port: 7070 }, { maxFileSize: 10 * MiB }),
    );
    nodes = await startClusterNodes(storage, 2);
    [a, b] = nodes as [ClusterNode, ClusterNode];
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.serve.stop()));
  });

  it('config set on node A reaches running node B without a restart', async () => {
    assert.equal(await maxFileSizeOf(b), 10 * MiB);
    const set = await config(a, ['--json', 'config', 'set', 'maxFileSize', '3M']);
    assert.deepEqual(
      [set.json?.layer, set.json?.file, set.json?.name],
      ['cluster', `${storage.repo}/cluster/openfire.xml`, 'plugin.httpfileupload.maxFileSize'],
    );
    assert.equal(sharedValue('plugin.httpfileupload.maxFileSize'), '3M');
    assert.equal(localValue(a, 'plugin.httpfileupload.maxFileSize'), undefined, "A's own file is untouched");
    await waitFor(async () => (await maxFileSizeOf(b)) === 3 * MiB && (await maxFileSizeOf(a)) === 3 * MiB, {
      timeoutMs: 15_000,
      intervalMs: 200,
      describe: 'both nodes applying maxFileSize 3M',
    });
    assert.ok(b.serve.logLines().some((l) => l.msg === 'cluster configuration changed; reloading'));
    const got = await config(b, ['--json', 'config', 'get', 'maxFileSize']);
    assert.deepEqual([got.json?.text, got.json?.value, got.json?.source], ['3M', 3 * MiB, 'cluster']);
  });

  it('a serverspecific value still wins on its own node only', async () => {
    await config(b, ['config', 'set', '--server-specific', 'maxFileSize', '1M']);
    process.kill(b.serve.pid, 'SIGHUP'); // the node's own file is re-read on SIGHUP, as before
    await waitFor(async () => (await maxFileSizeOf(b)) === 1 * MiB, {
      timeoutMs: 10_000,
      describe: 'B applying its serverspecific value',
    });
    assert.equal(await maxFileSizeOf(a), 3 * MiB);
    assert.deepEqual([(await config(b, ['--json', 'config', 'get', 'maxFileSize'])).json?.source], ['serverspecific']);
    assert.deepEqual([(await config(a, ['--json', 'config', 'get', 'maxFileSize'])).json?.source], ['cluster']);
  });

  it('--local writes the node file, below the cluster value, and says so', async () => {
    const r = await config(a, ['--json', 'config', 'set', '--local', 'maxFileSize', '2M']);
    assert.deepEqual([r.json?.layer, r.json?.file], ['general', a.serve.configFile]);
    assert.deepEqual(r.json?.effective, { value: 3 * MiB, source: 'cluster' });
    assert.match(r.stderr, /the cluster value of maxFileSize takes precedence over the general one/);
    assert.equal(localValue(a, 'plugin.httpfileupload.maxFileSize'), '2M');
    // Unset in the cluster: A falls back to its own general value.
    const u = await config(a, ['--json', 'config', 'unset', 'maxFileSize']);
    assert.deepEqual([u.json?.removed, u.json?.layer], [true, 'cluster']);
    assert.deepEqual(u.json?.effective, { value: 2 * MiB, source: 'general' });
    await waitFor(async () => (await maxFileSizeOf(a)) === 2 * MiB, {
      timeoutMs: 15_000,
      describe: 'A falling back to its general value',
    });
  });

  it('a restart-only property changed in the cluster is logged as needing a restart', async () => {
    const from = nodes.map((n) => n.serve.logLines().length);
    const r = await config(a, ['config', 'set', 'slotSecret', 'a-new-secret-for-every-node']);
    assert.match(r.stderr, /restart serve for slotSecret/);
    for (const [i, n] of nodes.entries()) {
      const line = await n.serve.waitForLog(
        (l) => l.msg === 'configuration reloaded' && Array.isArray(l.needsRestart),
        { from: from[i]!, timeoutMs: 15_000 },
      );
      assert.deepEqual(line.needsRestart, ['plugin.httpfileupload.slotSecret']);
    }
  });

  it('bootstrap properties are written to the node file even on a cluster node', async () => {
    const r = await config(a, ['--json', 'config', 'set', 'nodeName', 'renamed-a']);
    assert.deepEqual([r.json?.layer, r.json?.file], ['general', a.serve.configFile]);
    assert.equal(sharedValue('plugin.httpfileupload.nodeName'), undefined);
  });
});
