import type { Command } from 'commander';
import { once } from 'node:events';
import { ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { lockedExit, openMaintenance } from './maintenance.ts';
import { fail } from './output.ts';
import type { PurgeProgress } from '../purge/run.ts';
import type { ProgressReport } from '../purge/progress.ts';

const HELP = `
Rules, in this order (each sees what the earlier ones removed):
  expired      ephemeral uploads past their expire-before time
  abandoned    unfinished uploads (temp files) idle for longer than slotLifetime
  maxAge       uploads older than maxAge whose purpose is in maxAgePurposes
  maxRepoSize  uploads in the size order until the stored bytes are within maxRepoSize
  disk         uploads in the size order while the stored uploads are larger than
               the free space of their filesystem (the Openfire plugin's rule);
               temp files of running uploads count as free space
Size order: only users holding the most bytes (fair share), message/ephemeral
before profile/permanent, oldest first (man fileupload-purge). Uploads younger
than a minute are never taken by the size rules.
Then the slot claims of cluster mode that nobody can use any more are removed
(10 minutes after their slot expired; never one whose upload runs).

--json prints {"dryRun", "deletions": [{id, filename, size, age, rule, kind, outcome}…],
"summary": {startedAt, duration, …}}; age and duration in seconds, size in bytes.

Exit codes: 0 done, 1 some deletions failed, 2 configuration error,
3 another purge or "slots rm" (on any node sharing the repository) holds the lock.`;

/**
 * Registers `fileupload purge [--dry-run]`.
 *
 * @example
 * registerPurge(program);
 */
export function registerPurge(program: Command): void {
  program
    .command('purge')
    .description(
      'delete expired, abandoned, too old and excess uploads (run by serve every purgeInterval; fit for cron)',
    )
    .option('-n, --dry-run', 'show what would be deleted and change nothing')
    .option('-v, --verbose', 'list every deletion (a dry run always does)')
    .option(
      '--progress',
      'a line on standard error per 10 % of the uploads listed (every 10 s when their number is unknown)',
    )
    .addHelpText('after', HELP)
    .action(async (opts: { dryRun?: boolean; verbose?: boolean; progress?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const dryRun = opts.dryRun === true;
      const { settings, repo, store, ledger, locks } = await openMaintenance(g.config);
      const [{ purgeOnce }, { formatSize, formatDuration }, { ProgressLines }, { readTotal }] = await Promise.all([
        import('../purge/job.ts'),
        import('../config/units.ts'),
        import('../purge/progress.ts'),
        import('../inventory/usage.ts'),
      ]);
      const out = process.stdout;
      // --progress prints lines (cron logs); a terminal without it gets one line redrawn in place.
      const lines =
        opts.progress === true
          ? new ProgressLines((await readTotal(ledger.index))?.files, Date.now(), dryRun)
          : undefined;
      const printProgress = (r: ProgressReport | undefined): void => {
        if (!r || !lines) return;
        process.stderr.write(g.json ? JSON.stringify({ progress: r }) + '\n' : `${lines.text(r)}\n`);
      };
      const tty = !lines && process.stderr.isTTY === true;
      const listEach = dryRun || opts.verbose === true;
      // The JSON document is streamed (deletions may be many); it opens with the first output, so
      // a refused lock prints nothing on stdout.
      let first = true;
      let opened = false;
      const open = (): void => {
        if (!opened) out.write(`{"dryRun":${dryRun},"deletions":[`);
        opened = true;
      };
      let summary;
      try {
        summary = await purgeOnce({
          settings,
          repo,
          store,
          ledger,
          locks,
          dryRun,
          onDeletion: (d) => {
            if (g.json) {
              open();
              const row = {
                id: d.id,
                filename: d.filename,
                size: d.size,
                age: Math.floor(d.age / 1000),
                rule: d.rule,
                kind: d.kind,
                outcome: d.outcome,
                ...(d.error ? { error: d.error } : {}),
              };
              const ok = out.write(`${first ? '\n' : ',\n'}${JSON.stringify(row)}`);
              first = false;
              if (!ok) return once(out, 'drain').then(() => {});
            } else {
              if (tty) process.stderr.write('\r\x1b[K');
              if (d.outcome === 'failed') process.stderr.write(`fileupload: could not delete ${d.id}: ${d.error}\n`);
              else if (listEach) {
                const verb = dryRun ? 'would delete' : d.outcome === 'gone' ? 'already gone' : 'deleted';
                if (
                  !out.write(
                    `${verb} ${d.id} ${formatSize(d.size)} age ${formatDuration(Math.floor(d.age / 1000) * 1000)} ${d.rule}${d.filename !== null ? ` ${JSON.stringify(d.filename)}` : ' (temp file)'}\n`,
                  )
                ) {
                  return once(out, 'drain').then(() => {});
                }
              }
            }
          },
          ...(lines
            ? { onProgress: (p: PurgeProgress) => printProgress(lines.next(p, Date.now())), progressInterval: 0 }
            : tty
              ? {
                  onProgress: (p: PurgeProgress) =>
                    process.stderr.write(
                      `\r\x1b[Kpurge: ${p.listed} uploads listed, ${p.deleted} ${dryRun ? 'to delete' : 'deleted'}`,
                    ),
                }
              : {}),
        });
        printProgress(lines?.end({ listed: summary.scanned.uploads, deleted: summary.deleted }, Date.now()));
      } catch (err) {
        const mapped = await lockedExit(err);
        if (g.json && opened)
          out.write(`\n],"error":${JSON.stringify(mapped instanceof Error ? mapped.message : String(mapped))}}\n`);
        throw mapped;
      } finally {
        if (tty) process.stderr.write('\r\x1b[K');
      }
      if (g.json) {
        open();
        // Typed as everywhere under --json: instants as ISO 8601, durations in seconds, null for unknown.
        const { startedAt, durationMs, freeBytesBefore, ...rest } = summary;
        const typed = {
          startedAt: new Date(startedAt).toISOString(),
          duration: durationMs / 1000,
          freeBytesBefore: freeBytesBefore ?? null,
          ...rest,
        };
        out.write(`${first ? '' : '\n'}],"summary":${JSON.stringify(typed)}}\n`);
      } else {
        const r = summary.rules;
        const parts = (['expired', 'abandoned', 'maxAge', 'maxRepoSize', 'disk'] as const)
          .filter((k) => r[k].count > 0)
          .map((k) => `${k} ${r[k].count}`);
        out.write(
          `purge${dryRun ? ' (dry run)' : ''}: ${dryRun ? 'would delete' : 'deleted'} ${summary.deleted} (${formatSize(summary.deletedBytes)})` +
            (parts.length ? ` — ${parts.join(', ')}` : '') +
            `; ${summary.scanned.uploads} uploads (${formatSize(summary.scanned.bytes)}) scanned in ${(summary.durationMs / 1000).toFixed(1)} s` +
            (summary.failed ? `; ${summary.failed} failed` : '') +
            (summary.claims?.removed
              ? `; ${summary.claims.removed} unused slot claim${summary.claims.removed === 1 ? '' : 's'} ${dryRun ? 'to remove' : 'removed'}`
              : '') +
            (summary.shortfall > 0
              ? `; ${formatSize(summary.shortfall)} over the size limits could not be freed (uploads younger than a minute)`
              : '') +
            '\n',
        );
      }
      if (summary.failed > 0)
        fail('failed', `${summary.failed} deletion${summary.failed === 1 ? '' : 's'} failed`, ExitCode.Failure);
    });
}
