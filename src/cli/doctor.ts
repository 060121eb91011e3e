import { Option, type Command } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { fail } from './output.ts';

const HELP = `
Checks, in this order (one line each: pass, warn, fail or skip, with the fix to try):
  config           the file parses, every value is valid, domain and sharedSecret are set
  repository       fileRepo exists and is writable
  same-filesystem  tmp/ and files/ are on the repository's filesystem (atomic publish)
  free-space       room for uploads of maxFileSize
  ownership        everything under fileRepo belongs to the folder's owner (the user serve
                   runs as); looks at 100000 entries at most
  slot-secret      slotSecret is set and strong
  tls              built-in TLS: certificate readable, matches the key, not expiring, names
                   announcedWebHost; without it, whether clients accept the announced URLs
  xmpp             the XMPP server accepts the component (a real XEP-0114 handshake; while
                   serve runs, its live state from the admin API instead)
  web-port         webHost:webPort is free, or serve is listening on it
  announced-url    a probe PUT and GET through the announced protocol://host:port/root
                   (through any reverse proxy); needs a running serve
  clock            the clock is plausible, agrees with serve and the announced server, NTP
  user-upload      with --as: c2s login, disco, slot, PUT, GET, same sha256 — the path of a
                   real client through the XMPP server

The probe uploads are removed from the repository afterwards (when it is local), and are
ephemeral uploads that expire within 10 minutes anyway.

Run as root on a repository folder another user owns, doctor reads the configuration and the
TLS files as root, then becomes that user (one line on stderr says so) for every other check,
so its probes leave nothing in the repository the service user cannot write.

--json prints {"checks": [{check, status, message, fix?}…], "summary": {pass, warn, fail, skip, ok}}.

Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 2 the configuration
cannot be read or has invalid values (only the config check ran), or bad arguments.`;

/**
 * Registers `fileupload doctor [--as JID --password PW]`.
 *
 * @example
 * registerDoctor(program);
 */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the configuration, the repository, the XMPP server, the announced URL and TLS; say what to fix')
    .option('--as <jid>', 'also upload as this user through the XMPP server (c2s login, disco, slot, PUT, GET)')
    .addOption(new Option('--password <password>', 'password of the --as account').env('FILEUPLOAD_DOCTOR_PASSWORD'))
    .option('--password-file <file>', 'read the password of the --as account from this file (first line)')
    .option('--xmpp-c2s-host <host>', 'c2s host for --as (default: SRV record of the JID domain, else the domain)')
    .option('--xmpp-c2s-port <port>', 'c2s port for --as (default 5222)')
    .option('--insecure-xmpp-tls', 'do not verify the XMPP server certificate after STARTTLS (--as)')
    .option('--timeout <duration>', 'timeout of each network step, e.g. 4s', '4s')
    .addHelpText('after', HELP)
    .action(async (opts: DoctorFlags, cmd: Command) => {
      const g = globalOptions(cmd);
      const [
        { runDoctor },
        { formatJson, formatReport },
        { parseBareJid },
        { parseDuration },
        { actAsRepositoryOwner },
      ] = await Promise.all([
        import('../doctor/run.ts'),
        import('../doctor/format.ts'),
        import('../doctor/user-path.ts'),
        import('../config/units.ts'),
        import('../repository/owner.ts'),
      ]);
      let timeoutMs: number;
      try {
        timeoutMs = parseDuration(opts.timeout);
      } catch (err) {
        throw new CliError(`--timeout: ${(err as Error).message}`, ExitCode.Usage);
      }
      // Above 10 minutes is a typo, and past 2^31 ms a timer would fire at once (a false failure).
      if (timeoutMs < 100 || timeoutMs > 600_000)
        throw new CliError('--timeout must be from 100ms to 10m', ExitCode.Usage);

      let as: Parameters<typeof runDoctor>[0]['as'];
      if (opts.as !== undefined) {
        const jid = parseBareJid(opts.as);
        if (jid === undefined) throw new CliError(`--as: "${opts.as}" is not a bare JID (user@domain)`, ExitCode.Usage);
        const password = await readPassword(opts);
        let port: number | undefined;
        if (opts.xmppC2sPort !== undefined) {
          port = Number(opts.xmppC2sPort);
          if (!/^\d+$/.test(opts.xmppC2sPort) || port < 1 || port > 65535)
            throw new CliError(`--xmpp-c2s-port: "${opts.xmppC2sPort}" is not a port number`, ExitCode.Usage);
        }
        as = { jid, password, verifyTls: opts.insecureXmppTls !== true };
        if (opts.xmppC2sHost !== undefined) as.host = opts.xmppC2sHost;
        if (port !== undefined) as.port = port;
      } else if (
        opts.password !== undefined ||
        opts.passwordFile !== undefined ||
        opts.xmppC2sHost !== undefined ||
        opts.xmppC2sPort !== undefined
      ) {
        // Only complain about flags given on the command line, not the password from the environment.
        if (
          opts.passwordFile !== undefined ||
          opts.xmppC2sHost !== undefined ||
          opts.xmppC2sPort !== undefined ||
          cmd.getOptionValueSource('password') === 'cli'
        ) {
          throw new CliError('--password, --password-file and --xmpp-c2s-* go with --as JID', ExitCode.Usage);
        }
      }

      const report = await runDoctor({
        configFile: g.config,
        timeoutMs,
        ...(as ? { as } : {}),
        // Run as root, the probes write (and the checks look) as the repository's owner.
        beforeRepository: (settings) => actAsRepositoryOwner(settings),
      });
      const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
      process.stdout.write(
        g.json ? formatJson(report.results, report.summary) : formatReport(report.results, report.summary, colour),
      );
      const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.check);
      if (report.configUnusable) fail('invalid-config', 'the configuration cannot be used', ExitCode.Usage);
      else if (!report.summary.ok) fail('check-failed', `failed: ${failed.join(', ')}`, ExitCode.Failure);
      else process.exitCode = ExitCode.Ok;
    });
}

interface DoctorFlags {
  as?: string;
  password?: string;
  passwordFile?: string;
  xmppC2sHost?: string;
  xmppC2sPort?: string;
  insecureXmppTls?: boolean;
  timeout: string;
}

async function readPassword(opts: DoctorFlags): Promise<string> {
  if (opts.passwordFile !== undefined) {
    const { readFile } = await import('node:fs/promises');
    try {
      const text = await readFile(opts.passwordFile, 'utf8');
      return text.split(/\r?\n/)[0] ?? '';
    } catch (err) {
      throw new CliError(
        `--password-file: cannot read ${opts.passwordFile}: ${(err as Error).message}`,
        ExitCode.Usage,
      );
    }
  }
  if (opts.password !== undefined && opts.password !== '') return opts.password;
  throw new CliError(
    '--as needs the password: --password PW, --password-file FILE or FILEUPLOAD_DOCTOR_PASSWORD',
    ExitCode.Usage,
  );
}
