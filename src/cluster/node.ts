/**
 * What `serve` adds on a cluster node (`cluster` = true): the component lease (one node holds the
 * XMPP connection, the others stand by and take over), the watch on the shared configuration
 * (dynamic properties apply without a restart) and the holder in the live status. Every node
 * serves HTTP all the time; none of this touches the HTTP side.
 */
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import { openSharedConfigStore } from './config-layer.ts';
import { watchSharedConfig, type SharedConfigWatch } from './config-watch.ts';
import { COMPONENT_LEASE, type LockSpace } from '../lock/lock.ts';
import { fsLockSpace } from '../lock/fs.ts';
import {
  createComponentLease,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LEASE_MS,
  type ComponentLease,
  type LeaseView,
} from './component-lease.ts';

/** The parts of the upload component a cluster node drives (src/xmpp/service.ts). */
export interface LeasedComponent {
  start(): void;
  stop(): Promise<void>;
  on(event: 'offline', listener: (failure: { message: string; cause?: string }) => void): unknown;
}

/** Where the holder is shown (src/status/live.ts). */
export interface HolderSink {
  componentHolder(view: LeaseView): void;
}

export interface ClusterNodeOptions {
  /** The node's effective settings (cluster, fileRepo, nodeName and the shared place's properties). */
  settings: Settings;
  logger: Logger;
  /** Lease timing (ms); defaults 6000 / 2000. */
  lease?: number;
  heartbeat?: number;
  /** Poll interval of the shared configuration (ms); default 3000. */
  configPoll?: number;
  /**
   * Where the component lease is taken: serve passes its storage's locks (the bucket on S3);
   * default: the shared folder fileRepo.
   */
  locks?: LockSpace;
}

/** A running cluster node. */
export interface ClusterNode {
  /** Options for createUploadComponent: connect only while holding the lease; ask every heartbeat. */
  readonly componentOptions: { hooks: { shouldConnect: () => Promise<boolean> }; standbyInterval: number };
  readonly lease: ComponentLease;
  /** Connects the lease to the component, the status and serve's reload; starts the config watch. */
  attach(parts: { component: LeasedComponent; live: HolderSink; reload: () => Promise<void> }): void;
  /** Stops the watch, makes sure the component is disconnected, then gives the lease back. */
  stop(): Promise<void>;
}

/**
 * Prepares the cluster side of serve. Call before creating the component (its hooks come from
 * here) and attach() after.
 *
 * @example
 * const cluster = settings.cluster ? createClusterNode({ settings, logger }) : undefined;
 * const xmpp = createUploadComponent({ settings: () => settings, logger, ...cluster?.componentOptions });
 * cluster?.attach({ component: xmpp, live, reload });
 * xmpp.start();
 * // at shutdown: await xmpp.stop(); await cluster?.stop();
 */
export function createClusterNode(options: ClusterNodeOptions): ClusterNode {
  const { settings, logger } = options;
  const log = logger.child({ component: 'cluster' });
  const locks = options.locks ?? (settings.fileRepo !== undefined ? fsLockSpace(settings.fileRepo) : undefined);
  if (locks === undefined) throw new Error('a cluster node needs a shared place: fileRepo, or storage s3');
  const store = openSharedConfigStore((k) => {
    const v = settings[k];
    return v === undefined ? undefined : String(v);
  });
  const heartbeat = options.heartbeat ?? DEFAULT_HEARTBEAT_MS;
  const lease = createComponentLease({
    path: locks.where(COMPONENT_LEASE),
    acquire: (o) => locks.acquire(COMPONENT_LEASE, o),
    nodeName: settings.nodeName,
    logger: log,
    lease: options.lease ?? DEFAULT_LEASE_MS,
    heartbeat,
  });
  let watch: SharedConfigWatch | undefined;
  let lastWatchError = '';
  let component: LeasedComponent | undefined;
  let closing = false;
  /** A disconnect after a lost lease, and the restart into standby that follows it. */
  let restarting: Promise<void> | undefined;

  return {
    componentOptions: { hooks: { shouldConnect: () => lease.shouldConnect() }, standbyInterval: heartbeat },
    lease,
    attach(parts) {
      const { live, reload } = parts;
      const c = parts.component;
      component = c;
      live.componentHolder(lease.view);
      lease.on('change', (view) => live.componentHolder(view));
      lease.on('lost', () => {
        // Another node holds the component now: drop our connection, then stand by.
        const previous = restarting ?? Promise.resolve();
        restarting = previous
          .then(() => c.stop())
          .then(() => {
            if (!closing) c.start();
          })
          .catch((err: unknown) => log.error('could not restart the component after losing the lease', { err }));
      });
      c.on('offline', (failure) => {
        // A holder that cannot connect lets another node try. Not on conflict: that is the
        // previous holder's connection, still open on the server (a frozen node), which ends
        // soon; giving the lease back would only let it bounce between nodes meanwhile.
        if (failure.cause !== 'conflict' && lease.view.holding) void lease.release();
      });
      if (store) {
        watch = watchSharedConfig({
          store,
          interval: options.configPoll ?? 3000,
          onChange: async () => {
            log.info('cluster configuration changed; reloading', { location: store.location });
            await reload();
          },
          onError: (err) => {
            const message = (err as Error).message;
            if (message !== lastWatchError)
              log.warn('cannot check the cluster configuration', { location: store.location, err });
            lastWatchError = message;
          },
        });
      }
      log.info('cluster node', {
        node: settings.nodeName,
        sharedConfig: store?.location,
        lease: locks.where(COMPONENT_LEASE),
      });
    },
    async stop() {
      closing = true;
      watch?.stop();
      // A restart after a lost lease may have raced serve's own stop of the component.
      await restarting;
      await component?.stop();
      await lease.close();
    },
  };
}
