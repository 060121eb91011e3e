/**
 * The `fileupload status` terminal UI (Ink): polls the admin API and draws the connection, rates,
 * uploads in flight with progress bars, throughput sparklines, the repository against its limits,
 * purge and the latest errors. Keys: q quits, p pauses. No JSX (type stripping): `h` is
 * React.createElement. Loaded lazily by the CLI, so ink and react stay out of `--help`.
 */
import React from 'react';
import { Box, Text, useApp, useInput, useStdin, useStdout } from 'ink';
import { formatDuration, formatSize } from '../config/units.ts';
import {
  byReason,
  clusterText,
  fit,
  plural,
  formatByteRate,
  formatEventRate,
  formatSpan,
  progressBar,
  sparkline,
  UPLOAD_DETAILS_HIDDEN,
  componentText,
  healthText,
  internalErrorsText,
} from './format.ts';
import type { StatusSnapshot, XmppState } from './snapshot.ts';

const h = React.createElement;

const STATE_COLOR: Record<XmppState, string> = {
  online: 'green',
  connecting: 'yellow',
  standby: 'yellow',
  offline: 'red',
  'auth-failed': 'red',
  conflict: 'red',
};

export interface StatusViewProps {
  snapshot: StatusSnapshot;
  /** The admin API polled (shown in the footer). */
  source: string;
  paused: boolean;
  /** Why the latest poll failed (the data shown is then from an earlier poll). */
  problem?: string | undefined;
  /** Columns to draw in. */
  width: number;
}

function Line(props: { label: string; children?: React.ReactNode }) {
  return h(
    Box,
    null,
    h(Box, { width: 13, flexShrink: 0 }, h(Text, { bold: true }, props.label)),
    h(Box, { flexGrow: 1 }, props.children),
  );
}

/**
 * One frame of the status view for a snapshot (no polling; see {@link StatusApp}).
 *
 * @example
 * render(h(StatusView, { snapshot, source: 'http://127.0.0.1:7444', paused: false, width: 80 }));
 */
