/**
 * What the admin API's /metrics reads, and a stand-in for serve's registry that creates it
 * (src/status/metrics.ts) on first use. prom-client is a large share of what serve would
 * otherwise load before it is ready; serve loads it right after, and a scrape before that waits.
 */
import type { LiveState } from './live.ts';

/** A source of Prometheus text (a prom-client Registry is one). */
export interface MetricsSource {
  /** The Content-Type of `metrics()`'s text; read after it resolved. */
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** A MetricsSource whose registry is created on the first `metrics()` or `load()`. */
export interface DeferredMetrics extends MetricsSource {
  /** Creates the registry now (serve: once it is ready); later calls get the same one. */
  load(): Promise<MetricsSource>;
}

/**
 * serve's metrics: createMetricsRegistry(live), created on first use.
 *
 * @example
 * const metrics = deferredMetrics(live);
 * await startAdminServers({ settings, live, registry: metrics });
 * setImmediate(() => void metrics.load()); // once ready
 */
export function deferredMetrics(live: LiveState): DeferredMetrics {
  let registry: MetricsSource | undefined;
  let loading: Promise<MetricsSource> | undefined;
  const load = (): Promise<MetricsSource> =>
    (loading ??= import('./metrics.ts').then((m) => (registry = m.createMetricsRegistry(live))));
  return {
    get contentType() {
      if (registry === undefined) throw new Error('the metrics registry is read before it was created');
      return registry.contentType;
    },
    async metrics() {
      return (await load()).metrics();
    },
    load,
  };
}
