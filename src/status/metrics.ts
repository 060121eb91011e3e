/**
 * Prometheus metrics of a serve process. Every fileupload_* value is read from the LiveState at
 * scrape time (collect callbacks), so the metrics and `/status` can never disagree.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { LiveState } from './live.ts';
import { XMPP_STATES } from './snapshot.ts';
import { REFUSAL_REASONS, SCAN_VERDICTS } from './reasons.ts';

/** A gauge whose NaN samples are left out: an unknown value (free disk on S3) is absent, not 0. */
class OptionalGauge<T extends string> extends Gauge<T> {
  override async get() {
    const metric = await super.get();
    return { ...metric, values: metric.values.filter((v) => !Number.isNaN(v.value)) };
  }
}

const known = (v: number | null): number => (v === null ? Number.NaN : v);

/** Sets a counter to an absolute total (counters only offer inc). */
function setCounter(c: Counter, total: number): void {
  c.reset();
  c.inc(total);
}

/** Sets a labelled counter from a map of totals; `zero` labels always appear (0 when unseen). */
function setLabelled<L extends string>(
  c: Counter<L>,
  totals: ReadonlyMap<string, number>,
  zero: readonly string[] = [],
  label = 'reason' as L,
): void {
  c.reset();
  for (const value of zero) c.inc({ [label]: value } as Partial<Record<L, string>>, 0);
  for (const [value, n] of totals) c.inc({ [label]: value } as Partial<Record<L, string>>, n);
}

/** The holder as metrics show it: the cluster lease's, or on a single node this node while online. */
function componentHolder(live: LiveState): { holder: string | null; holding: boolean } {
  const cluster = live.cluster;
  if (cluster) return { holder: cluster.holder, holding: cluster.holding };
  const online = live.xmppStatus.state === 'online';
  return { holder: online ? live.node : null, holding: online };
}

export interface MetricsOptions {
  /** Add Node's process metrics (CPU, memory, event loop, GC); default true. */
  processMetrics?: boolean;
}

/**
 * A registry holding every fileupload metric, fed from `live`, plus the process metrics.
 *
 * @example
 * const registry = createMetricsRegistry(live);
 * const text = await registry.metrics(); // Prometheus text format
 */
