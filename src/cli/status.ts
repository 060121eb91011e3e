import { Option, type Command } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { errCode } from '../errno.ts';
import { fail, notice } from './output.ts';

const HELP = `
Reads the admin API of the running serve: the unix socket adminSocket when set, else
http://127.0.0.1:<adminPort> (default 7444); --url overrides both.

On a terminal: a live view (q quit, p pause). Otherwise, or with --once: one snapshot
as text. --json prints the /status document (see fileupload-status(1)).

File names and uploaders of running uploads are shown to whoever can read the
configuration (the service user, root): status sends the admin token derived from
slotSecret (or uses the unix socket). Anybody else sees the counters only.

Exit codes (like systemctl is-active; the live view exits 0):
  0  healthy: XMPP online (or standby on a cluster node), no internal error
     in the last 5 minutes, no restart pending
  1  degraded: serve runs, but one of these is not so (the reasons are shown)
  2  configuration error, or the admin API is turned off
  4  not running: serve's admin API does not answer`;

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
    .option(
      '--url <url>',
      'admin API to read: http://127.0.0.1:PORT or unix:/path/to/socket (default: from the configuration)',
    )
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
      const reader = await resolveReader(opts.url, g.config, client);
      const { target } = reader;
      const url = client.adminUrl(target);
      let token = reader.token;
      const load = async () => {
        try {
          return await client.fetchStatus(target, token !== undefined ? { token } : {});
        } catch (err) {
          if (!(err instanceof client.AdminUnreachableError) || err.status !== 401 || token === undefined) throw err;
          // serve runs with another slotSecret than the file has now (or something else listens
          // there): the token was not sent, the counters still show.
          token = undefined;
          reader.note = `the admin token from ${g.config} is not the one serve runs with (was slotSecret changed without a restart? or is something else listening there?): it was not sent, and file names and uploaders are hidden`;
          return client.fetchStatus(target);
        }
      };
      let first;
      try {
        first = await load();
      } catch (err) {
        if (err instanceof client.AdminUnreachableError) {
          const guessed = reader.note !== undefined && opts.url === undefined ? ` (${reader.note})` : '';
          throw new CliError(
            `${err.message}${guessed}. Start it with "fileupload serve", or check adminPort/adminSocket (or --url).`,
            ExitCode.Unavailable,
          );
        }
        throw err;
      }
      if (reader.note !== undefined && first.uploadDetails === false) notice('note', reader.note);
      if (g.json || opts.once === true || process.stdout.isTTY !== true) {
        const { healthOf } = await import('../status/health.ts');
        // A serve older than the verdict: judged by its connection alone.
        const health = first.health ?? healthOf({ xmpp: first.xmpp, recentInternalErrors: 0, restartPending: [] });
        if (g.json) process.stdout.write(`${JSON.stringify(first, null, 2)}\n`);
        else {
          const { formatSnapshotText } = await import('../status/format.ts');
          process.stdout.write(formatSnapshotText(first));
        }
        if (health.status === 'healthy') process.exitCode = ExitCode.Ok;
        else fail('degraded', `serve runs degraded: ${health.reasons.join('; ')}`, ExitCode.Failure);
        return;
      }
      // Standard output is a terminal, so somebody is watching: Ink would draw only the last
      // frame if it believed it ran in CI (the CI variable leaks into terminals on build hosts).
      process.env.CI = 'false';
      process.env.CONTINUOUS_INTEGRATION = 'false';
      // In the single binary, yoga's wasm initialises asynchronously: wait before ink renders.
      const yoga = await import('yoga-layout');
      await yoga.ready;
      const [{ default: React }, { render }, { StatusApp }] = await Promise.all([
        import('react'),
        import('ink'),
        import('../status/tui.ts'),
      ]);
      const app = render(
        React.createElement(StatusApp, { load, initial: first, intervalMs: Math.round(interval * 1000), source: url }),
      );
      await app.waitUntilExit();
    });
}

