/**
 * The cluster layer of the configuration and where `config set` writes.
 *
 * Precedence on a cluster node (plugin.httpfileupload.cluster = true):
 *
 *   serverspecific (this node's file) > cluster (shared) > general (this node's file) > default
 *
 * The cluster layer sits above the node's own general values so that a `config set` on any node
 * reaches every node: a general value left in one node's file (from before it joined the
 * cluster, say) cannot silently shadow it. A node that needs its own value says so explicitly
 * with a serverspecific property, as in Openfire. Bootstrap properties (catalogue `local`:
 * fileRepo, cluster, nodeName…) locate the shared place, so they are read from the node's own
 * file only, and the cluster layer never supplies them.
 */
import {
  catalogue,
  GENERAL_PREFIX,
  SERVER_SPECIFIC_PREFIX,
  type Property,
  type PropertyKey,
} from '../config/catalogue.ts';
import { setConfigProperty, unsetConfigProperty } from '../config/edit.ts';
import { readValue } from '../config/encryption.ts';
import type { SharedLayers } from '../config/load.ts';
import { Resolver, type Layer } from '../config/resolve.ts';
import { InvalidValue } from '../config/types.ts';
import { S3Connection } from '../storage/s3/client.ts';
import { S3ConditionalObjects } from '../storage/s3/conditional.ts';
import { FsSharedConfigStore } from './shared-config/fs.ts';
import { type SharedConfigStore } from './shared-config/store.ts';
import { S3SharedConfigStore } from './shared-config/s3.ts';

/** The shared document's name under the shared place (`{fileRepo}/` or `{s3Prefix}`). */
const SHARED_CONFIG_NAME = 'cluster/openfire.xml';

/** The layer's source name, as `config get --json` shows it. */
export const CLUSTER_SOURCE = 'cluster';

/** The cluster layer: a {@link Layer} that also knows the store it was read from. */
export interface ClusterLayer extends Layer {
  readonly store: SharedConfigStore;
  /** The version of the document this layer holds. */
  readonly version: string;
}

/** Opens the shared store of a node, given its local values (short name → text); undefined: none. */
export type SharedStoreOpener = (local: (short: PropertyKey) => string | undefined) => SharedConfigStore | undefined;

/**
 * The shared place of a node's cluster: the fs repository (`{fileRepo}/cluster/openfire.xml`),
 * or with storage = s3 the bucket (`{s3Prefix}cluster/openfire.xml`), so an S3 cluster needs no
 * shared folder at all.
 *
 * @example
 * openSharedConfigStore((k) => ({ fileRepo: '/srv/upload' })[k]); // FsSharedConfigStore
 */
export const openSharedConfigStore: SharedStoreOpener = (local) => {
  if (parsed(catalogue.storage, local('storage')) === 's3') return s3SharedConfigStore(local);
  const repo = parsed(catalogue.fileRepo, local('fileRepo'));
  return repo === undefined ? undefined : new FsSharedConfigStore(repo);
};

/**
 * The shared document in the node's bucket (`{s3Prefix}cluster/openfire.xml`); undefined when
 * the bucket is not configured. The AWS SDK is loaded on the first read, not here.
 */
function s3SharedConfigStore(local: (short: PropertyKey) => string | undefined): SharedConfigStore | undefined {
  const bucket = parsed(catalogue.s3Bucket, local('s3Bucket'));
  if (bucket === undefined) return undefined;
  const prefix = parsed(catalogue.s3Prefix, local('s3Prefix')) ?? '';
  const endpoint = parsed(catalogue.s3Endpoint, local('s3Endpoint'));
  const accessKey = parsed(catalogue.s3AccessKey, local('s3AccessKey'));
  const secretKey = parsed(catalogue.s3SecretKey, local('s3SecretKey'));
  const connection = new S3Connection({
    bucket,
    region: parsed(catalogue.s3Region, local('s3Region')) ?? 'us-east-1',
    forcePathStyle: parsed(catalogue.s3ForcePathStyle, local('s3ForcePathStyle')) ?? endpoint !== undefined,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(accessKey !== undefined && secretKey !== undefined ? { accessKey, secretKey } : {}),
  });
  return new S3SharedConfigStore(new S3ConditionalObjects(connection), `${prefix}${SHARED_CONFIG_NAME}`);
}

