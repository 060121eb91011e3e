/**
 * Which node of a cluster holds the XMPP component connection: a lease file in the shared folder
 * (`{fileRepo}/cluster/component.lease`), taken and renewed with the cross-node lock of
 * src/lock (O_EXCL create, heartbeat, stale takeover guarded by a breaker file) — or, on S3, a
 * lease object in the bucket (`{s3Prefix}cluster/component.lease`, conditional PUTs: src/lock/s3.ts).
 *
 * Servers differ when a second connection for one component JID arrives: Prosody refuses it
 * (conflict), ejabberd 23.01 accepts it and spreads stanzas over all of them. So the lease, not
 * the server, decides: a node connects only while it holds the lease.
 *
 * - A standby node tries to take the lease before each connection attempt (the component's
 *   shouldConnect hook, asked every standby interval).
 * - The holder renews it every `heartbeat` ms. It is stale after `lease` ms without renewal, or
 *   at once when its process is gone on this very machine; then the next standby takes it.
 * - A holder that finds the lease taken over (it was paused longer than the lease) or cannot
 *   renew it for half the lease loses it: `lost` fires and serve disconnects the component.
 * - A holder whose connection failed gives the lease back, so a node that can connect takes over.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { acquireLock } from '../lock/fs.ts';
import { LockHeldError, type HeldLock, type LockOptions } from '../lock/lock.ts';
import type { Logger } from '../log.ts';
import { CLUSTER_DIR } from './shared-config/store.ts';

/** Default lease: three missed heartbeats. */
export const DEFAULT_LEASE_MS = 6000;
export const DEFAULT_HEARTBEAT_MS = 2000;

/**
 * The lease file of a repository.
 *
 * @example
 * componentLeasePath('/srv/upload'); // '/srv/upload/cluster/component.lease'
 */
export function componentLeasePath(repo: string): string {
  return join(repo, CLUSTER_DIR, 'component.lease');
}

/** Who holds the component, as far as this node knows. */
export interface LeaseView {
  /** The holder's node name; null when nobody holds it (or the lease file is unreadable). */
  holder: string | null;
  /** True when this node holds it. */
  holding: boolean;
  /** When the holder took it (ms since epoch); null when unknown. */
  since: number | null;
}

export interface ComponentLeaseEvents {
  /** The view changed (holder, holding). */
  change: [view: LeaseView];
  /** This node held the lease and no longer does (taken over, or not renewable). */
  lost: [];
}

export interface ComponentLeaseOptions {
  /** The lease file (see {@link componentLeasePath}), or where `acquire` keeps it (for messages). */
  path: string;
  /**
   * Takes the lease somewhere else than the file `path` (an S3 bucket: src/lock/s3.ts via a
   * LockSpace); default: the file lock of src/lock/fs.ts at `path`.
   */
  acquire?: (options: LockOptions) => Promise<HeldLock>;
  /** This node's name, written into the lease. */
  nodeName: string;
  logger: Logger;
  lease?: number;
  heartbeat?: number;
  now?: () => number;
}

export interface ComponentLease {
  /** Holds the lease (taking it if free or stale): the component's shouldConnect hook. */
  shouldConnect(): Promise<boolean>;
  /** Gives the lease back (after a failed connection, at shutdown); no-op when not holding. */
  release(): Promise<void>;
  /** The current view. */
  readonly view: LeaseView;
  on<K extends keyof ComponentLeaseEvents>(
    event: K,
    listener: (...args: ComponentLeaseEvents[K]) => void,
  ): ComponentLease;
  /** Stops checking; releases the lease. */
  close(): Promise<void>;
}

/**
 * Creates the lease of one node. Nothing happens until shouldConnect() is called.
 *
 * @example
 * const lease = createComponentLease({ path: componentLeasePath(repo), nodeName: 'node1', logger });
 * const xmpp = createUploadComponent({ settings, hooks: { shouldConnect: () => lease.shouldConnect() }, standbyInterval: 2000 });
 * lease.on('lost', () => void xmpp.stop().then(() => xmpp.start()));
 */
export function createComponentLease(options: ComponentLeaseOptions): ComponentLease {
  const { path, nodeName, logger } = options;
  const lease = options.lease ?? DEFAULT_LEASE_MS;
  const heartbeat = options.heartbeat ?? DEFAULT_HEARTBEAT_MS;
  const now = options.now ?? Date.now;
  const events = new EventEmitter<ComponentLeaseEvents>();
  let held: HeldLock | undefined;
  let checkTimer: NodeJS.Timeout | undefined;
  let view: LeaseView = { holder: null, holding: false, since: null };
  let lastProblem = '';
  let closed = false;

  const setView = (next: LeaseView) => {
    if (next.holder === view.holder && next.holding === view.holding && next.since === view.since) return;
    view = next;
    events.emit('change', view);
  };

  /** Drops the lease object without waiting on the shared folder (it may hang). */
  const drop = (why: string) => {
    const lock = held;
    if (!lock) return;
    held = undefined;
    clearInterval(checkTimer);
    logger.warn('component lease lost', { node: nodeName, reason: why, lease: path });
    setView({ holder: null, holding: false, since: null });
    void lock.release().catch(() => {});
    events.emit('lost');
  };

  const stillHeld = (): boolean => {
    if (!held) return false;
    try {
      held.assertHeld();
      return true;
    } catch {
      drop('not renewed within half the lease, or taken over by another node');
      return false;
    }
  };

  const api: ComponentLease = {
    async shouldConnect() {
      if (closed) return false;
      if (stillHeld()) return true;
      let lock: HeldLock;
      try {
        lock = await (options.acquire ?? ((o: LockOptions) => acquireLock(path, o)))({
          command: nodeName,
          lease,
          heartbeat,
          now,
        });
      } catch (err) {
        if (err instanceof LockHeldError) {
          lastProblem = '';
          setView({ holder: err.owner?.command ?? null, holding: false, since: err.owner?.started ?? null });
          return false;
        }
        // The shared folder is unreachable: this node cannot prove it may connect.
        const message = (err as Error).message;
        if (message !== lastProblem) logger.error('component lease unavailable; standing by', { lease: path, err });
        lastProblem = message;
        setView({ holder: null, holding: false, since: null });
        return false;
      }
      if (closed) {
        await lock.release();
        return false;
      }
      held = lock;
      lastProblem = '';
      lock.signal.addEventListener('abort', () => {
        if (held === lock) drop('taken over by another node');
      });
      // assertHeld() costs no I/O: it notices renewals stuck on a hung shared folder.
      checkTimer = setInterval(stillHeld, heartbeat);
      checkTimer.unref();
      logger.info('component lease acquired', { node: nodeName, lease: path });
      setView({ holder: nodeName, holding: true, since: lock.owner.started });
      return true;
    },
    async release() {
      const lock = held;
      if (!lock) return;
      held = undefined;
      clearInterval(checkTimer);
      setView({ holder: null, holding: false, since: null });
      await lock.release().catch((err: unknown) => logger.warn('component lease release failed', { lease: path, err }));
      logger.info('component lease released', { node: nodeName, lease: path });
    },
    get view() {
      return view;
    },
    on(event, listener) {
      events.on(event, listener as never);
      return api;
    },
    async close() {
      closed = true;
      await api.release();
    },
  };
  return api;
}
