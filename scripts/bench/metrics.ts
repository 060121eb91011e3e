/**
 * The figures the benchmark reports, their targets (issue 6), and how per-run samples become the
 * summary: medians of each server's figure and the median of the per-run ratios serve / nginx
 * (a ratio from one run compares like with like even when the machine was busier in another).
 */

export type Server = 'nginx' | 'serve';

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  higherIsBetter: boolean;
  /** Pass condition for serve: on the ratio to nginx, or on serve's absolute value. */
  target?: { on: 'ratio' | 'value'; op: '>=' | '<' | '<='; value: number };
}

const RSS_TARGET = { on: 'value', op: '<', value: 150 } as const;
/** Server CPU per GiB uploaded: no more than nginx's in the same run. */
const CPU_TARGET = { on: 'ratio', op: '<=', value: 1 } as const;

/** Every figure, in report order. */
export const METRICS: readonly MetricDef[] = [
  {
    key: 'put1g',
    label: 'PUT 1 GiB, one stream',
    unit: 'MB/s',
    higherIsBetter: true,
    target: { on: 'ratio', op: '>=', value: 0.75 },
  },
  {
    key: 'get1g',
    label: 'GET 1 GiB, one stream',
    unit: 'MB/s',
    higherIsBetter: true,
    target: { on: 'ratio', op: '>=', value: 0.9 },
  },
  {
    key: 'curl',
    label: 'PUT 1 GiB, curl -T (Expect: 100-continue)',
    unit: 'MB/s',
    higherIsBetter: true,
    target: { on: 'ratio', op: '>=', value: 1 },
  },
  { key: 'cpu.curl', label: 'server CPU, curl PUT', unit: 's/GiB', higherIsBetter: false, target: CPU_TARGET },
  {
    key: 'curl-plain',
    label: 'PUT 1 GiB, curl -T without Expect',
    unit: 'MB/s',
    higherIsBetter: true,
    target: { on: 'ratio', op: '>=', value: 1 },
  },
  { key: 'cpu.curl-plain', label: 'server CPU, curl PUT without Expect', unit: 's/GiB', higherIsBetter: false },
  {
    key: 'cpu.throttled',
    label: 'server CPU, curl PUT at 50 MiB/s',
    unit: 's/GiB',
    higherIsBetter: false,
    target: CPU_TARGET,
  },
  { key: 'tls', label: 'PUT 1 GiB over TLS, curl -T', unit: 'MB/s', higherIsBetter: true },
  {
    key: 'cpu.tls',
    label: 'server CPU, PUT over TLS',
    unit: 's/GiB',
    higherIsBetter: false,
    target: { on: 'value', op: '<=', value: 1 },
  },
  {
    key: 'put64k',
    label: 'PUT 64 KiB × N, 32 concurrent',
    unit: 'files/s',
    higherIsBetter: true,
    target: { on: 'ratio', op: '>=', value: 1 },
  },
  {
    key: 'get64k',
    label: 'GET 64 KiB, wrk -c 64',
    unit: 'req/s',
    higherIsBetter: true,
    target: { on: 'ratio', op: '>=', value: 0.5 },
  },
  { key: 'head', label: 'HEAD 64 KiB, 64 connections', unit: 'req/s', higherIsBetter: true },
  {
    key: 'slots',
    label: 'slots via Prosody, 32 in flight',
    unit: 'slots/s',
    higherIsBetter: true,
    target: { on: 'value', op: '>=', value: 5000 },
  },
  {
    key: 'help',
    label: 'fileupload --help',
    unit: 'ms',
    higherIsBetter: false,
    target: { on: 'value', op: '<', value: 150 },
  },
  {
    key: 'ready',
    label: 'start → ready',
    unit: 'ms',
    higherIsBetter: false,
    target: { on: 'value', op: '<', value: 1000 },
  },
  { key: 'rss.put1g', label: 'peak RSS, PUT 1 GiB', unit: 'MiB', higherIsBetter: false, target: RSS_TARGET },
  { key: 'rss.get1g', label: 'peak RSS, GET 1 GiB', unit: 'MiB', higherIsBetter: false, target: RSS_TARGET },
  { key: 'rss.put64k', label: 'peak RSS, PUT 64 KiB × N', unit: 'MiB', higherIsBetter: false, target: RSS_TARGET },
  { key: 'rss.get64k', label: 'peak RSS, GET 64 KiB', unit: 'MiB', higherIsBetter: false, target: RSS_TARGET },
  { key: 'rss.head', label: 'peak RSS, HEAD', unit: 'MiB', higherIsBetter: false, target: RSS_TARGET },
  { key: 'rss.slow', label: 'peak RSS, slow uploads', unit: 'MiB', higherIsBetter: false, target: RSS_TARGET },
  { key: 'rss.slots', label: 'peak RSS, slots', unit: 'MiB', higherIsBetter: false, target: RSS_TARGET },
];