function parsed<T>(p: Property<T>, text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return p.parse(text);
  } catch (err) {
    if (err instanceof InvalidValue) return undefined; // settingsFromLayers reports it
    throw err;
  }
}

/**
 * What the node's own layers say about the cluster: whether it is on, and its store (undefined
 * when cluster is on but the shared place is not configured — settingsFromLayers reports that).
 *
 * @example
 * const { enabled, store } = clusterOf([serverspecific, general, defaults]);
 */
export function clusterOf(
  localLayers: readonly Layer[],
  open: SharedStoreOpener = openSharedConfigStore,
): { enabled: boolean; store: SharedConfigStore | undefined } {
  const cluster = localLayers.find((l): l is ClusterLayer => l.source === CLUSTER_SOURCE && 'store' in l);
  const resolver = new Resolver(localLayers.filter((l) => l.source !== CLUSTER_SOURCE));
  const local = (short: PropertyKey) => resolver.resolve(short).text;
  const enabled = parsed(catalogue.cluster, local('cluster')) === true;
  if (!enabled) return { enabled, store: undefined };
  return { enabled, store: cluster?.store ?? open(local) };
}

/**
 * The layer of a shared document: general properties only (no serverspecific ones — they mean
 * nothing in a shared place) and never a bootstrap (`local`) property.
 *
 * @example
 * const layer = await readClusterLayer(new FsSharedConfigStore('/srv/upload'));
 */
export async function readClusterLayer(store: SharedConfigStore): Promise<ClusterLayer> {
  const { doc, version } = await store.read();
  return {
    source: CLUSTER_SOURCE,
    store,
    version,
    // fileupload never encrypts the shared document: a value marked encrypted there is an invalid
    // value (it names the element), never its ciphertext taken for the value.
    get: (short) =>
      doc && !catalogue[short].local ? readValue(doc, GENERAL_PREFIX + short, undefined, store.location) : undefined,
  };
}

/**
 * Inserts the cluster layer (read from the shared store) above the node's general layer when the
 * node's own layers turn cluster on; otherwise returns the layers as they are.
 *
 * @example
 * const layers = await withClusterLayer([...fileLayers(doc), defaultsLayer()]);
 * new Resolver(layers).resolve('maxFileSize').source; // 'cluster'
 */
export async function withClusterLayer(
  layers: readonly Layer[],
  open: SharedStoreOpener = openSharedConfigStore,
): Promise<Layer[]> {
  const { enabled, store } = clusterOf(layers, open);
  if (!enabled || !store) return [...layers];
  const cluster = await readClusterLayer(store);
  const at = layers.findIndex((l) => l.source === 'general');
  const out = [...layers];
  out.splice(at === -1 ? Math.min(1, out.length) : at, 0, cluster);
  return out;
}

/**
 * The store of the cluster layer in `layers`, if there is one.
 *
 * @example
 * const store = clusterStoreOf(await loadLayers(file));
 */
export function clusterStoreOf(layers: readonly Layer[]): SharedConfigStore | undefined {
  return layers.find((l): l is ClusterLayer => l.source === CLUSTER_SOURCE && 'store' in l)?.store;
}

/**
 * What a change to the node's own file would leave missing for cluster mode: a message naming it
 * when the change turns cluster on (or takes its shared place away) so that the node has no
 * shared place, which would refuse every later `config set` of a general property; undefined
 * when the node keeps one, or had none before the change either. `text` undefined removes the value.
 *
 * @example
 * clusterPreconditionAfter(layers, { layer: 'general', short: 'cluster', text: 'true' });
 * // 'plugin.httpfileupload.cluster = true needs the shared place first: set plugin.httpfileupload.fileRepo …'
 */