export function createMetricsRegistry(live: LiveState, options: MetricsOptions = {}): Registry {
  const registry = new Registry();
  const registers = [registry];
  const c = () => live.counters;

  new Gauge({
    name: 'fileupload_info',
    help: 'Always 1; the labels say which fileupload runs on which node.',
    labelNames: ['version', 'node'] as const,
    registers,
    collect() {
      this.reset();
      this.set({ version: live.version, node: live.node }, 1);
    },
  });
  new Counter({
    name: 'fileupload_slots_issued_total',
    help: 'Upload slots handed out.',
    registers,
    collect() {
      setCounter(this, c().slotsIssued);
    },
  });
  new Counter({
    name: 'fileupload_slots_refused_total',
    help: 'Slot requests refused, by reason.',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      setLabelled(
        this,
        c().slotsRefused,
        REFUSAL_REASONS.filter((r) => r !== 'other'),
      );
    },
  });
  new Counter({
    name: 'fileupload_uploads_completed_total',
    help: 'Uploads stored.',
    registers,
    collect() {
      setCounter(this, c().uploadsCompleted);
    },
  });
  new Counter({
    name: 'fileupload_uploads_failed_total',
    help: 'Uploads that began but were not stored, by reason.',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      setLabelled(this, c().uploadsFailed);
    },
  });
  new Counter({
    name: 'fileupload_scans_total',
    help: 'Uploads scanned for malware (clamavEnabled), by verdict: clean, infected, too-large (not scanned), error (clamd could not scan).',
    labelNames: ['verdict'] as const,
    registers,
    collect() {
      setLabelled(this, c().scans, SCAN_VERDICTS, 'verdict');
    },
  });
  new Counter({
    name: 'fileupload_bytes_received_total',
    help: 'Upload body bytes received.',
    registers,
    collect() {
      setCounter(this, c().bytesReceived);
    },
  });
  new Counter({
    name: 'fileupload_bytes_sent_total',
    help: 'Download body bytes sent.',
    registers,
    collect() {
      setCounter(this, c().bytesSent);
    },
  });
  new Gauge({
    name: 'fileupload_uploads_in_flight',
    help: 'Uploads whose body is being received.',
    registers,
    collect() {
      this.set(live.inFlightCount);
    },
  });
  new Gauge({
    name: 'fileupload_xmpp_connected',
    help: '1 while the XMPP component connection is online, else 0.',
    registers,
    collect() {
      this.set(live.xmppStatus.state === 'online' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'fileupload_xmpp_state',
    help: 'The XMPP component connection state: 1 for the current state, 0 for the others.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const current = live.xmppStatus.state;
      for (const state of XMPP_STATES) this.set({ state }, state === current ? 1 : 0);
    },
  });
  new Counter({
    name: 'fileupload_xmpp_reconnects_total',
    help: 'Times the XMPP component connection was re-established.',
    registers,
    collect() {
      setCounter(this, c().xmppReconnects);
    },
  });
  new Gauge({
    name: 'fileupload_component_holding',
    help: '1 while this node holds the XMPP component connection (a cluster node: the lease; a single node: while online), else 0.',
    registers,
    collect() {
      this.set(componentHolder(live).holding ? 1 : 0);
    },
  });
  new Gauge({
    name: 'fileupload_component_holder',
    help: 'Always 1, labelled with the node that holds the XMPP component connection as this node sees it; absent while none does.',
    labelNames: ['node'] as const,
    registers,
    collect() {
      this.reset();
      const { holder } = componentHolder(live);
      if (holder !== null) this.set({ node: holder }, 1);
    },
  });
  new OptionalGauge({
    name: 'fileupload_repository_bytes',
    help: 'Bytes of stored uploads (absent until measured).',
    registers,
    collect() {
      this.set(known(live.repo.bytes));
    },
  });
  new OptionalGauge({
    name: 'fileupload_repository_files',
    help: 'Number of stored uploads (absent until measured).',
    registers,
    collect() {
      this.set(known(live.repo.files));
    },
  });
  new OptionalGauge({
    name: 'fileupload_filesystem_free_bytes',
    help: "Free bytes of the repository's filesystem (absent when not a filesystem).",
    registers,
    collect() {
      this.set(known(live.repo.freeBytes));
    },
  });
  new OptionalGauge({
    name: 'fileupload_filesystem_size_bytes',
    help: "Size of the repository's filesystem (absent when not a filesystem).",
    registers,
    collect() {
      this.set(known(live.repo.totalBytes));
    },
  });
  new Gauge({
    name: 'fileupload_limit_bytes',
    help: 'Configured byte limits (only those that are set).',
    labelNames: ['limit'] as const,
    registers,
    collect() {
      this.reset();
      const t = live.thresholds;
      for (const limit of ['maxFileSize', 'maxRepoSize', 'globalQuota', 'userQuota', 'dailyQuota'] as const) {
        const v = t[limit];
        if (v !== null) this.set({ limit }, v);
      }
    },
  });
  new Counter({
    name: 'fileupload_purge_runs_total',
    help: 'Purge runs finished by this serve.',
    registers,
    collect() {
      setCounter(this, c().purgeRuns);
    },
  });
  new Counter({
    name: 'fileupload_purge_deleted_total',
    help: 'Uploads and temp files deleted by purge runs.',
    registers,
    collect() {
      setCounter(this, c().purgeDeleted);
    },
  });
  new Counter({
    name: 'fileupload_purge_deleted_bytes_total',
    help: 'Bytes deleted by purge runs.',
    registers,
    collect() {
      setCounter(this, c().purgeDeletedBytes);
    },
  });
  new Counter({
    name: 'fileupload_purge_failed_total',
    help: 'Deletions that failed during purge runs.',
    registers,
    collect() {
      setCounter(this, c().purgeFailed);
    },
  });
  new Counter({
    name: 'fileupload_errors_total',
    help: 'Errors recorded for the status view.',
    registers,
    collect() {
      setCounter(this, c().errors);
    },
  });
  new Gauge({
    name: 'fileupload_connections_open',
    help: 'Connections open now, by listener (http: the endpoint; admin: the admin API).',
    labelNames: ['listener'] as const,
    registers,
    collect() {
      this.reset();
      for (const [listener, f] of Object.entries(live.connections())) this.set({ listener }, f.open);
    },
  });
  new Gauge({
    name: 'fileupload_connections_limit',
    help: 'Connection caps in force, by listener: max (all addresses) and per_address (only those that are set).',
    labelNames: ['listener', 'limit'] as const,
    registers,
    collect() {
      this.reset();
      for (const [listener, f] of Object.entries(live.connections())) {
        if (f.max !== null) this.set({ listener, limit: 'max' }, f.max);
        if (f.perAddressMax !== null) this.set({ listener, limit: 'per_address' }, f.perAddressMax);
      }
    },
  });
  new Counter({
    name: 'fileupload_connections_refused_total',
    help: 'Connections (or requests through a trusted proxy) refused over a connection cap, by listener and reason (global, address, forwarded).',
    labelNames: ['listener', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [listener, f] of Object.entries(live.connections())) {
        for (const [reason, n] of Object.entries(f.refused)) this.inc({ listener, reason }, n);
      }
    },
  });
  new Counter({
    name: 'fileupload_connections_evicted_total',
    help: 'Idle connections closed to make room near the global connection cap, by listener.',
    labelNames: ['listener'] as const,
    registers,
    collect() {
      this.reset();
      for (const [listener, f] of Object.entries(live.connections())) this.inc({ listener }, f.evicted);
    },
  });
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}