/** Where to read serve's admin API, and the admin token when this user has one. */
interface Reader {
  target: import('../status/admin-server.ts').AdminTarget;
  token: string | undefined;
  /** Why upload details may be hidden (shown when they are). */
  note?: string;
}

/** The error code when `err` says this user may not read a file; undefined otherwise. */
function unreadable(err: unknown): string | undefined {
  const code = errCode(err);
  return code === 'EACCES' || code === 'EPERM' ? code : undefined;
}

async function resolveReader(
  url: string | undefined,
  configFile: string,
  client: typeof import('../status/admin-client.ts'),
): Promise<Reader> {
  let given: Reader['target'] | undefined;
  if (url !== undefined) {
    try {
      given = client.parseAdminUrl(url);
    } catch (err) {
      throw new CliError(`--url: ${(err as Error).message}`, ExitCode.Usage);
    }
  }
  // Only the properties that say where serve listens and the admin token's key: status must work
  // even when some other property in the file is invalid (say, right after a refused SIGHUP reload).
  const [
    { loadLayers },
    { Resolver, defaultsLayer },
    { catalogue },
    { ConfigError },
    { adminToken },
    { isLoopbackHost },
    { clusterLayers },
  ] = await Promise.all([
    import('../config/load.ts'),
    import('../config/resolve.ts'),
    import('../config/catalogue.ts'),
    import('../config/errors.ts'),
    import('../status/admin-auth.ts'),
    import('../status/admin-server.ts'),
    import('../cluster/config-layer.ts'),
  ]);
  let resolver;
  let note: string | undefined;
  try {
    resolver = new Resolver(await loadLayers(configFile, { cluster: clusterLayers }));
  } catch (err) {
    const code = unreadable(err);
    if (code !== undefined) {
      // Not the service user: the counters are for anyone, the details need the configuration.
      note = `${(err as NodeJS.ErrnoException).path ?? configFile} cannot be read (${code}), so the default address was tried and file names and uploaders are hidden: run as the service user or root`;
      resolver = new Resolver([defaultsLayer()]);
    } else if (given !== undefined) {
      return { target: given, token: undefined };
    } else if (err instanceof ConfigError) {
      throw new CliError(`${err.message} (or pass --url)`, ExitCode.Usage, 'invalid-config');
    } else throw err;
  }
  const secret = resolver.resolve('slotSecret').text;
  // The token goes to loopback and the socket only: a --url elsewhere may not be serve.
  const mayGetToken = (t: Reader['target']) => 'socketPath' in t || isLoopbackHost(t.host);
  const tokenFor = (t: Reader['target']) => (secret !== undefined && mayGetToken(t) ? adminToken(secret) : undefined);
  if (given !== undefined) return { target: given, token: tokenFor(given), ...(note !== undefined ? { note } : {}) };
  const value = <K extends 'adminPort' | 'adminSocket'>(k: K) => {
    const text = resolver.resolve(k).text ?? resolver.defaultValue(k);
    try {
      return text === undefined ? undefined : catalogue[k].parse(text);
    } catch (err) {
      throw new CliError(
        `${catalogue[k].name}: ${(err as Error).message} (or pass --url)`,
        ExitCode.Usage,
        'invalid-config',
      );
    }
  };
  const settings = {
    adminPort: (value('adminPort') as number | undefined) ?? 0,
    adminSocket: value('adminSocket') as string | undefined,
  };
  const target = client.adminClientTarget(settings);
  if (!target) {
    throw new CliError(
      `serve's admin API is turned off in ${configFile} (adminPort is 0 and adminSocket is not set); ` +
        'set one with "fileupload config set adminPort 7444" and restart serve, or pass --url',
      ExitCode.Usage,
      'invalid-config',
    );
  }
  return { target, token: tokenFor(target), ...(note !== undefined ? { note } : {}) };
}
