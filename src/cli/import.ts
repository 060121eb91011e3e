import type { Command } from 'commander';
import { Option } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { fail, printJson, typedValue } from './output.ts';

const HELP = `
Takes over an Openfire install with the HTTP File Upload plugin (OPENFIRE_HOME holds
conf/openfire.xml). Reads:
  conf/openfire.xml        <fqdn> and the plugin's serverspecific properties
  conf/security.xml        how encrypted values are encrypted (else Openfire's defaults)
  embedded-db/openfire.script (+ openfire.log)
                           the general plugin.httpfileupload.* properties; with another
                           database, dump ofProperty and give the dump with --properties
and writes them, under fileupload's names, into the --config file (created 0600 when
missing). A property the file already sets is kept and reported, never overwritten.

Then every upload of the plugin's repository (its fileRepo, or --repo DIR) becomes an upload
of this repository under the same id, so its old URL {contextRoot}/{id}/{name} keeps working:
  --copy (default)  the plugin's files stay as they are (Openfire can keep serving them)
  --move            each plugin file is removed once its copy is published: the extra disk
                    needed is one file, not the repository
Uploads stored here carry a metadata header (and on S3 are objects), so a plugin file is
always copied, never linked. A second run skips what is already imported.

--json prints {"dryRun", "read", "config", "properties": [{name, value, text, from, action}…],
"notes": [{from, text}…], "uploads": {source, repository, mode, found, imported,
importedBytes, already, removed, skipped, failed}}.

Exit codes: 0 done, 1 some uploads could not be imported (the rest were),
2 bad command line, Openfire files or configuration (nothing was changed).`;

/** Names in this repository's own folder: passed over when it is also the plugin's folder. */
const OWN_LAYOUT = new Set(['files', 'tmp', 'index', 'locks', 'cluster', '.fileupload-repository']);

interface ImportOptions {
  repo?: string;
  properties?: string;
  link?: boolean;
  move?: boolean;
  copy?: boolean;
  dryRun?: boolean;
}

/**
 * Registers `fileupload import openfire OPENFIRE_HOME`.
 *
 * @example
 * registerImport(program);
 */
export function registerImport(program: Command): void {
  const imp = program.command('import').description('take over another service’s configuration and uploads');
  imp
    .command('openfire')
    .description('import the Openfire HTTP File Upload plugin’s properties and stored uploads')
    .argument('<OPENFIRE_HOME>', 'the Openfire folder that holds conf/openfire.xml')
    .option('--repo <dir>', 'the plugin’s repository folder, when its fileRepo does not say (or is elsewhere now)')
    .option('--properties <file>', 'a SQL dump of Openfire’s ofProperty table (PostgreSQL or MySQL)')
    .option('--copy', 'copy the plugin’s files, leaving them in place (the default)')
    .option('--move', 'remove each plugin file once its copy is published')
    .addOption(new Option('--link').hideHelp())
    .option('-n, --dry-run', 'show what would be written and imported, and change nothing')
    .addHelpText('after', HELP)
    .action(async (home: string, opts: ImportOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      if (opts.link)
        throw new CliError(
          '--link is not offered: every upload here starts with a metadata header, so a plugin file cannot be shared as it is; --move takes the files over one at a time (the extra disk is one file), --copy leaves them in place',
          ExitCode.Usage,
        );
      if (opts.move && opts.copy) throw new CliError('--move or --copy, not both', ExitCode.Usage);
      await runImport(home, opts, g.config, g.json);
    });
}

