import type { Command } from 'commander';
import { once } from 'node:events';
import { CliError, ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { lockedExit, openMaintenance } from './maintenance.ts';
import { fail, notice } from './output.ts';
import type { SlotRow } from '../inventory/listing.ts';

const LS_HELP = `
Lists pending slots (issued, not uploaded, not expired — from every node sharing the
repository) and stored uploads, newest first. Times for --since and --older-than are
durations back from now (30m, 12h, 7d) or ISO 8601 instants (2030-06-01, 2030-06-01T12:00Z).

--json prints one object per line:
  {"id","filename","size","contentType","uploader","created","expires","purpose","state"}
with times as ISO 8601 UTC strings (expires null when no age rule applies), size in bytes.
Uploads imported from the Openfire plugin have the state "imported" and an empty uploader.`;

const RM_HELP = `
Removes stored uploads (and forgets pending slots) by id, or everything of one user with
--user (e.g. when an account is deleted). Removed means gone, on every node sharing the
repository: neither is listed again, a GET answers 410 "removed", and a PUT to the slot's
URL answers 410 from that moment (a tombstone where the upload would be; purge drops it once
the slot has expired, after which a GET answers 404). Runs under the same lock as purge:
exit code 3 when a purge or another "slots rm" holds it.

With s3UploadMode direct, clients PUT to the bucket with presigned URLs, which cannot be
revoked: a removed slot's URL still works until the slot expires, and its upload is then
listed again; run the command once more after the slot lifetime.`;

/** Parses --since / --older-than: a duration back from `now` or an ISO 8601 instant. */
async function parseTime(option: string, text: string, now: number): Promise<number> {
  const { parseDuration } = await import('../config/units.ts');
  try {
    return now - parseDuration(text);
  } catch {
    // not a duration: maybe an instant
  }
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(t)) {
    throw new CliError(
      `${option} ${JSON.stringify(text)}: expected a duration (30m, 12h, 7d) or an ISO 8601 time (2030-06-01T12:00:00Z)`,
      ExitCode.Usage,
    );
  }
  return t;
}

/**
 * Checks a --user value: a bare JID (alice@example.org, or a domain), never a full JID — uploads
 * are filed under the bare JID, so a resource would silently match nothing.
 */
function bareJidOption(jid: string): string {
  if (jid.includes('/') || (!jid.includes('@') && !jid.includes('.'))) {
    throw new CliError(
      `--user ${JSON.stringify(jid)}: expected a bare JID such as alice@example.org (no /resource)`,
      ExitCode.Usage,
    );
  }
  return jid;
}

const DAY_MS = 86_400_000;

/**
 * ISO 8601 times as Date#toISOString() writes them (years 0–9999), for a million rows: the date
 * part of each day is made once (rows are formatted before they are sorted, in any order).
 */
