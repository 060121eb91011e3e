import type { Command } from 'commander';
import { hostname, userInfo } from 'node:os';
import { CliError, ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { openMaintenance } from './maintenance.ts';
import { fail, notice, printJson } from './output.ts';

const LS_HELP = `
Lists the blocked contents, by the sha256 of their bytes: when each was added, by whom, why.
--json prints one document: {"entries": [{"sha256","added","by","note"}…]}.`;

const ADD_HELP = `
With an upload's URL (or its id): hashes the upload, puts its sha256 on the blocklist and
removes it and every other stored upload with the same bytes (the uploads of the same size
are read and compared). With a sha256: puts it on the blocklist and removes the stored uploads
with those bytes; give --size to read only the uploads of that size, else every stored upload
is read. Removed means gone, as with "slots rm": a GET answers 410, the slot's PUT URL 410.

From then on every node sharing the repository refuses an upload of those bytes (403
"blocked content") — within a second on a folder, five seconds on a bucket. What a takedown
cannot reach: downloads are served "Cache-Control: immutable" for a year, so caches and
clients that have the file keep it; with s3UploadMode direct clients PUT straight to the
bucket, where the blocklist is not checked, and such a copy stays until purge (run the
command again to remove the copies stored meanwhile).

--json prints one document:
  {"sha256","added","removed": [{"id","size"}…],"hashed","failed": [{"id","error"}…]}.`;

const RM_HELP = `
Takes a sha256 off the blocklist: those bytes may be uploaded again (nothing removed comes back).`;

/** Who runs the command, for the entry's "by": the user behind sudo, if any, and the host. */
function whoAmI(): string {
  const user = process.env.SUDO_USER || userInfo().username;
  return `${user}@${hostname()}`;
}

/** The blocklist of the configured repository, with what a takedown needs. */
async function openRepositoryBlocklist(config: string) {
  const { settings, store, ledger, repo } = await openMaintenance(config);
  const { openBlocklist } = await import('../blocklist/open.ts');
  const S3Store = store.kind === 's3' ? (await import('../storage/s3/index.ts')).S3Store : undefined;
  const blocklist = await openBlocklist({
    store,
    location: repo,
    ...(S3Store && store instanceof S3Store ? { s3: store } : {}),
  });
  return { settings, store, ledger, blocklist };
}

/**
 * Registers `fileupload blocklist ls|add|rm`.
 *
 * @example
 * registerBlocklist(program);
 */
export function registerBlocklist(program: Command): void {
  const blocklist = program
    .command('blocklist')
    .description('list, add and remove blocked contents (sha256); take a file down');

  blocklist
    .command('ls')
    .description('list the blocked sha256 hashes')
    .addHelpText('after', LS_HELP)
    .action(async (_opts: object, cmd: Command) => {
      const g = globalOptions(cmd);
      const { store, blocklist: list } = await openRepositoryBlocklist(g.config);
      try {
        const { entries } = await list.read();
        if (g.json) {
          printJson({ entries });
          return;
        }
        if (entries.length === 0) {
          process.stderr.write('the blocklist is empty\n');
          return;
        }
        process.stdout.write(`${'SHA256'.padEnd(64)}  ${'ADDED (UTC)'.padEnd(19)}  ${'BY'.padEnd(24)}  NOTE\n`);
        for (const e of entries) {
          const added = e.added.slice(0, 19).replace('T', ' ');
          process.stdout.write(`${e.sha256}  ${added.padEnd(19)}  ${e.by.padEnd(24)}  ${e.note}\n`);
        }
      } finally {
        await store.close();
      }
    });

  blocklist
    .command('add')
    .description('block content by upload URL or sha256, and remove every stored copy of it')
    .argument('<target>', 'an upload URL (or id), or a sha256 in hex')
    .option('--note <text>', 'why (kept in the entry)')
    .option('--size <bytes>', 'with a sha256: only uploads of this size are read')
    .addHelpText('after', ADD_HELP)
    .action(async (text: string, opts: { note?: string; size?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const { takedownTarget, takeDown, NoSuchUploadError } = await import('../blocklist/takedown.ts');
      const target = takedownTarget(text);
      if (!target)
        throw new CliError(
          `${JSON.stringify(text)}: expected an upload URL, an upload id or a sha256`,
          ExitCode.Usage,
          'usage',
        );
      if (opts.size !== undefined) {
        if ('id' in target) throw new CliError('--size goes with a sha256 only', ExitCode.Usage, 'usage');
        if (!/^\d+$/.test(opts.size))
          throw new CliError(
            `--size ${JSON.stringify(opts.size)}: expected a number of bytes`,
            ExitCode.Usage,
            'usage',
          );
        Object.assign(target, { size: Number(opts.size) });
      }
      const { settings, store, ledger, blocklist: list } = await openRepositoryBlocklist(g.config);
      if (store.kind === 's3' && settings.s3UploadMode === 'direct') {
        notice(
          'note',
          's3UploadMode is direct: clients PUT straight to the bucket, where the blocklist is not checked; run this again after the slot lifetime to remove copies uploaded meanwhile',
        );
      }
      let result;
      try {
        result = await takeDown({ store, ledger, blocklist: list }, target, {
          by: whoAmI(),
          ...(opts.note !== undefined ? { note: opts.note } : {}),
        });
      } catch (err) {
        if (err instanceof NoSuchUploadError) throw new CliError(err.message, ExitCode.Failure, 'not-found');
        throw err;
      } finally {
        await store.close();
      }
      const { formatSize } = await import('../config/units.ts');
      if (g.json) {
        printJson({
          sha256: result.sha256,
          added: result.added,
          removed: result.removed.map((m) => ({ id: m.id, size: m.size })),
          hashed: result.hashed,
          failed: result.failed,
        });
      } else {
        process.stdout.write(
          `${result.added ? 'blocked' : 'already blocked'} sha256 ${result.sha256}\n` +
            result.removed.map((m) => `removed upload ${m.id} ${formatSize(m.size)}\n`).join(''),
        );
        const bytes = result.removed.reduce((sum, m) => sum + m.size, 0);
        process.stdout.write(
          `blocklist add: removed ${result.removed.length} upload${result.removed.length === 1 ? '' : 's'} (${formatSize(bytes)}); ` +
            `read ${result.hashed} to compare\n`,
        );
      }
      for (const f of result.failed) notice('warning', `could not remove ${f.id}: ${f.error}`);
      if (result.failed.length > 0)
        fail('failed', `${result.failed.length} of the copies could not be removed`, ExitCode.Failure);
    });

  blocklist
    .command('rm')
    .description('take a sha256 off the blocklist')
    .argument('<sha256>', 'the hash, as "blocklist ls" shows it')
    .addHelpText('after', RM_HELP)
    .action(async (text: string, _opts: object, cmd: Command) => {
      const g = globalOptions(cmd);
      const [{ normalizeSha256 }, { removeFromBlocklist }] = await Promise.all([
        import('../blocklist/list.ts'),
        import('../blocklist/store.ts'),
      ]);
      const sha256 = normalizeSha256(text);
      if (sha256 === undefined)
        throw new CliError(`${JSON.stringify(text)}: expected a sha256 in hex`, ExitCode.Usage, 'usage');
      const { store, blocklist: list } = await openRepositoryBlocklist(g.config);
      let removed;
      try {
        removed = await removeFromBlocklist(list, sha256);
      } finally {
        await store.close();
      }
      if (g.json) printJson({ sha256, removed: removed !== undefined });
      if (removed === undefined) throw new CliError(`${sha256} is not on the blocklist`, ExitCode.Failure, 'not-found');
      if (!g.json) process.stdout.write(`unblocked sha256 ${sha256}\n`);
    });
}
