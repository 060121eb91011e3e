import { Command, CommanderError, Option } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { DEFAULT_CONFIG_PATH } from '../config/default-path.ts';
import { versionText } from '../version.ts';
import { registerCommands } from './commands.ts';
import { requireConfigFile } from './context.ts';

const EXIT_CODES_HELP = `
Exit codes (the same for every subcommand):
  0  success
  1  failure (the command ran, something did not work)
  2  usage or configuration error (nothing was changed)
  3  another process holds the lock (purge, slots rm)
  4  the running serve could not be reached (status)`;

/**
 * Builds the `fileupload` command tree. Subcommands load their heavy dependencies lazily,
 * so `--help` stays fast.
 *
 * @example
 * await buildProgram().parseAsync(process.argv);
 */
export function buildProgram(): Command {
  const program = new Command('fileupload')
    .description('XEP-0363 HTTP File Upload: an XMPP component and its HTTP endpoint, in one binary')
    .addOption(
      new Option('-c, --config <file>', 'configuration file (openfire.xml format)')
        .env('FILEUPLOAD_CONFIG')
        .default(DEFAULT_CONFIG_PATH),
    )
    .option('--json', 'machine-readable JSON output where the output is data')
    .version(versionText(), '-V, --version', 'print the version and the embedded Node version')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride()
    .hook('preAction', (_root, action) => requireConfigFile(action));
  registerCommands(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it in-process. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here as "errors" with exit code 0.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`fileupload: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`fileupload: ${err instanceof Error ? err.message : String(err)}\n`);
    // An unexpected failure is a bug: FILEUPLOAD_DEBUG=1 shows where it happened.
    if (process.env.FILEUPLOAD_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return ExitCode.Failure;
  }
}
