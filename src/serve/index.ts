import type { Settings } from '../config/settings.ts';
import { ConfigError } from '../config/errors.ts';
import { ensureSlotSecret, loadSettings, requireProperties } from '../config/load.ts';
import { configNotes } from '../config/compat.ts';
import { plainHttpsMismatch, PLAIN_HTTPS_FIX } from '../config/plain-https.ts';
import { clusterLayers } from '../cluster/config-layer.ts';
import type { Logger } from '../log.ts';
import { openServeStorage } from './storage.ts';
import { RepositoryError } from '../storage/errors.ts';
import { createHttpApp, loadNodeAdapter, startHttpServer, type HttpServer } from '../http/index.ts';
import { createUploadComponent, type UploadComponent } from '../xmpp/service.ts';
import { LiveState, thresholdsFromSettings } from '../status/live.ts';
import { deferredMetrics } from '../status/metrics-source.ts';
import { startAdminServers, AdminBindError, type AdminServers } from '../status/admin-server.ts';
import { liveHttpHooks, observeComponent } from '../status/hooks.ts';
import { startRepoSampler } from '../status/repo-sampler.ts';
import { createRetention } from './retention.ts';
import { announceScanning, createUploadScanner, inspectAll, inspectingStore } from './scan.ts';
import { adminBlocklist, commandTakedown, openServeBlocklist, type TakedownHolder } from './blocklist.ts';
import { resolveRepository, type Repository } from './repository.ts';
import { applyReload, changedNeedingRestart } from './reload.ts';
import { createClusterNode, type ClusterNode } from '../cluster/node.ts';
import { sharedSlotClaims } from '../lock/slot-claims.ts';
import { errCode } from '../errno.ts';
import { quotaUse, removeUserUploads, uploadStatistics, userUploads, type UploadsDeps } from '../inventory/uploads.ts';
import type { CommandOperations } from '../xmpp/commands.ts';

/** A running serve: the HTTP endpoint, the XMPP component and the repository behind them. */
export interface RunningServe {
  settings: Settings;
  http: HttpServer;
  xmpp: UploadComponent;
  repository: Repository;
  /** Live counters behind /status and /metrics. */
  live: LiveState;
  admin: AdminServers;
  /** Re-reads the configuration (SIGHUP): dynamic properties apply at once, TLS is reloaded. */
  reload(): Promise<void>;
  /** Graceful stop (SIGTERM): no new uploads, running ones finish within shutdownTimeout. */
  stop(): Promise<{ clean: boolean }>;
}

/** A problem found before anything listens: the CLI exits 2 with this message. */
export class ServeConfigError extends Error {
  override name = 'ServeConfigError';
}

async function readSettings(configFile: string): Promise<Settings> {
  const settings = await loadSettings(configFile, { cluster: clusterLayers });
  requireProperties(settings, ['domain', 'sharedSecret']);
  return settings;
}

/**
 * Starts `fileupload serve`: validates the configuration (generating slotSecret on first start),
 * checks the repository, listens on webHost:webPort and connects the component, which keeps
 * reconnecting in the background. Configuration problems reject with ServeConfigError before
 * anything listens; a failure later in start-up stops what was started before it rejects.
 *
 * @example
 * const serve = await startServe({ configFile: '/etc/fileupload/openfire.xml', logger });
 * process.on('SIGTERM', async () => { await serve.stop(); process.exit(0); });
 */