export function StatusView(props: StatusViewProps) {
  const s = props.snapshot;
  const width = Math.max(60, props.width);
  const graph = Math.max(10, Math.min(60, width - 36));
  const r = s.rates;
  const repo = s.repo;
  const t = s.thresholds;
  const state = s.xmpp.state;

  const header = h(
    Box,
    { justifyContent: 'space-between' },
    h(
      Text,
      null,
      h(Text, { bold: true }, `fileupload ${s.version}`),
      ` on ${s.node} · pid ${s.pid} · up ${formatSpan(s.uptimeSeconds * 1000)}`,
    ),
    props.paused ? h(Text, { inverse: true, color: 'yellow' }, ' PAUSED ') : h(Text, { dimColor: true }, 'live'),
  );

  const xmpp = h(
    Line,
    { label: 'XMPP' },
    h(
      Text,
      null,
      h(Text, { color: STATE_COLOR[state] ?? 'white', bold: true }, `● ${state}`),
      ` for ${formatSpan(s.now - s.xmpp.since)} · ${plural(s.xmpp.reconnects, 'reconnect')}`,
      s.xmpp.detail ? h(Text, { dimColor: true }, ` · ${s.xmpp.detail}`) : null,
    ),
  );

  const health = s.health
    ? h(
        Line,
        { label: 'Health' },
        h(
          Text,
          { color: s.health.status === 'healthy' ? 'green' : 'yellow', bold: true },
          healthText(s)?.replace(/: /, ' · '),
        ),
      )
    : null;
  const componentLine = componentText(s);
  const component = componentLine !== null ? h(Line, { label: 'Component' }, h(Text, null, componentLine)) : null;

  const cluster = s.cluster
    ? h(Line, { label: 'Cluster' }, h(Text, null, clusterText(s).replace(/^cluster: /, '')))
    : null;

  const rates = h(
    Line,
    { label: 'Rates' },
    h(
      Text,
      null,
      `slots ${formatEventRate(r.slotsPerSecond)}  uploads ${formatEventRate(r.uploadsPerSecond)}  `,
      `in ${formatByteRate(r.bytesInPerSecond)}  out ${formatByteRate(r.bytesOutPerSecond)}`,
      h(Text, { dimColor: true }, `  (last ${r.windowSeconds} s)`),
    ),
  );

  const minutes = Math.round((r.history.bytesIn.length * r.history.stepSeconds) / 60);
  const spark = (label: string, values: number[], color: string) =>
    h(
      Text,
      null,
      `${label} `,
      h(Text, { color }, sparkline(values, graph)),
      h(Text, { dimColor: true }, ` peak ${formatByteRate(Math.max(0, ...values))}`),
    );
  const throughput = h(
    Line,
    { label: 'Throughput' },
    h(
      Box,
      { flexDirection: 'column' },
      spark('in ', r.history.bytesIn, 'cyan'),
      spark('out', r.history.bytesOut, 'magenta'),
      h(Text, { dimColor: true }, `last ${minutes} min, ${r.history.stepSeconds} s per column`),
    ),
  );

  // Label column 13, then: name, bar, " 100% ", "10.5 MiB/10.5 MiB ", uploader.
  const avail = width - 13;
  const nameWidth = Math.max(10, Math.min(28, Math.floor(avail * 0.25)));
  const uploaderWidth = Math.max(10, Math.min(24, Math.floor(avail * 0.2)));
  const barWidth = Math.max(8, Math.min(40, avail - nameWidth - uploaderWidth - 27));
  const flights = h(
    Line,
    { label: `In flight ${s.inFlightCount}` },
    h(
      Box,
      { flexDirection: 'column' },
      s.inFlight.length === 0 ? h(Text, { dimColor: true }, 'no uploads running') : null,
      s.uploadDetails === false && s.inFlight.length > 0
        ? h(Text, { dimColor: true, wrap: 'truncate-end' }, UPLOAD_DETAILS_HIDDEN)
        : null,
      ...s.inFlight.slice(0, 10).map((u, i) => {
        const fraction = u.size > 0 ? u.received / u.size : 1;
        return h(
          Text,
          { key: u.id ?? `upload-${i}`, wrap: 'truncate-end' },
          fit(u.filename ?? u.id ?? 'an upload', nameWidth).padEnd(nameWidth),
          ' ',
          h(Text, { color: 'green' }, progressBar(fraction, barWidth)),
          ` ${String(Math.floor(fraction * 100)).padStart(3)}% `,
          h(
            Text,
            { dimColor: true },
            `${formatSize(u.received)}/${formatSize(u.size)} ${fit(u.uploader ?? '', uploaderWidth)}`,
          ),
        );
      }),
      s.inFlightCount > 10 ? h(Text, { dimColor: true }, `… and ${s.inFlightCount - 10} more`) : null,
    ),
  );

  const used = repo.bytes;
  const gauge = (name: string, limit: number | null, note = '') => {
    if (limit === null || used === null) return null;
    const fraction = limit > 0 ? used / limit : 1;
    return h(
      Text,
      { key: name, wrap: 'truncate-end' },
      `${name.padEnd(12)}`,
      h(Text, { color: fraction >= 1 ? 'red' : fraction >= 0.8 ? 'yellow' : 'green' }, progressBar(fraction, barWidth)),
      ` ${Math.round(fraction * 100)}% of ${formatSize(limit)}${note}`,
    );
  };
  const repository = h(
    Line,
    { label: 'Repository' },
    h(
      Box,
      { flexDirection: 'column' },
      s.repository !== undefined ? h(Text, { wrap: 'truncate-middle' }, s.repository) : null,
      h(
        Text,
        null,
        repo.updatedAt === null
          ? 'not measured yet'
          : `${used === null ? '?' : formatSize(used)} in ${repo.files === null ? '? files' : plural(repo.files, 'file')}` +
              (repo.freeBytes !== null
                ? ` · disk ${formatSize(repo.freeBytes)} free${repo.totalBytes !== null ? ` of ${formatSize(repo.totalBytes)}` : ''}`
                : ''),
      ),
      // The disk rule purges while the repository is larger than the free space.
      gauge('free disk', repo.freeBytes, ' (purge when over)'),
      gauge('maxRepoSize', t.maxRepoSize),
      gauge('globalQuota', t.globalQuota),
    ),
  );

  const p = s.purge;
  const purge = h(
    Line,
    { label: 'Purge' },
    h(
      Text,
      null,
      `${t.purgeInterval === null ? 'not run by serve' : `every ${formatDuration(t.purgeInterval)}`} · ${plural(p.runs, 'run')} · ${p.deleted} deleted (${formatSize(p.deletedBytes)})` +
        (p.failed > 0 ? ` · ${p.failed} failed` : '') +
        (p.lastRun ? ` · last ${formatSpan(s.now - p.lastRun.at)} ago: ${p.lastRun.deleted} deleted` : ''),
    ),
  );

  const tot = s.totals;
  const totals = h(
    Line,
    { label: 'Totals' },
    h(
      Text,
      null,
      `slots ${tot.slotsIssued} issued, ${byReason(tot.slotsRefused, 'refused')} · uploads ${tot.uploadsCompleted} stored, ${byReason(tot.uploadsFailed, 'failed')} · ` +
        `${formatSize(tot.bytesReceived)} in, ${formatSize(tot.bytesSent)} out`,
    ),
  );

  const errors = h(
    Line,
    { label: 'Errors' },
    h(
      Box,
      { flexDirection: 'column' },
      internalErrorsText(s) !== null ? h(Text, null, `internal errors ${internalErrorsText(s)}`) : null,
      s.errors.length === 0 ? h(Text, { dimColor: true }, 'none') : null,
      ...s.errors
        .slice(-5)
        .map((e, i) =>
          h(
            Text,
            { key: `${e.at}-${i}`, color: 'red', wrap: 'truncate-end' },
            `${formatSpan(s.now - e.at)} ago  ${e.message}`,
          ),
        ),
    ),
  );

  const footer = h(
    Box,
    { flexDirection: 'column', marginTop: 1 },
    props.problem
      ? h(Text, { color: 'red', bold: true }, `! ${props.problem} (data from ${formatSpan(Date.now() - s.now)} ago)`)
      : null,
    h(Text, { dimColor: true }, `q quit · p ${props.paused ? 'resume' : 'pause'} · ${props.source}`),
  );

  return h(
    Box,
    { flexDirection: 'column', width },
    header,
    health,
    xmpp,
    component,
    cluster,
    rates,
    throughput,
    flights,
    repository,
    purge,
    totals,
    errors,
    footer,
  );
}