export function clusterPreconditionAfter(
  layers: readonly Layer[],
  change: { layer: string; short: PropertyKey; text: string | undefined },
): string | undefined {
  const local = layers.filter((l) => l.source !== CLUSTER_SOURCE);
  const changed = local.map((l): Layer =>
    l.source === change.layer
      ? { source: l.source, get: (short, ctx) => (short === change.short ? change.text : l.get(short, ctx)) }
      : l,
  );
  const unusable = (ls: readonly Layer[]) => {
    const { enabled, store } = clusterOf(ls);
    return enabled && store === undefined;
  };
  if (!unusable(changed) || unusable(local)) return undefined;
  const s3 = parsed(catalogue.storage, new Resolver(changed).resolve('storage').text) === 's3';
  const missing = s3
    ? `set ${catalogue.s3Bucket.name} (storage is s3: the shared document lives in the bucket)`
    : `set ${catalogue.fileRepo.name} (the folder every node shares), or storage s3 and ${catalogue.s3Bucket.name}`;
  return change.short === catalogue.cluster.short
    ? `${catalogue.cluster.name} = true needs the shared place first: ${missing}`
    : `cluster is on, and this change leaves it without a shared place: ${missing}`;
}

/** Where a `config set`/`unset` goes. */
export interface WriteTarget {
  /** serverspecific | cluster | general */
  readonly layer: string;
  /** The dotted name written. */
  readonly name: string;
  /** The file (or shared place) written. */
  readonly location: string;
  /** Writes the value; resolves to a note for the user about how it was written (see setConfigProperty), if any. */
  set(value: string): Promise<string | undefined>;
  unset(): Promise<boolean>;
}

/**
 * A cluster node's shared place is needed but not configured.
 *
 * @example
 * if (err instanceof ClusterTargetError) console.error(err.message);
 */
export class ClusterTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterTargetError';
  }
}

/**
 * Chooses where a property is written: serverspecific → the node's file; a general property on a
 * cluster node → the shared store, unless `local` is asked for or the property is a bootstrap
 * one; everything else → the node's file.
 *
 * @example
 * const t = writeTarget(file, await loadLayers(file), catalogue.maxFileSize, { serverSpecific: false, local: false });
 * await t.set('100M'); // t.layer === 'cluster' on a cluster node
 */
export function writeTarget(
  file: string,
  layers: readonly Layer[],
  property: Property,
  opts: { serverSpecific: boolean; local: boolean },
  open: SharedStoreOpener = openSharedConfigStore,
): WriteTarget {
  const fileTarget = (layer: string, name: string): WriteTarget => ({
    layer,
    name,
    location: file,
    set: (value) => setConfigProperty(file, name, value),
    unset: () => unsetConfigProperty(file, name),
  });
  if (opts.serverSpecific) return fileTarget('serverspecific', SERVER_SPECIFIC_PREFIX + property.short);
  if (opts.local || property.local) return fileTarget('general', property.name);
  const { enabled, store } = clusterOf(layers, open);
  if (!enabled) return fileTarget('general', property.name);
  if (!store) {
    throw new ClusterTargetError(
      `${catalogue.cluster.name} is true but the shared place is not configured (set ${catalogue.fileRepo.name}, or storage s3 and ${catalogue.s3Bucket.name}), ` +
        "or write this node's file with --local",
    );
  }
  return {
    layer: CLUSTER_SOURCE,
    name: property.name,
    location: store.location,
    set: async (value) => {
      await store.set(property.name, value);
      return undefined;
    },
    unset: () => store.unset(property.name),
  };
}

/**
 * The cluster's part in loading a node's configuration, as serve and the CLI hand it to
 * src/config/load.ts: the shared layer from the node's shared place, and its store for a
 * generated slot secret.
 *
 * @example
 * const settings = await loadSettings(file, { cluster: clusterLayers });
 */
export const clusterLayers: SharedLayers = {
  add: (layers) => withClusterLayer(layers),
  storeOf: clusterStoreOf,
};
