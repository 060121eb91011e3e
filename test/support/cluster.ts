/**
 * Several real `serve` nodes of one cluster for end-to-end tests: a storage fixture (the shared
 * place: a folder today; S3/radosgw can plug in), the shared configuration seeded before the
 * nodes start, each node's own small openfire.xml, and who holds the component.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, trackDir, waitFor } from '../../scripts/testservers/processes.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { fetchAdmin, fetchStatus } from '../../src/status/admin-client.ts';
import type { StatusSnapshot } from '../../src/status/snapshot.ts';
import { openfireXml, startServe, type ServeConfig, type ServeProcess } from './serve.ts';
import { startRadosgw, type RadosgwServer } from '../../scripts/testservers/ceph.ts';
import { S3Connection } from '../../src/storage/s3/client.ts';
import { S3ConditionalObjects } from '../../src/storage/s3/conditional.ts';

/**
 * The shared place of a cluster. `nodeProperties` go into every node's own file (they locate the
 * shared place); `writeSharedConfig` seeds the cluster-wide properties before the nodes start.
 * An S3 fixture (S1's radosgw) returns storage = s3 and the s3* properties here, and writes the
 * shared configuration where its cluster layer reads it.
 */
export interface ClusterStorage {
  name: string;
  nodeProperties: ServeConfig;
  writeSharedConfig(props: ServeConfig): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A shared folder (on one machine: a temp dir; in production NFS/CephFS at the same path).
 *
 * @example
 * const storage = await fsClusterStorage();
 * after(() => storage.stop());
 */
export async function fsClusterStorage(): Promise<ClusterStorage & { repo: string }> {
  const repo = mkdtempSync(join(tmpdir(), 'fileupload-cluster-repo-'));
  trackDir(repo);
  return {
    name: 'fs',
    repo,
    nodeProperties: { fileRepo: repo, cluster: 'true' },
    async writeSharedConfig(props) {
      mkdirSync(join(repo, 'cluster'), { recursive: true, mode: 0o700 });
      writeFileSync(join(repo, 'cluster', 'openfire.xml'), openfireXml(props), { mode: 0o600 });
    },
    async stop() {},
  };
}

/**
 * An S3 bucket on a throw-away radosgw, with no shared folder at all: every node's own file names
 * the bucket (storage = s3, s3*), the shared configuration is the object
 * `{s3Prefix}cluster/openfire.xml` and the component lease an object beside it.
 *
 * @example
 * const storage = await s3ClusterStorage();
 * after(() => storage.stop());
 */
export async function s3ClusterStorage(): Promise<ClusterStorage & { rgw: RadosgwServer }> {
  const rgw = await startRadosgw();
  const prefix = 'cluster-e2e/';
  const nodeProperties: ServeConfig = {
    storage: 's3',
    s3Endpoint: rgw.endpoint,
    s3Bucket: rgw.bucket,
    s3Region: rgw.region,
    s3AccessKey: rgw.accessKey,
    s3SecretKey: rgw.secretKey,
    s3Prefix: prefix,
    cluster: 'true',
  };
  return {
    name: 's3',
    rgw,
    nodeProperties,
    async writeSharedConfig(props) {
      const connection = new S3Connection({
        endpoint: rgw.endpoint,
        bucket: rgw.bucket,
        region: rgw.region,
        forcePathStyle: true,
        accessKey: rgw.accessKey,
        secretKey: rgw.secretKey,
      });
      try {
        await new S3ConditionalObjects(connection).putIfAbsent(
          `${prefix}cluster/openfire.xml`,
          openfireXml(props),
          'application/xml',
        );
      } finally {
        await connection.close();
      }
    },
    stop: () => rgw.stop(),
  };
}

/** Storage fixtures by name; FILEUPLOAD_CLUSTER_STORAGE=fs,s3 picks (default every available one). */
export type StorageFactory = () => Promise<ClusterStorage>;

/**
 * The cluster-wide properties for nodes connected to `xmpp` (undefined: nothing listens) and
 * announcing `announced` (a load balancer's origin, or any node's).
 *
 * @example
 * await storage.writeSharedConfig(sharedProperties(prosody, 'http://127.0.0.1:8080'));
 */
export async function sharedProperties(
  xmpp: XmppTestServer | undefined,
  announced: { host: string; port: number },
  over: ServeConfig = {},
): Promise<ServeConfig> {
  return {
    xmppHost: '127.0.0.1',
    xmppPort: xmpp?.componentPort ?? (await freePort()),
    domain: xmpp?.componentDomain ?? 'upload.localhost',
    sharedSecret: xmpp?.componentSecret ?? 'unused-secret',
    announcedWebProtocol: 'http',
    announcedWebHost: announced.host,
    announcedWebPort: announced.port,
    announcedWebContextRoot: '/httpfileupload',
    maxFileSize: 10 * 1024 * 1024,
    ...over,
  };
}

/** One running node. */
export interface ClusterNode {
  name: string;
  serve: ServeProcess;
  adminPort: number;
  webPort: number;
  /** The node's /status (throws when it does not answer). */
  status(): Promise<StatusSnapshot>;
  metrics(): Promise<string>;
}

/**
 * Starts `count` nodes named node1… on the storage, each with its own webPort and adminPort in
 * its own file, and waits until each logged "ready".
 *
 * @example
 * const nodes = await startClusterNodes(storage, 3);
 */
export async function startClusterNodes(
  storage: ClusterStorage,
  count: number,
  options: { env?: Record<string, string>; node?: (i: number) => ServeConfig } = {},
): Promise<ClusterNode[]> {
  const nodes: ClusterNode[] = [];
  try {
    const starting = [];
    const startNode = async (i: number): Promise<void> => {
      // A port found free can be taken by another test's connection before serve binds it:
      // that start fails with EADDRINUSE, and the node tries again on other ports.
      for (let attempt = 1; ; attempt++) {
        const [webPort, adminPort] = [await freePort(), await freePort()];
        const name = `node${i}`;
        const config: ServeConfig = {
          ...storage.nodeProperties,
          nodeName: name,
          webHost: '127.0.0.1',
          webPort,
          adminPort,
          ...options.node?.(i),
        };
        let serve;
        try {
          serve = await startServe({ config, waitFor: 'ready', ...(options.env ? { env: options.env } : {}) });
        } catch (err) {
          if (attempt < 3 && /EADDRINUSE/.test(String(err))) continue;
          throw err;
        }
        const target = { host: '127.0.0.1', port: adminPort };
        nodes.push({
          name,
          serve,
          adminPort,
          webPort,
          status: () => fetchStatus(target),
          metrics: () => fetchAdmin(target, '/metrics'),
        });
        return;
      }
    };
    for (let i = 1; i <= count; i++) starting.push(startNode(i));
    await Promise.all(starting);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.serve.stop()));
    throw err;
  }
  return nodes.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Waits until exactly one of the running `nodes` holds the component and is online, and every
 * running node names it as the holder; returns it.
 *
 * @example
 * const holder = await waitForHolder(nodes);
 */
export async function waitForHolder(
  nodes: ClusterNode[],
  options: { timeoutMs?: number; not?: string } = {},
): Promise<ClusterNode> {
  const running = () => nodes.filter((n) => n.serve.running());
  return waitFor(
    async () => {
      const views = await Promise.all(running().map(async (n) => ({ n, s: await n.status().catch(() => undefined) })));
      const holders = views.filter((v) => v.s?.cluster?.holding && v.s.xmpp.state === 'online');
      if (holders.length !== 1) return undefined;
      const holder = holders[0]!.n;
      if (holder.name === options.not) return undefined;
      return views.every((v) => v.s?.cluster?.holder === holder.name) ? holder : undefined;
    },
    { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: 100, describe: 'exactly one node holding the component' },
  );
}

/**
 * Log lines of a node matching `msg` and the given fields.
 *
 * @example
 * countLogs(node, 'request', { method: 'PUT', status: 201 });
 */
export function countLogs(node: ClusterNode, msg: string, fields: Record<string, unknown> = {}): number {
  return node.serve.logLines().filter((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v))
    .length;
}
