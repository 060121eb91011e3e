/**
 * Words and little pictures for the status view, shared by the Ink TUI and the plain-text
 * snapshot: rates, ages, progress bars, sparklines, and the whole text snapshot. Pure.
 */
import { formatDuration, formatSize } from '../config/units.ts';
import type { InFlightUpload, StatusSnapshot, Thresholds } from './snapshot.ts';

/**
 * Bytes per second for people.
 *
 * @example
 * formatByteRate(1536); // '1.5 KiB/s'
 */
export function formatByteRate(bytesPerSecond: number): string {
  return `${formatSize(Math.round(bytesPerSecond))}/s`;
}

/**
 * Events per second with precision that suits the magnitude.
 *
 * @example
 * formatEventRate(0.25); // '0.25/s'
 * formatEventRate(12.3); // '12/s'
 */
export function formatEventRate(perSecond: number): string {
  if (perSecond === 0) return '0/s';
  if (perSecond < 1) return `${perSecond.toFixed(2).replace(/0$/, '')}/s`;
  if (perSecond < 10) return `${perSecond.toFixed(1).replace(/\.0$/, '')}/s`;
  return `${Math.round(perSecond)}/s`;
}

/**
 * A coarse duration: the two largest units.
 *
 * @example
 * formatSpan(3_725_000); // '1h 02m'
 * formatSpan(42_000);    // '42s'
 */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${two(h)}h`;
  if (h > 0) return `${h}h ${two(m)}m`;
  if (m > 0) return `${m}m ${two(sec)}s`;
  return `${sec}s`;
}

/**
 * A bar of `width` cells filled to `fraction` (clamped to 0–1), in eighths.
 *
 * @example
 * progressBar(0.5, 10); // '█████     ' (filled, then blanks)
 */
export function progressBar(fraction: number, width: number, empty = '░'): string {
  const w = Math.max(1, Math.floor(width));
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const eighths = Math.round(f * w * 8);
  const full = Math.floor(eighths / 8);
  const partial = eighths % 8;
  const partials = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
  const bar = '█'.repeat(full) + (partial > 0 ? (partials[partial] ?? '') : '');
  return bar + empty.repeat(w - full - (partial > 0 ? 1 : 0));
}

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * A one-line chart of `values` in at most `width` cells (neighbours merged by their maximum);
 * zero is the lowest block, the largest value the highest.
 *
 * @example
 * sparkline([0, 1, 2, 4, 8], 5); // '▁▂▃▅█'
 */
export function sparkline(values: readonly number[], width: number): string {
  const w = Math.max(1, Math.floor(width));
  let points = values.slice();
  if (points.length > w) {
    const merged: number[] = [];
    for (let i = 0; i < w; i++) {
      const from = Math.floor((i * points.length) / w);
      const to = Math.floor(((i + 1) * points.length) / w);
      merged.push(Math.max(...points.slice(from, Math.max(to, from + 1))));
    }
    points = merged;
  }
  const max = Math.max(0, ...points);
  return points
    .map((v) => {
      if (!(v > 0) || max === 0) return SPARKS[0];
      return SPARKS[Math.max(1, Math.min(7, Math.ceil((v / max) * 7)))];
    })
    .join('');
}

/**
 * Shortens `text` to `width` characters with an ellipsis.
 *
 * @example
 * fit('holiday-photo.jpeg', 10); // 'holiday-p…'
 */
export function fit(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/**
 * "3 refused (too-large 2, quota 1)" from a reason → count record.
 *
 * @example
 * byReason({ quota: 1, 'too-large': 2 }, 'refused'); // '3 refused (too-large 2, quota 1)'
 * byReason({}, 'failed');                             // '0 failed'
 */
export function byReason(counts: Record<string, number>, verb: string): string {
  const entries = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return entries.length === 0 ? `0 ${verb}` : `${total} ${verb} (${entries.map(([r, n]) => `${r} ${n}`).join(', ')})`;
}

/**
 * "1 run", "2 runs".
 *
 * @example
 * plural(2, 'run'); // '2 runs'
 */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * A limit and how full the repository is against it.
 *
 * @example
 * limitText('maxRepoSize', 2 * 2 ** 30, 1.2 * 2 ** 30); // 'maxRepoSize 2 GiB (60% used)'
 * limitText('globalQuota', null, 5);                // 'globalQuota none'
 */
export function limitText(name: keyof Thresholds, limit: number | null, used: number | null): string {
  if (limit === null) return `${name} none`;
  const pct = used !== null && limit > 0 ? ` (${Math.round((used / limit) * 100)}% used)` : '';
  return `${name} ${formatSize(limit)}${pct}`;
}

/**
 * The cluster line: which node holds the component connection, as this node sees it.
 *
 * @example
 * clusterText(snapshot); // 'cluster: component held by node2 for 3m (this node node1 stands by)'
 */
export function clusterText(s: Pick<StatusSnapshot, 'cluster' | 'node' | 'now'>): string {
  const c = s.cluster;
  if (!c) return 'cluster: no (single node)';
  if (c.holding)
    return `cluster: component held by this node (${s.node})${c.holderSince !== null ? ` for ${formatSpan(s.now - c.holderSince)}` : ''}`;
  const by = c.holder === null ? 'nobody at the moment' : c.holder;
  return `cluster: component held by ${by}${c.holder !== null && c.holderSince !== null ? ` for ${formatSpan(s.now - c.holderSince)}` : ''} (this node ${s.node} stands by)`;
}

/**
 * The verdict for monitoring; null from a serve that does not give one.
 *
 * @example
 * healthText(snapshot); // 'degraded: xmpp is auth-failed; restart pending: plugin.httpfileupload.webPort changed'
 */
export function healthText(s: Pick<StatusSnapshot, 'health'>): string | null {
  if (s.health === undefined) return null;
  return s.health.reasons.length === 0 ? s.health.status : `${s.health.status}: ${s.health.reasons.join('; ')}`;
}

/**
 * Which component this is and which XMPP server it talks to; null from a serve that does not say.
 *
 * @example
 * componentText(snapshot); // 'upload.example.org, xmpp server 127.0.0.1:5347'
 */
export function componentText(s: Pick<StatusSnapshot, 'domain' | 'xmppServer'>): string | null {
  if (s.domain === undefined && s.xmppServer === undefined) return null;
  return `${s.domain ?? '?'}, xmpp server ${s.xmppServer ?? '?'}`;
}

/**
 * The internal errors since start and recently; null from a serve that does not count them.
 *
 * @example
 * internalErrorsText(snapshot); // '3 (1 in the last 5 minutes)'
 */
export function internalErrorsText(s: Pick<StatusSnapshot, 'internalErrors'>): string | null {
  const i = s.internalErrors;
  return i === undefined ? null : `${i.total} (${i.lastFiveMinutes} in the last 5 minutes)`;
}

/** Said where upload details are left out: who can see them. */
export const UPLOAD_DETAILS_HIDDEN =
  'file names and uploaders need the admin credential: run as the service user or root, who can read the configuration';

/**
 * How an in-flight upload is named: file name (else slot id) and uploader; "an upload" when the
 * admin API left them out.
 *
 * @example
 * uploadLabel({ id: 'x', filename: 'cat.jpg', uploader: 'alice@example.org', size: 1, received: 0, startedAt: 0 }); // 'cat.jpg from alice@example.org'
 */
export function uploadLabel(u: InFlightUpload): string {
  const name = u.filename ?? u.id;
  if (name === undefined) return 'an upload';
  return u.uploader === undefined ? name : `${name} from ${u.uploader}`;
}

/**
 * The whole snapshot as plain text (what `fileupload status` prints when stdout is not a
 * terminal): one topic per line, stable enough to grep.
 *
 * @example
 * process.stdout.write(formatSnapshotText(await fetchStatus(target)));
 */
export function formatSnapshotText(s: StatusSnapshot): string {
  const lines: string[] = [];
  const ago = (t: number) => `${formatSpan(s.now - t)} ago`;
  lines.push(`fileupload ${s.version} on ${s.node} (pid ${s.pid}), up ${formatSpan(s.uptimeSeconds * 1000)}`);
  const health = healthText(s);
  if (health !== null) lines.push(`health: ${health}`);
  const component = componentText(s);
  if (component !== null) lines.push(`component: ${component}`);
  lines.push(
    `xmpp: ${s.xmpp.state} for ${formatSpan(s.now - s.xmpp.since)}, ${plural(s.xmpp.reconnects, 'reconnect')}` +
      (s.xmpp.detail ? ` (${s.xmpp.detail})` : ''),
  );
  if (s.cluster) lines.push(clusterText(s));
  const r = s.rates;
  lines.push(
    `rates (last ${r.windowSeconds} s): slots ${formatEventRate(r.slotsPerSecond)}, uploads ${formatEventRate(r.uploadsPerSecond)}, ` +
      `in ${formatByteRate(r.bytesInPerSecond)}, out ${formatByteRate(r.bytesOutPerSecond)}`,
  );
  lines.push(`uploads in flight: ${s.inFlightCount}`);
  if (s.uploadDetails === false && s.inFlightCount > 0) lines.push(`  (${UPLOAD_DETAILS_HIDDEN})`);
  for (const u of s.inFlight) {
    const pct = u.size > 0 ? Math.floor((u.received / u.size) * 100) : 100;
    lines.push(
      `  ${uploadLabel(u)}: ${pct}% (${formatSize(u.received)} of ${formatSize(u.size)}), started ${ago(u.startedAt)}`,
    );
  }
  if (s.inFlightCount > s.inFlight.length) lines.push(`  … and ${s.inFlightCount - s.inFlight.length} more`);
  const repo = s.repo;
  if (s.repository !== undefined) lines.push(`repository location: ${s.repository}`);
  lines.push(
    repo.updatedAt === null
      ? 'repository: not measured yet'
      : `repository: ${repo.bytes === null ? '?' : formatSize(repo.bytes)} in ${repo.files === null ? '? files' : plural(repo.files, 'file')}` +
          (repo.freeBytes !== null
            ? `; filesystem ${formatSize(repo.freeBytes)} free${repo.totalBytes !== null ? ` of ${formatSize(repo.totalBytes)}` : ''}`
            : '') +
          `; measured ${ago(repo.updatedAt)}`,
  );
  const t = s.thresholds;
  lines.push(
    `limits: ${limitText('maxRepoSize', t.maxRepoSize, repo.bytes)}, ${limitText('globalQuota', t.globalQuota, repo.bytes)}, ` +
      `${limitText('maxFileSize', t.maxFileSize, null)}, ${limitText('userQuota', t.userQuota, null)}, ${limitText('dailyQuota', t.dailyQuota, null)}`,
  );
  const p = s.purge;
  lines.push(
    `purge: ${t.purgeInterval === null ? 'not run by serve' : `every ${formatDuration(t.purgeInterval)}`}; ${plural(p.runs, 'run')}, ` +
      `${p.deleted} deleted (${formatSize(p.deletedBytes)}), ${p.failed} failed` +
      (p.lastRun
        ? `; last ${ago(p.lastRun.at)}: ${p.lastRun.deleted} deleted (${formatSize(p.lastRun.bytes)}) in ${(p.lastRun.durationMs / 1000).toFixed(1)} s`
        : ''),
  );
  const tot = s.totals;
  lines.push(
    `totals: ${tot.slotsIssued} slots issued, ${byReason(tot.slotsRefused, 'refused')}; ${tot.uploadsCompleted} uploads stored, ` +
      `${byReason(tot.uploadsFailed, 'failed')}; ${formatSize(tot.bytesReceived)} in, ${formatSize(tot.bytesSent)} out`,
  );
  const connections = Object.entries(s.connections ?? {});
  if (connections.length > 0) {
    const cap = (n: number | null) => (n === null ? 'no cap' : String(n));
    lines.push(
      `connections: ${connections
        .map(
          ([listener, c]) =>
            `${listener} ${c.open} open (max ${cap(c.max)}, per address ${cap(c.perAddressMax)}), ${byReason(c.refused, 'refused')}, ${c.evicted} idle closed`,
        )
        .join('; ')}`,
    );
  }
  const internal = internalErrorsText(s);
  if (internal !== null) lines.push(`internal errors: ${internal}`);
  if (s.errors.length === 0) lines.push('errors: none');
  else {
    lines.push(`errors (latest ${s.errors.length} of ${tot.errors}):`);
    for (const e of s.errors) lines.push(`  ${new Date(e.at).toISOString()} ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}