/** One run's figures: metric key → server → value (absent = not measured). */
export type RunFigures = Record<string, Partial<Record<Server, number>>>;

export interface SummaryRow {
  key: string;
  nginx?: number;
  serve?: number;
  /** Median of the per-run serve / nginx ratios. */
  ratio?: number;
  /** How many runs had a value for serve. */
  samples: number;
  /** Spread of serve's samples: (max − min) / median. */
  spread?: number;
  /** Spread of the per-run ratios: (max − min) / their median. */
  ratioSpread?: number;
  /** undefined when there is no target or no serve value. */
  met?: boolean;
}

/**
 * The median (mean of the middle two for an even count); undefined for no samples.
 *
 * @example
 * median([3, 1, 2]); // 2
 */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/**
 * The nearest-rank percentile `p` (0–100]: the smallest sample with at least p % of the samples at
 * or below it; undefined for no samples.
 *
 * @example
 * percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90); // 9
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1];
}

/**
 * Whether serve's summary meets the metric's target.
 *
 * @example
 * meets({ key: 'x', label: '', unit: '', higherIsBetter: true, target: { on: 'ratio', op: '>=', value: 0.9 } }, { ratio: 0.95 }); // true
 */
export function meets(def: MetricDef, row: { serve?: number; ratio?: number }): boolean | undefined {
  if (!def.target) return undefined;
  const v = def.target.on === 'ratio' ? row.ratio : row.serve;
  if (v === undefined) return undefined;
  if (def.target.op === '>=') return v >= def.target.value;
  return def.target.op === '<=' ? v <= def.target.value : v < def.target.value;
}

/**
 * Folds the runs into one row per metric.
 *
 * @example
 * summarize([{ put1g: { nginx: 1000, serve: 800 } }]).find((r) => r.key === 'put1g')?.ratio; // 0.8
 */
export function summarize(runs: readonly RunFigures[]): SummaryRow[] {
  return METRICS.map((def) => {
    const per = runs.map((r) => r[def.key] ?? {});
    const n = per.flatMap((p) => (p.nginx === undefined ? [] : [p.nginx]));
    const s = per.flatMap((p) => (p.serve === undefined ? [] : [p.serve]));
    const ratios = per.flatMap((p) => (p.nginx && p.serve !== undefined ? [p.serve / p.nginx] : []));
    const row: SummaryRow = { key: def.key, samples: s.length };
    const mn = median(n);
    const ms = median(s);
    const mr = median(ratios);
    if (mn !== undefined) row.nginx = mn;
    if (ms !== undefined) {
      row.serve = ms;
      if (s.length > 1 && ms !== 0) row.spread = (Math.max(...s) - Math.min(...s)) / ms;
    }
    if (mr !== undefined) {
      row.ratio = mr;
      if (ratios.length > 1 && mr !== 0) row.ratioSpread = (Math.max(...ratios) - Math.min(...ratios)) / mr;
    }
    const met = meets(def, row);
    if (met !== undefined) row.met = met;
    return row;
  });
}

/** The bare Node reference of the 64 KiB PUT phase, over all runs. */
export interface BareNodeSummary {
  /** Median files/s of the bare node:http server (scripts/bench/bare-node.ts). */
  put64k: number;
  /** Median of the per-run ratios bare / nginx: how far a minimal node:http server got next to nginx. */
  ofNginx?: number;
  /** Median of the per-run ratios serve / bare: what serve's own work leaves of that. */
  serveOfBare?: number;
  samples: number;
}

/**
 * Folds the per-run 64 KiB PUT figures of the bare Node server, nginx and serve into medians of
 * values and of same-run ratios; undefined when no run measured the bare server.
 *
 * @example
 * summarizeBareNode([{ bare: 3000, nginx: 4000, serve: 1500 }]); // { put64k: 3000, ofNginx: 0.75, serveOfBare: 0.5, samples: 1 }
 */
export function summarizeBareNode(
  runs: readonly { bare?: number | undefined; nginx?: number; serve?: number }[],
): BareNodeSummary | undefined {
  const bare = runs.flatMap((r) => (r.bare === undefined ? [] : [r.bare]));
  const put64k = median(bare);
  if (put64k === undefined) return undefined;
  const out: BareNodeSummary = { put64k, samples: bare.length };
  const ofNginx = median(runs.flatMap((r) => (r.bare !== undefined && r.nginx ? [r.bare / r.nginx] : [])));
  const serveOfBare = median(runs.flatMap((r) => (r.bare && r.serve !== undefined ? [r.serve / r.bare] : [])));
  if (ofNginx !== undefined) out.ofNginx = ofNginx;
  if (serveOfBare !== undefined) out.serveOfBare = serveOfBare;
  return out;
}