export async function startServe(options: { configFile: string; logger: Logger }): Promise<RunningServe> {
  const { configFile, logger } = options;
  let settings: Settings;
  try {
    settings = await readSettings(configFile);
    if (settings.slotSecret === undefined) {
      await ensureSlotSecret(configFile, { cluster: clusterLayers });
      logger.warn(
        settings.cluster
          ? 'generated plugin.httpfileupload.slotSecret into the cluster configuration (shared by every node)'
          : 'generated plugin.httpfileupload.slotSecret into the configuration; copy it to every node that shares the repository',
        { config: configFile },
      );
      settings = await readSettings(configFile);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw new ServeConfigError(err.message);
    throw err;
  }
  // Openfire names this version reads differently or not at all: said once, not silently ignored.
  for (const note of await configNotes(configFile)) logger.warn(note, { config: configFile });
  const plainHttps = plainHttpsMismatch(settings);
  if (plainHttps !== undefined) logger.warn(`${plainHttps}; ${PLAIN_HTTPS_FIX}`, { config: configFile });

  // Each part's stop is registered as the part starts: a failure further down stops what was
  // started, in reverse order, as this scope is left; once all is up, stop() owns them.
  await using starting = new AsyncDisposableStack();
  const repository = await resolveRepository(settings.fileRepo);
  starting.defer(() => repository.dispose());
  if (repository.temporary && settings.storage === 'fs') {
    logger.warn(
      'plugin.httpfileupload.fileRepo is not set: uploads go to a temporary folder that is deleted when serve stops',
      { repository: repository.path },
    );
  }
  const storage = await openServeStorage(() => settings, repository.path).catch(failWith(storageProblem, settings));
  const { store } = storage;
  starting.defer(() => store.close());

  const live = new LiveState({
    node: settings.nodeName,
    thresholds: thresholdsFromSettings(settings),
    domain: settings.domain,
    xmppServer: `${settings.xmppHost}:${settings.xmppPort}`,
    repository: storage.location,
  });
  // The repository's blocklist: uploads of blocked content are refused; the admin API takes down.
  const blocklist = await openServeBlocklist(storage, logger.child({ component: 'blocklist' }));
  const takedown: TakedownHolder = {};
  const metrics = deferredMetrics(live);
  // The users' uploads as the ad-hoc commands and the admin API manage them (inventory/uploads.ts);
  // set once the index is open, below.
  const uploadsAt: { ops?: CommandOperations } = {};
  const admin = await startAdminServers({
    settings,
    live,
    uploads: () => uploadsAt.ops,
    registry: metrics,
    blocklist: adminBlocklist(blocklist, takedown),
    log: logger.child({ component: 'admin' }),
  }).catch(failWith(adminProblem, settings));
  starting.defer(() => admin.close());

  const retention = createRetention({
    settings: () => settings,
    repo: repository.path,
    store,
    index: storage.index,
    locks: storage.locks,
    logger,
    onPurge: (summary) =>
      live.purgeRun({
        deleted: summary.deleted,
        bytes: summary.deletedBytes,
        failed: summary.failed,
        durationMs: summary.durationMs,
      }),
  });
  starting.defer(() => retention.stop());
  const uploadsDeps: UploadsDeps = {
    store,
    ledger: retention.ledger,
    settings: () => settings,
    usage: retention.usage,
  };
  const uploads: CommandOperations = {
    userUploads: (user, offset, limit) => userUploads(uploadsDeps, user, offset, limit),
    takeDown: commandTakedown(blocklist, takedown),
    quotaUse: (user) => quotaUse(uploadsDeps, user),
    removeUploads: async (user, ids) => {
      const outcome = await removeUserUploads(uploadsDeps, user, ids);
      for (const r of outcome.removed) retention.usage.note(-r.size);
      return outcome;
    },
    statistics: async () => {
      const { repo } = live.snapshot();
      const disk =
        repo.freeBytes !== null && repo.totalBytes !== null
          ? { freeBytes: repo.freeBytes, totalBytes: repo.totalBytes }
          : undefined;
      return { ...(await uploadStatistics(uploadsDeps)), disk };
    },
  };
  uploadsAt.ops = uploads;
  takedown.deps = { store, ledger: retention.ledger, blocklist: blocklist.store, logger: blocklist.logger };
  takedown.onRemoved = (bytes) => retention.usage.note(-bytes);
  const liveHooks = liveHttpHooks(live);
  // Uploads are scanned before they are published while clamavEnabled (read at each upload), and
  // hashed while the blocklist has entries.
  const scanner = createUploadScanner({
    settings: () => settings,
    logger: logger.child({ component: 'scan' }),
    onVerdict: (verdict) => live.scanned(verdict),
  });
  const app = createHttpApp({
    settings,
    // Both when both apply: the blocklist's hash first, so blocked content never reaches clamd.
    store: inspectingStore(store, () =>
      blocklist.view.mayBlock()
        ? inspectAll(settings.clamavEnabled ? [blocklist.inspector, scanner] : [blocklist.inspector])
        : settings.clamavEnabled
          ? scanner
          : undefined,
    ),
    logger: logger.child({ component: 'http' }),
    // Nodes behind one load balancer: a slot's upload is claimed where they all see it.
    ...(settings.cluster ? { claims: sharedSlotClaims(storage.locks) } : {}),
    hooks: {
      ...liveHooks,
      onUploadFinished: (e) => {
        liveHooks.onUploadFinished(e);
        retention.onUploadFinished(e);
      },
    },
  });
  const http = await startHttpServer(app, settings).catch(failWith(listenProblem, settings));
  // At once when start-up fails further down; on stop() the endpoint has drained by then (below).
  starting.defer(() => http.close());
  live.watchConnections('http', () => http.connections());

  const sampler = startRepoSampler({
    live,
    // On S3 there is no local disk to report: the figures come from the bucket's index only.
    ...(store.kind === 'fs' ? { repo: repository.path } : {}),
    usage: async () => {
      const u = await retention.usage.current();
      return { bytes: u.storedBytes, files: u.storedFiles };
    },
    onError: (err) => logger.warn('repository figures unavailable', { err }),
  });
  starting.defer(() => sampler.stop());

  // A cluster node connects the component only while it holds the lease (src/cluster).
  const cluster: ClusterNode | undefined = settings.cluster
    ? createClusterNode({ settings, logger, locks: storage.locks })
    : undefined;
  if (cluster) starting.defer(() => cluster.stop());
  const xmpp = createUploadComponent({
    settings: () => settings,
    logger: logger.child({ component: 'xmpp' }),
    purposes: retention.purposes,
    hooks: {
      policies: [retention.quotaPolicy],
      onSlotIssued: async (slot) => {
        await storage.direct?.onSlotIssued(slot); // direct mode: the slot's metadata goes to the bucket
        await retention.onSlotIssued(slot);
      },
      ...(storage.direct ? { putUrlFor: storage.direct.putUrlFor } : {}),
      commands: uploads,
      ...cluster?.componentOptions.hooks,
    },
    ...(cluster ? { standbyInterval: cluster.componentOptions.standbyInterval } : {}),
  });
  observeComponent(live, xmpp);
  cluster?.attach({ component: xmpp, live, reload: () => running.reload() });
  let clean = true;
  starting.defer(async () => {
    // Both stop at once: the component hands out no more slots (one would point at a closing
    // listener) while the endpoint drains the uploads in flight.
    [clean] = await Promise.all([http.drain(settings.shutdownTimeout), xmpp.stop()]);
  });
  xmpp.start();

  const connections = http.connections();
  logger.info('ready', {
    url: http.url,
    maxConnections: connections.max,
    maxConnectionsPerAddress: connections.perAddressMax,
    admin: admin.urls,
    domain: settings.domain,
    repository: storage.location,
    xmpp: `${settings.xmppHost}:${settings.xmppPort}`,
  });

  void announceScanning(settings, logger.child({ component: 'scan' }));
  // What only requests outside the upload and download routes and /metrics need loads once
  // serve is ready (after the ready line is written): uploads and downloads are served meanwhile.
  setImmediate(() => {
    void loadNodeAdapter();
    void metrics.load();
  });

  const stops = starting.move();
  let stopping: Promise<{ clean: boolean }> | undefined;
  const running: RunningServe = {
    settings,
    http,
    xmpp,
    repository,
    live,
    admin,
    async reload() {
      let next: Settings;
      try {
        next = await readSettings(configFile);
      } catch (err) {
        logger.error('configuration reload failed; keeping the running configuration', { err });
        return;
      }
      const pending = changedNeedingRestart(settings, next);
      applyReload(settings, next);
      live.restartPending(pending);
      live.setThresholds(thresholdsFromSettings(settings));
      http.reloadTimeouts();
      await http.reloadTls();
      logger.info('configuration reloaded', pending.length > 0 ? { needsRestart: pending } : {});
    },
    stop() {
      stopping ??= (async () => {
        logger.info('shutting down', { timeoutMs: settings.shutdownTimeout });
        await stops.disposeAsync();
        logger.info('stopped', { clean });
        return { clean };
      })();
      return stopping;
    },
  };
  return running;
}

/** Rejects with what `problem` makes of the error: a ServeConfigError when it is the operator's to fix. */
function failWith(problem: (err: unknown, settings: Settings) => unknown, settings: Settings) {
  return (err: unknown): never => {
    throw problem(err, settings);
  };
}

/** The storage is not usable: the property that points at it. */
function storageProblem(err: unknown, settings: Settings): unknown {
  if (!(err instanceof RepositoryError)) return err;
  const property = settings.storage === 's3' ? 's3Bucket' : 'fileRepo';
  return new ServeConfigError(`plugin.httpfileupload.${property}: ${err.message}`);
}

/** An admin listener could not bind (its message names the property). */
function adminProblem(err: unknown): unknown {
  return err instanceof AdminBindError ? new ServeConfigError(err.message) : err;
}

/** The endpoint could not listen, or its TLS certificate or key is unusable. */
function listenProblem(err: unknown, settings: Settings): unknown {
  const code = errCode(err);
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return new ServeConfigError(
      `cannot listen on ${settings.webHost}:${settings.webPort} (${code}); check plugin.httpfileupload.webHost and webPort`,
    );
  }
  if (code === 'ENOENT' || code === 'EISDIR' || /tls|certificate|key|PEM/i.test(String((err as Error).message))) {
    return new ServeConfigError(`TLS: ${(err as Error).message}`);
  }
  return err;
}
