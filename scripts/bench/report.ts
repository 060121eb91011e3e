/**
 * The benchmark's result file (JSON, one per run of `npm run bench`) and its human renderings:
 * the summary table, and the comparison of two result files (two commits).
 */
import type { Ceiling, SlotCeiling } from './ceiling.ts';
import type { DefaultsResult } from './defaults.ts';
import { raisedLimitsLine, type RaisedLimit } from './limits.ts';
import type { MachineNoise } from './proc.ts';
import { METRICS, type BareNodeSummary, type RunFigures, type SummaryRow } from './metrics.ts';

export interface RunRecord {
  index: number;
  /** Which server went first in every phase of this run (alternates between runs). */
  order: ['nginx', 'serve'] | ['serve', 'nginx'];
  figures: RunFigures;
  /**
   * phase → CPU seconds used during each measurement: `nginx`/`serve` (the server), `<who>.client`
   * (this process and its reaped children: wrk, HEAD load), `<who>.prosody`, plus `<who>.wall`
   * (seconds) and `<who>.otherShare` (share of all cores used by unrelated processes meanwhile).
   */
  cpu: Record<string, Record<string, number>>;
  /** Non-fatal problems seen in this run (failed requests, skipped phases). */
  notes: string[];
  noise: MachineNoise;
  /**
   * The 64 KiB PUT phase against the bare Node server (scripts/bench/bare-node.ts), same count:
   * files/s, and, with the warm-up included like `cpu.put64k` of the servers, its CPU seconds,
   * the client's, the wall time and the share of all cores used by unrelated processes.
   */
  bareNode?: { put64k: number; cpuSeconds: number; clientCpuSeconds: number; wallSeconds: number; otherShare: number };
}

export interface BenchResult {
  version: 1;
  startedAt: string;
  durationSeconds: number;
  git: { commit: string; dirty: boolean } | undefined;
  host: { cpus: number; cpuModel: string; kernel: string; node: string; nginx: string; memMiB: number };
  options: Record<string, unknown>;
  /** What ran as `fileupload` and how (dist binary, bin/ script from source, or --serve-bin). */
  fileupload: { file: string; kind: string };
  /** The limits raised in the serve of the runs (absent with --nginx-only). */
  limits?: RaisedLimit[];
  /** The defaults phase: serve with no limit raised, once. */
  defaults?: DefaultsResult;
  ceiling?: Ceiling;
  /** Slots/s through the same Prosody with a component that does nothing. */
  slotCeiling?: SlotCeiling;
  /** 64 KiB PUTs/s of a minimal node:http upload server, and ratios from the same runs. */
  bareNode?: BareNodeSummary;
  runs: RunRecord[];
  summary: SummaryRow[];
  /** Whole-benchmark machine noise. */
  noise: MachineNoise;
  notes: string[];
}

/** Share of all cores used by unrelated processes above which a run is called noisy. */
const NOISY = 0.1;

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (unit === 'MiB') return v.toFixed(1);
  if (unit === 's/GiB') return v.toFixed(2);
  if (unit === 'ms') return v < 100 ? v.toFixed(1) : v.toFixed(0);
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
}

