import type { Command } from 'commander';
import { globalOptions } from './context.ts';
import { CliError, ExitCode } from './exit-codes.ts';

const HELP = `
Limits on by default (config list shows each; 0 or less turns a size or count off):
  connections       maxConnections (from the open-file limit), maxConnectionsPerAddress
                    (a quarter of it, at most 256; trustedProxies behind a reverse proxy)
  uploads           one per slot at a time (409); idleTimeout 60s without a byte and
                    minUploadRate 4K (deadline max(60 s, size ÷ rate)) end it with 408
  slot requests     per user: slotRequestRate 60/min, slotRequestBurst 20,
                    maxPendingSlots 50, dailyQuota 10 × maxFileSize
  admin API         upload ids and names only with the token derived from slotSecret or
                    over adminSocket (0600)
Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the configuration and TLS.
More: man fileupload-serve, SECURITY.md.
`;

/**
 * `fileupload serve`: the XMPP component and the HTTP endpoint in the foreground, logging JSON
 * lines on stdout. SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the configuration and TLS.
 *
 * @example
 * registerServe(program);
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the XMPP component and the HTTP upload endpoint (foreground, JSON logs on stdout)')
    .addHelpText('after', HELP)
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = globalOptions(cmd);
      const [{ startServe, ServeConfigError }, { createLogger }] = await Promise.all([
        import('../serve/index.ts'),
        import('../log.ts'),
      ]);
      const logger = createLogger({ service: 'fileupload' });
      let serve;
      try {
        serve = await startServe({ configFile: config, logger });
      } catch (err) {
        if (err instanceof ServeConfigError) {
          logger.error('cannot start', { err });
          throw new CliError(err.message, ExitCode.Usage, 'invalid-config');
        }
        throw err;
      }
      const running = serve;
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info('signal', { signal });
          void running.stop().then(() => resolve());
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', () => void running.reload());
      });
    });
}