function isoFormatter(): (ms: number | null) => string | null {
  const dates = new Map<number, string>();
  const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
  return (ms) => {
    if (ms === null) return null;
    const d = Math.floor(ms / DAY_MS);
    let date = dates.get(d);
    if (date === undefined) {
      if (dates.size >= 100_000) dates.clear();
      date = new Date(d * DAY_MS).toISOString().slice(0, 11);
      dates.set(d, date);
    }
    const t = ms - d * DAY_MS;
    const milli = t % 1000;
    return `${date}${two(Math.floor(t / 3_600_000))}:${two(Math.floor(t / 60_000) % 60)}:${two(Math.floor(t / 1000) % 60)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  };
}

/**
 * A row as the line `slots ls --json` prints: JSON.stringify of the row with ISO times, written
 * out field by field (a copy of every row to stringify costs a million objects).
 */
export function jsonRowFormatter(): (r: SlotRow) => string {
  const iso = isoFormatter();
  const q = JSON.stringify;
  const time = (ms: number | null): string => (ms === null ? 'null' : `"${iso(ms)}"`);
  return (r) =>
    `{"id":${q(r.id)},"filename":${q(r.filename)},"size":${r.size},"contentType":${r.contentType === null ? 'null' : q(r.contentType)},"uploader":${q(r.uploader)},"created":${time(r.created)},"expires":${time(r.expires)},"purpose":${q(r.purpose)},"state":${q(r.state)}}`;
}
// Control characters (a hand-edited or imported header) would break the line, or drive the terminal.
const CONTROL = /[\x00-\x1f\x7f]/g;
const clip = (raw: string, n: number): string => {
  const s = raw.replace(CONTROL, '?');
  return s.length <= n ? s.padEnd(n) : `${s.slice(0, n - 1)}…`;
};
const when = (ms: number | null): string =>
  ms === null ? '-'.padEnd(19) : new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/**
 * Registers `fileupload slots ls` and `fileupload slots rm`.
 *
 * @example
 * registerSlots(program);
 */
export function registerSlots(program: Command): void {
  const slots = program.command('slots').description('list and remove pending slots and stored uploads');

  slots
    .command('ls')
    .description('list pending slots and stored uploads, newest first')
    .option('--user <jid>', 'only this bare JID')
    .option('--state <state>', 'only pending, stored (imported included) or imported')
    .option('--since <time>', 'only created at or after this time')
    .option('--older-than <time>', 'only created before this time')
    .option('--limit <n>', 'at most n rows')
    .option('--oldest-first', 'oldest first instead of newest first')
    .addHelpText('after', LS_HELP)
    .action(
      async (
        opts: {
          user?: string;
          state?: string;
          since?: string;
          olderThan?: string;
          limit?: string;
          oldestFirst?: boolean;
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const now = Date.now();
        if (opts.state !== undefined && !['pending', 'stored', 'imported'].includes(opts.state)) {
          throw new CliError(
            `--state ${JSON.stringify(opts.state)}: expected pending, stored or imported`,
            ExitCode.Usage,
          );
        }
        let limit: number | undefined;
        if (opts.limit !== undefined) {
          if (!/^\d+$/.test(opts.limit) || Number(opts.limit) < 1)
            throw new CliError(`--limit ${JSON.stringify(opts.limit)}: expected a whole number ≥ 1`, ExitCode.Usage);
          limit = Number(opts.limit);
        }
        if (opts.user !== undefined) bareJidOption(opts.user);
        const filter = {
          ...(opts.user !== undefined ? { user: opts.user } : {}),
          ...(opts.state !== undefined ? { state: opts.state as 'pending' | 'stored' | 'imported' } : {}),
          ...(opts.since !== undefined ? { since: await parseTime('--since', opts.since, now) } : {}),
          ...(opts.olderThan !== undefined ? { before: await parseTime('--older-than', opts.olderThan, now) } : {}),
          ...(limit !== undefined ? { limit } : {}),
          order: opts.oldestFirst ? ('oldest' as const) : ('newest' as const),
        };
        const { settings, store, ledger } = await openMaintenance(g.config);
        const [{ listSlotBatches }, { formatSize }] = await Promise.all([
          import('../inventory/listing.ts'),
          import('../config/units.ts'),
        ]);
        const out = process.stdout;
        // Rows go out in pieces of ~64 KiB: one write per row costs a system call each, which
        // at a million rows is seconds.
        let held = '';
        const flush = async (): Promise<void> => {
          const text = held;
          held = '';
          if (text !== '' && !out.write(text)) await once(out, 'drain');
        };
        const write = async (text: string): Promise<void> => {
          held += text;
          if (held.length >= 65_536) await flush();
        };
        if (!g.json) {
          await write(
            `${'ID'.padEnd(24)}  ${'STATE'.padEnd(7)}  ${'SIZE'.padStart(10)}  ${'CREATED (UTC)'.padEnd(19)}  ${'EXPIRES (UTC)'.padEnd(19)}  ${'PURPOSE'.padEnd(9)}  ${'CONTENT TYPE'.padEnd(24)}  ${'UPLOADER'.padEnd(28)}  FILENAME\n`,
          );
        }
        let count = 0;
        const perUserQuota = [settings.userQuota, settings.dailyQuota].some((q) => q !== undefined && q > 0);
        const indexed = perUserQuota && !(store.kind === 's3' && settings.s3UploadMode === 'direct');
        const format = g.json
          ? jsonRowFormatter()
          : (r: SlotRow): string =>
              `${r.id.padEnd(24)}  ${r.state.padEnd(7)}  ${formatSize(r.size).padStart(10)}  ${when(r.created)}  ${when(r.expires)}  ${r.purpose.padEnd(9)}  ${clip(r.contentType ?? '-', 24)}  ${clip(r.uploader === '' ? '(imported)' : r.uploader, 28)}  ${JSON.stringify(r.filename)}`;
        for await (const lines of listSlotBatches(
          { store, ledger, now, maxAge: settings.maxAge, maxAgePurposes: settings.maxAgePurposes, indexed },
          filter,
          format,
        )) {
          count += lines.length;
          await write(lines.join('\n') + '\n');
        }
        await flush();
        if (!g.json && count === 0) process.stderr.write('no slots or uploads match\n');
      },
    );

  slots
    .command('rm')
    .description('remove stored uploads and forget pending slots, by id or by user')
    .argument('[ids...]', 'upload or slot ids')
    .option('--user <jid>', 'everything of this bare JID')
    .option('-n, --dry-run', 'show what would be removed and change nothing')
    .addHelpText('after', RM_HELP)
    .action(async (ids: string[], opts: { user?: string; dryRun?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const dryRun = opts.dryRun === true;
      if (ids.length === 0 && opts.user === undefined)
        throw new CliError('name the ids to remove, or --user JID', ExitCode.Usage);
      // Both at once would remove the ids whoever uploaded them, plus all of the user's: refuse
      // rather than guess whether the ids were meant to be filtered by the user.
      if (ids.length > 0 && opts.user !== undefined)
        throw new CliError('name the ids to remove or --user JID, not both', ExitCode.Usage);
      if (opts.user !== undefined) bareJidOption(opts.user);
      const { isStoredId } = await import('../slots/id.ts');
      const bad = ids.filter((id) => !isStoredId(id));
      if (bad.length > 0)
        throw new CliError(`not an upload id: ${bad.map((b) => JSON.stringify(b)).join(', ')}`, ExitCode.Usage);
      const { settings, store, ledger, locks } = await openMaintenance(g.config);
      const [{ MAINTENANCE_LOCK }, { formatSize }, { removeForGood }] = await Promise.all([
        import('../lock/lock.ts'),
        import('../config/units.ts'),
        import('../inventory/removal.ts'),
      ]);
      if (store.kind === 's3' && settings.s3UploadMode === 'direct' && !dryRun) {
        notice(
          'note',
          's3UploadMode is direct: the presigned PUT URLs of removed slots cannot be revoked and stay valid until their slots expire',
        );
      }
      let lock;
      try {
        lock = await locks.acquire(MAINTENANCE_LOCK, { command: dryRun ? 'slots rm --dry-run' : 'slots rm' });
      } catch (err) {
        throw await lockedExit(err);
      }
      let removed = 0;
      let removedBytes = 0;
      let forgotten = 0;
      let missing = 0;
      let failed = 0;
      type Outcome = 'removed' | 'would-remove' | 'not-found' | 'failed';
      const report = (row: {
        id: string;
        filename: string | null;
        size: number | null;
        state: 'stored' | 'pending' | null;
        outcome: Outcome;
        error?: string;
      }): void => {
        if (g.json) process.stdout.write(JSON.stringify(row) + '\n');
        else if (row.outcome === 'not-found') process.stderr.write(`fileupload: no upload or pending slot ${row.id}\n`);
        else if (row.outcome === 'failed')
          process.stderr.write(`fileupload: could not remove ${row.id}: ${row.error}\n`);
        else {
          const verb = row.outcome === 'would-remove' ? 'would remove' : 'removed';
          const what = row.state === 'pending' ? 'pending slot' : 'upload';
          process.stdout.write(
            `${verb} ${what} ${row.id} ${formatSize(row.size ?? 0)} ${JSON.stringify(row.filename)}\n`,
          );
        }
      };
      // The live journal entries of the ids: pending or uploaded, each goes for good (removal.ts),
      // a tombstone refusing its URL.
      const live = new Map<string, import('../inventory/ledger.ts').PendingSlot>();
      const now = Date.now();
      try {
        const removeUpload = async (meta: import('../storage/store.ts').UploadMeta): Promise<void> => {
          lock.assertHeld();
          if (dryRun) {
            report({ id: meta.id, filename: meta.filename, size: meta.size, state: 'stored', outcome: 'would-remove' });
            removed++;
            removedBytes += meta.size;
            return;
          }
          try {
            const slot = live.get(meta.id);
            const gone = await removeForGood(
              { store, ledger, now },
              { id: meta.id, upload: meta, ...(slot !== undefined ? { slot } : {}) },
            );
            if (gone !== undefined) {
              removed++;
              removedBytes += meta.size;
              report({ id: meta.id, filename: meta.filename, size: meta.size, state: 'stored', outcome: 'removed' });
            } else {
              missing++;
              report({ id: meta.id, filename: null, size: null, state: null, outcome: 'not-found' });
            }
          } catch (err) {
            failed++;
            report({
              id: meta.id,
              filename: meta.filename,
              size: meta.size,
              state: 'stored',
              outcome: 'failed',
              error: (err as Error).message,
            });
          }
        };
        if (opts.user !== undefined) {
          // Everything of one user: the operation the ad-hoc commands and the admin API share.
          const { removeUserUploads } = await import('../inventory/uploads.ts');
          await removeUserUploads({ store, ledger, settings: () => settings, now: () => now }, opts.user, 'all', {
            dryRun,
            beforeEach: () => lock.assertHeld(),
            onItem: (item) => {
              if (item.outcome === 'failed') failed++;
              else if (item.outcome === 'not-found') missing++;
              else if (item.state === 'pending') forgotten++;
              else {
                removed++;
                removedBytes += item.size ?? 0;
              }
              report(item);
            },
          });
        }
        // Slots to forget by id (bounded by the ids given). Collected first, then forgotten — a
        // tombstone each, the batches stay as written. Expired ones are left out: their URL no
        // longer works, and `slots ls` does not show them either. An uploaded one is removed as an
        // upload below, its slot forgotten with it.
        const wantedIds = new Set(ids);
        const pendingFound = new Map<string, import('../inventory/ledger.ts').PendingSlot>();
        for await (const p of ledger.pendingSlots()) {
          if (!wantedIds.has(p.id)) continue;
          if (live.has(p.id) || p.expiresAt <= now) continue;
          live.set(p.id, p);
          if ((await store.stat(p.id)) === undefined) pendingFound.set(p.id, p);
        }
        for (const p of pendingFound.values()) {
          lock.assertHeld();
          let outcome: Outcome = dryRun ? 'would-remove' : 'removed';
          let error: string | undefined;
          if (!dryRun) {
            try {
              // An upload that arrived since the look above goes with it, counted as the slot.
              await removeForGood({ store, ledger, now }, { id: p.id, slot: p });
            } catch (err) {
              outcome = 'failed';
              error = (err as Error).message;
            }
          }
          if (outcome === 'failed') failed++;
          else forgotten++;
          report({
            id: p.id,
            filename: p.filename,
            size: p.size,
            state: 'pending',
            outcome,
            ...(error !== undefined ? { error } : {}),
          });
        }
        for (const id of ids) {
          if (pendingFound.has(id)) continue;
          const meta = await store.stat(id);
          if (meta) await removeUpload(meta);
          else {
            missing++;
            report({ id, filename: null, size: null, state: null, outcome: 'not-found' });
          }
        }
      } catch (err) {
        throw await lockedExit(err);
      } finally {
        await lock.release();
      }
      if (!g.json) {
        process.stdout.write(
          `slots rm${dryRun ? ' (dry run)' : ''}: ${dryRun ? 'would remove' : 'removed'} ${removed} upload${removed === 1 ? '' : 's'} (${formatSize(removedBytes)})` +
            `, ${dryRun ? 'would forget' : 'forgot'} ${forgotten} pending slot${forgotten === 1 ? '' : 's'}` +
            (missing ? `; ${missing} not found` : '') +
            (failed ? `; ${failed} failed` : '') +
            '\n',
        );
      }
      if (failed > 0) fail('failed', `${failed} could not be removed`, ExitCode.Failure);
      else if (missing > 0) fail('not-found', `${missing} not found`, ExitCode.Failure);
    });
}