function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(0)} %`;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => pad(r, widths)).join('\n');
}

function targetText(key: string): string {
  const t = METRICS.find((m) => m.key === key)?.target;
  if (!t) return '';
  const v = t.on === 'ratio' ? `${Math.round(t.value * 100)} %` : String(t.value);
  return `${t.op === '>=' ? '≥' : t.op === '<=' ? '≤' : '<'} ${v}`;
}

/**
 * A one-line description of machine noise, e.g. "load 0.4→1.9, other processes 3 % CPU, steal 0 %".
 *
 * @example
 * noiseLine(result.noise);
 */
export function noiseLine(n: MachineNoise): string {
  const la = (l: number[]) => (l[0] ?? 0).toFixed(2);
  return (
    `loadavg ${la(n.loadavgBefore)} → ${la(n.loadavgAfter)}; busy ${pct(n.busyShare)} of ${n.cores} cores, ` +
    `of which other processes ${pct(n.otherShare)}; steal ${pct(n.stealShare)}; iowait ${pct(n.iowaitShare)}`
  );
}

/** A metric's label with the sizes the run really used (the labels name the defaults). */
function sizedLabel(text: string, r: BenchResult): string {
  const big = Number(r.options.bigBytes ?? 1 << 30);
  const small = Number(r.options.smallCount ?? 2000);
  return text
    .replace('1 GiB', big === 1 << 30 ? '1 GiB' : `${Math.round(big / (1 << 20))} MiB`)
    .replace('× N', `× ${small.toLocaleString('en-US')}`);
}

/**
 * The defaults phase beside the runs' figures for the same work: the 64 KiB PUTs (with the share
 * of the raised-limits median they reached) and the slot requests, granted and refused apart, each
 * with its median time per answer. Empty when the phase did not run.
 *
 * @example
 * lines.push(...defaultsLines(result));
 */
export function defaultsLines(r: BenchResult): string[] {
  const d = r.defaults;
  if (!d) return [];
  const raised = (key: string) => r.summary.find((s) => s.key === key)?.serve;
  const lines = [`defaults (one serve with no limit raised, once, ${d.seconds.toFixed(0)} s):`];
  if (d.put64k) {
    const p = d.put64k;
    const of = raised('put64k');
    lines.push(
      `  PUT 64 KiB × ${p.count.toLocaleString('en-US')}, 32 concurrent: ${fmt(p.perSec, '')} files/s` +
        (of ? ` (limits raised: ${fmt(of, '')}, defaults reach ${pct(p.perSec / of)})` : '') +
        `; ${p.refused} refused, ${p.failed} failed`,
    );
  }
  if (d.slots) {
    const s = d.slots;
    const ms = (v: number | undefined) => (v === undefined ? '' : ` (median ${fmt(v, 'ms')} ms)`);
    const of = raised('slots');
    lines.push(
      `  slot requests, one JID, 32 in flight: ${s.slots.toLocaleString('en-US')} granted${ms(s.slotMs)}, ` +
        `${s.refused.toLocaleString('en-US')} refused with wait${ms(s.refusedMs)}, ${s.errors} errors, of ${s.requests.toLocaleString('en-US')}; ` +
        `${fmt(s.answersPerSec, '')} answers/s` +
        (of ? ` (limits raised: ${fmt(of, '')} slots/s)` : ''),
    );
  }
  return lines;
}

/**
 * The human summary printed at the end of a run.
 *
 * @example
 * process.stdout.write(renderSummary(result));
 */
export function renderSummary(r: BenchResult): string {
  const rows: string[][] = [['', 'nginx', 'serve', 'serve/nginx', 'its spread', 'target', '', 'serve spread']];
  const label = (text: string) => sizedLabel(text, r);
  for (const row of r.summary) {
    const def = METRICS.find((m) => m.key === row.key)!;
    if (row.nginx === undefined && row.serve === undefined) continue;
    const mark = row.met === undefined ? '' : row.met ? 'ok' : 'MISS';
    rows.push([
      `${label(def.label)} (${def.unit})`,
      fmt(row.nginx, def.unit),
      fmt(row.serve, def.unit),
      pct(row.ratio),
      row.ratioSpread === undefined ? '' : pct(row.ratioSpread),
      targetText(row.key),
      mark,
      row.spread === undefined ? '' : pct(row.spread),
    ]);
  }
  const lines = [
    '',
    `fileupload bench · ${r.startedAt} · ${r.runs.length} run(s), medians · ${r.git ? r.git.commit.slice(0, 10) + (r.git.dirty ? ' (dirty)' : '') : 'no git'}`,
    `fileupload = ${r.fileupload.kind} (${r.fileupload.file}) · node ${r.host.node} · nginx ${r.host.nginx} · ${r.host.cpus} × ${r.host.cpuModel}`,
    '',
    ...(rows.length > 1 ? [table(rows), ''] : []),
  ];
  if (r.limits) lines.push(raisedLimitsLine(r.limits));
  lines.push(...defaultsLines(r));
  if (r.ceiling) {
    const c = r.ceiling;
    lines.push(
      `client ceiling (null server): PUT ${fmt(c.putMBps, 'MB/s')} MB/s, GET ${fmt(c.getMBps, 'MB/s')} MB/s, ` +
        `64 KiB PUT ${fmt(c.smallPutPerSec, '')} files/s, wrk GET 64 KiB ${fmt(c.wrkGetPerSec, '')} req/s, HEAD ${fmt(c.headPerSec, '')} req/s`,
    );
  }
  if (r.slotCeiling) {
    const c = r.slotCeiling;
    lines.push(
      `slot ceiling (Prosody + do-nothing component): ${fmt(c.slotsPerSec, '')} slots/s, Prosody at ${c.prosodyCores.toFixed(2)} cores, client ${c.clientCores.toFixed(2)}`,
    );
  }
  if (r.bareNode) {
    const b = r.bareNode;
    lines.push(
      `bare node reference (minimal node:http, temp file + rename, sync fs, no checks, no fsync): 64 KiB PUT ${fmt(b.put64k, '')} files/s, ` +
        `${pct(b.ofNginx)} of nginx; serve reached ${pct(b.serveOfBare)} of it`,
    );
  }
  lines.push(`machine: ${noiseLine(r.noise)}`);
  if (r.noise.otherShare > NOISY) {
    lines.push(
      `  WARNING: other processes used ${pct(r.noise.otherShare)} of the CPU during the run: absolute figures are unreliable, ratios less so; rerun on a quiet machine`,
    );
  }
  r.runs.forEach((run) => lines.push(`  run ${run.index + 1} (${run.order[0]} first): ${noiseLine(run.noise)}`));
  const notes = [
    ...r.notes,
    ...r.runs.flatMap((run) => run.notes.map((n) => `run ${run.index + 1}: ${n}`)),
    ...(r.defaults?.notes ?? []),
  ];
  if (notes.length) lines.push('', 'notes:', ...notes.map((n) => `  - ${n}`));
  lines.push(`took ${r.durationSeconds.toFixed(0)} s`, '');
  return lines.join('\n');
}

/**
 * Side by side summary of two result files (A = before, B = after).
 *
 * @example
 * process.stdout.write(renderCompare(a, b));
 */
export function renderCompare(a: BenchResult, b: BenchResult): string {
  const name = (r: BenchResult) => (r.git ? r.git.commit.slice(0, 8) + (r.git.dirty ? '+' : '') : r.startedAt);
  const rows: string[][] = [['', `serve A`, `serve B`, 'B vs A', 'ratio A', 'ratio B', 'nginx A', 'nginx B']];
  for (const def of METRICS) {
    const ra = a.summary.find((s) => s.key === def.key);
    const rb = b.summary.find((s) => s.key === def.key);
    if (!ra?.serve && !rb?.serve && !ra?.nginx && !rb?.nginx) continue;
    const change = ra?.serve && rb?.serve !== undefined ? rb.serve / ra.serve - 1 : undefined;
    const better =
      change === undefined ? '' : change > 0 === def.higherIsBetter ? ' better' : change === 0 ? '' : ' worse';
    rows.push([
      `${sizedLabel(def.label, b)} (${def.unit})`,
      fmt(ra?.serve, def.unit),
      fmt(rb?.serve, def.unit),
      change === undefined ? '—' : `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)} %${better}`,
      pct(ra?.ratio),
      pct(rb?.ratio),
      fmt(ra?.nginx, def.unit),
      fmt(rb?.nginx, def.unit),
    ]);
  }
  return [
    '',
    `A: ${name(a)} · ${a.startedAt} · fileupload ${a.fileupload.kind} · ${a.runs.length} run(s) · ${noiseLine(a.noise)}`,
    `B: ${name(b)} · ${b.startedAt} · fileupload ${b.fileupload.kind} · ${b.runs.length} run(s) · ${noiseLine(b.noise)}`,
    '',
    table(rows),
    '',
    ...(a.defaults || b.defaults
      ? [...defaultsLines(a).map((l) => `A ${l}`), ...defaultsLines(b).map((l) => `B ${l}`), '']
      : []),
    'Compare the ratios first: nginx in the same run absorbs most of the machine noise.',
    '',
  ].join('\n');
}