export interface StatusAppProps {
  /** Fetches a fresh snapshot (throws when serve cannot be reached). */
  load: () => Promise<StatusSnapshot>;
  /** The first snapshot (already fetched, so the first frame is never empty). */
  initial: StatusSnapshot;
  intervalMs: number;
  source: string;
}

/**
 * The polling TUI: draws {@link StatusView} and refreshes it every `intervalMs` unless paused.
 *
 * @example
 * const app = render(h(StatusApp, { load, initial, intervalMs: 1000, source: url }));
 * await app.waitUntilExit();
 */
export function StatusApp(props: StatusAppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { stdout } = useStdout();
  const [snapshot, setSnapshot] = React.useState(props.initial);
  const [problem, setProblem] = React.useState<string | undefined>(undefined);
  const [paused, setPaused] = React.useState(false);
  const [columns, setColumns] = React.useState(stdout.columns || 80);
  const pausedRef = React.useRef(false);

  useInput(
    (input, key) => {
      if (input === 'q' || key.escape) exit();
      else if (input === 'p' || input === ' ') {
        // The ref changes at once, so a poll answering before the next render is dropped too.
        pausedRef.current = !pausedRef.current;
        setPaused(pausedRef.current);
      }
    },
    { isActive: isRawModeSupported === true },
  );

  React.useEffect(() => {
    const onResize = () => setColumns(stdout.columns || 80);
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);

  React.useEffect(() => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      if (!pausedRef.current) {
        try {
          const next = await props.load();
          if (stopped) return;
          // An answer that arrives after p was pressed is dropped: a paused view never changes.
          if (!pausedRef.current) {
            setSnapshot(next);
            setProblem(undefined);
          }
        } catch (err) {
          if (stopped) return;
          if (!pausedRef.current) setProblem(err instanceof Error ? err.message : String(err));
        }
      }
      if (!stopped) timer = setTimeout(() => void tick(), props.intervalMs);
    };
    timer = setTimeout(() => void tick(), props.intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [props.load, props.intervalMs]);

  return h(StatusView, { snapshot, source: props.source, paused, problem, width: columns });
}