async function runImport(home: string, opts: ImportOptions, configFile: string, json: boolean): Promise<void> {
  const dryRun = opts.dryRun === true;
  const mode = opts.move ? 'move' : 'copy';
  const [
    { readOpenfireSources, planProperties, pluginFileRepo, applyProperties, OpenfireInstallError },
    { importPluginUploads },
    { OpenfireDecryptError, OpenfireFormatError },
    { ConfigError },
    { loadSettings },
    { clusterLayers },
    { openStorage, RepositoryNotFoundError },
    { RepositoryError },
    { Ledger },
    { ownerToRestore, restoreOwnership },
    { formatSize },
    fs,
    os,
    path,
  ] = await Promise.all([
    import('../import/properties.ts'),
    import('../import/uploads.ts'),
    import('../openfire/errors.ts'),
    import('../config/errors.ts'),
    import('../config/load.ts'),
    import('../cluster/config-layer.ts'),
    import('../repository/open.ts'),
    import('../storage/errors.ts'),
    import('../inventory/ledger.ts'),
    import('../repository/owner.ts'),
    import('../config/units.ts'),
    import('node:fs/promises'),
    import('node:os'),
    import('node:path'),
  ]);
  const usage = (err: unknown): never => {
    if (
      err instanceof OpenfireInstallError ||
      err instanceof OpenfireFormatError ||
      err instanceof OpenfireDecryptError ||
      err instanceof ConfigError ||
      err instanceof RepositoryNotFoundError
    )
      throw new CliError(err.message, ExitCode.Usage);
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
      throw new CliError((err as Error).message, ExitCode.Usage);
    throw err;
  };

  // 1. Read and map everything before anything is written.
  let sources;
  try {
    sources = await readOpenfireSources(home, opts.properties !== undefined ? { dump: opts.properties } : {});
  } catch (err) {
    usage(err);
  }
  sources = sources!;
  const plan = planProperties(sources);
  const notes = plan.notes;
  const source = opts.repo ?? pluginFileRepo(sources);
  // In a bucket, the plugin's folder is only read: fileRepo would name a folder nothing uses.
  let inBucket = false;
  try {
    inBucket = (await loadSettings(configFile, { cluster: clusterLayers })).storage === 's3';
  } catch (err) {
    usage(err);
  }
  const planned = plan.planned.filter((p) => {
    if (!inBucket || !/^plugin\.httpfileupload\.(serverspecific\.)?fileRepo$/.test(p.name)) return true;
    notes.push({ from: p.from, text: 'not written: the uploads live in the S3 bucket; this folder is only read' });
    return false;
  });

  // 2. The configuration as it will be: the changes applied to a private copy first, so a
  //    configuration that would not load is refused before the real file is touched.
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'fileupload-import-'));
  let settings;
  let outcomes;
  try {
    const copy = path.join(scratch, 'openfire.xml');
    for (const [from, to] of [
      [configFile, copy],
      [path.join(path.dirname(configFile), 'security.xml'), path.join(scratch, 'security.xml')],
    ] as const) {
      await fs.copyFile(from, to).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    outcomes = await applyProperties(copy, planned, { dryRun: false });
    settings = await loadSettings(copy, { cluster: clusterLayers });
  } catch (err) {
    usage(err);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  settings = settings!;

  // 3. This repository, opened (serve's layout made when missing) before the file is written.
  //    Run as root, this process reads the plugin's files as root, so what it writes into a
  //    folder another user owns is given to that owner afterwards.
  let opened: Awaited<ReturnType<typeof openStorage>> | undefined;
  let owner: Awaited<ReturnType<typeof ownerToRestore>>;
  if (source !== undefined) {
    const st = await fs.stat(source).catch(() => undefined);
    if (!st?.isDirectory())
      throw new CliError(
        `the plugin's repository ${source} is not a folder${opts.repo === undefined ? ' (its fileRepo): give the folder with --repo DIR' : ''}`,
        ExitCode.Usage,
      );
    if (settings.storage === 'fs') {
      // The folder is the admin's to make (owner, mode, file system), as for serve.
      const where = settings.fileRepo;
      if (where === undefined)
        throw new CliError(
          'plugin.httpfileupload.fileRepo is set neither in the configuration nor by the plugin: set where the uploads go first (fileupload config set fileRepo /var/lib/fileupload)',
          ExitCode.Usage,
        );
      if (!(await fs.stat(where).catch(() => undefined))?.isDirectory())
        throw new CliError(
          `the repository ${where} is not a folder: create it first (install -d -o fileupload -m 0750 ${where})`,
          ExitCode.Usage,
        );
    }
    if (!dryRun) owner = await ownerToRestore(settings);
    try {
      opened = await openStorage(settings, { create: !dryRun });
    } catch (err) {
      if (!(dryRun && err instanceof RepositoryNotFoundError)) {
        if (err instanceof RepositoryError) throw new CliError(err.message, ExitCode.Usage);
        usage(err);
      }
    }
  }
  if (!dryRun) {
    try {
      outcomes = await applyProperties(configFile, planned, { dryRun: false });
    } catch (err) {
      await opened?.store.close();
      if (owner !== undefined && settings.fileRepo !== undefined) await restoreOwnership(settings.fileRepo, owner);
      usage(err);
    }
  }
  outcomes = outcomes!;

  // 4. The uploads.
  let uploads;
  if (source !== undefined) {
    const sameFolder =
      settings.storage === 'fs' &&
      settings.fileRepo !== undefined &&
      path.resolve(settings.fileRepo) === path.resolve(source);
    // A large repository takes a while: a terminal sees the count go up.
    const tty = process.stderr.isTTY === true;
    let seen = 0;
    try {
      const result = await importPluginUploads({
        source,
        store: opened?.store,
        ledger: opened && !dryRun ? new Ledger(opened.index) : undefined,
        mode,
        dryRun,
        ...(sameFolder ? { ignore: OWN_LAYOUT } : {}),
        ...(tty && !dryRun
          ? { onUpload: () => void process.stderr.write(`\r\x1b[Kimport: ${++seen} uploads done`) }
          : {}),
      });
      uploads = {
        source,
        repository: opened?.location ?? settings.fileRepo ?? null,
        mode,
        ...result,
      };
    } finally {
      if (tty && seen > 0) process.stderr.write('\r\x1b[K');
      await opened?.store.close();
      if (owner !== undefined && settings.fileRepo !== undefined) await restoreOwnership(settings.fileRepo, owner);
    }
  }

  // 5. The report.
  const shown = (o: { value: string; secret: boolean }): string => (o.secret ? '(hidden)' : o.value);
  // Under --json a property's value is typed like everywhere (see output.ts), its text beside it.
  const { lookupProperty } = await import('../config/catalogue.ts');
  const typed = (o: { name: string; value: string; secret: boolean }) => {
    const property = lookupProperty(o.name)?.property;
    const text = shown(o);
    return { value: property && !o.secret ? typedValue(property, text) : text, text };
  };
  const quoted = (text: string): string => (/[\x00-\x1f\x7f]/.test(text) ? JSON.stringify(text) : text);
  if (json) {
    printJson({
      dryRun,
      read: sources.read,
      config: configFile,
      properties: outcomes.map((o) => ({ ...o, ...typed(o), secret: undefined })),
      notes,
      uploads: uploads ?? null,
    });
  } else {
    const out: string[] = [];
    const would = (done: string, todo: string): string => (dryRun ? todo : done);
    out.push(`import openfire${dryRun ? ' (dry run: nothing is changed)' : ''}: read ${sources.read.join(', ')}`);
    out.push(`properties → ${configFile}:`);
    for (const o of outcomes) {
      const verb = o.action === 'set' ? would('set', 'would set') : o.action === 'kept' ? 'kept' : 'unchanged';
      out.push(
        `  ${verb.padEnd(10)} ${o.name} = ${quoted(shown(o))}  (from ${o.from})` +
          (o.action === 'kept' ? `: the file has ${quoted(o.current ?? '')}, left as it is` : '') +
          (o.note && o.action !== 'kept' ? ` — ${o.note}` : ''),
      );
    }
    if (outcomes.length === 0) out.push('  none');
    for (const n of notes) out.push(`  ${n.from}: ${n.text}`);
    if (uploads) {
      out.push(`uploads ${uploads.source} → ${uploads.repository ?? '(no repository)'} (${mode}):`);
      out.push(
        `  ${uploads.found} found, ${uploads.imported} ${would('imported', 'to import')} (${formatSize(uploads.importedBytes)}), ${uploads.already} already imported` +
          (mode === 'move' ? `, ${uploads.removed} plugin files ${would('removed', 'to remove')}` : '') +
          (uploads.failed.length ? `, ${uploads.failed.length} failed` : ''),
      );
      for (const f of uploads.failed) out.push(`  failed ${f.id}: ${f.reason}`);
      for (const s of uploads.skipped) out.push(`  skipped ${JSON.stringify(s.name)}: ${s.reason}`);
    } else {
      out.push(
        'uploads: none imported — the plugin has no fileRepo (it kept uploads in a temporary folder); give its folder with --repo DIR',
      );
    }
    process.stdout.write(out.join('\n') + '\n');
  }
  if (uploads && uploads.failed.length > 0)
    fail('failed', `${uploads.failed.length} uploads could not be imported`, ExitCode.Failure);
}
