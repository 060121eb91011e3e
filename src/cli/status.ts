import { Option, type Command } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';

const HELP = `
Reads the admin API of the running serve: the unix socket adminSocket when set, else
http://127.0.0.1:<adminPort> (default 7444); --url overrides both.

On a terminal: a live view (q quit, p pause). Otherwise, or with --once: one snapshot
as text. --json prints the /status document (see fileupload-status(1)).

Exit codes: 0 shown, 2 configuration error or admin API turned off,
4 serve is not running or its admin API does not answer.`;

interface StatusOptions {
  url?: string;
  interval: string;
  once?: boolean;
}

/**
 * Registers `fileupload status [--url URL] [--interval S] [--once]`.
 *
 * @example
 * registerStatus(program);
 */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("show the running serve's live state: connection, uploads in flight, throughput, repository, errors")
    .option('--url <url>', 'admin API to read: http://127.0.0.1:PORT or unix:/path/to/socket (default: from the configuration)')
    .addOption(new Option('-i, --interval <seconds>', 'refresh interval of the live view').default('1'))
    .option('--once', 'print one text snapshot even on a terminal')
    .addHelpText('after', HELP)
    .action(async (opts: StatusOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      const interval = Number(opts.interval);
      if (!Number.isFinite(interval) || interval < 0.1 || interval > 3600) {
        throw new CliError(`--interval "${opts.interval}" is not a number of seconds from 0.1 to 3600`, ExitCode.Usage);
      }
      const client = await import('../status/admin-client.ts');
      const target = await resolveTarget(opts.url, g.config, client);
      const url = client.adminUrl(target);
      const load = () => client.fetchStatus(target);
      let first;
      try {
        first = await load();
      } catch (err) {
        if (err instanceof client.AdminUnreachableError) {
          throw new CliError(`${err.message}. Start it with "fileupload serve", or check adminPort/adminSocket (or --url).`, ExitCode.Unavailable);
        }
        throw err;
      }
      if (g.json) {
        process.stdout.write(`${JSON.stringify(first, null, 2)}\n`);
        return;
      }
      if (opts.once === true || process.stdout.isTTY !== true) {
        const { formatSnapshotText } = await import('../status/format.ts');
        process.stdout.write(formatSnapshotText(first));
        return;
      }
      // Standard output is a terminal, so somebody is watching: Ink would draw only the last
      // frame if it believed it ran in CI (the CI variable leaks into terminals on build hosts).
      process.env.CI = 'false';
      process.env.CONTINUOUS_INTEGRATION = 'false';
      // In the single binary, yoga's wasm initialises asynchronously: wait before ink renders.
      const yoga = await import('yoga-layout');
      await yoga.ready;
      const [{ default: React }, { render }, { StatusApp }] = await Promise.all([import('react'), import('ink'), import('../status/tui.ts')]);
      const app = render(React.createElement(StatusApp, { load, initial: first, intervalMs: Math.round(interval * 1000), source: url }));
      await app.waitUntilExit();
    });
}

async function resolveTarget(url: string | undefined, configFile: string, client: typeof import('../status/admin-client.ts')) {
  if (url !== undefined) {
    try {
      return client.parseAdminUrl(url);
    } catch (err) {
      throw new CliError(`--url: ${(err as Error).message}`, ExitCode.Usage);
    }
  }
  // Only the two properties that say where serve listens: status must work even when some
  // other property in the file is invalid (say, right after a refused SIGHUP reload).
  const [{ loadLayers }, { Resolver }, { catalogue }, { ConfigError }] = await Promise.all([
    import('../config/load.ts'),
    import('../config/resolve.ts'),
    import('../config/catalogue.ts'),
    import('../config/errors.ts'),
  ]);
  let settings;
  try {
    const resolver = new Resolver(await loadLayers(configFile));
    const value = <K extends 'adminPort' | 'adminSocket'>(k: K) => {
      const text = resolver.resolve(k).text ?? resolver.defaultValue(k);
      try {
        return text === undefined ? undefined : catalogue[k].parse(text);
      } catch (err) {
        throw new CliError(`${catalogue[k].name}: ${(err as Error).message} (or pass --url)`, ExitCode.Usage);
      }
    };
    settings = { adminPort: (value('adminPort') as number | undefined) ?? 0, adminSocket: value('adminSocket') as string | undefined };
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`${err.message} (or pass --url)`, ExitCode.Usage);
    throw err;
  }
  const target = client.adminClientTarget(settings);
  if (!target) {
    throw new CliError(
      `serve's admin API is turned off in ${configFile} (adminPort is 0 and adminSocket is not set); ` +
        'set one with "fileupload config set adminPort 7444" and restart serve, or pass --url',
      ExitCode.Usage,
    );
  }
  return target;
}
