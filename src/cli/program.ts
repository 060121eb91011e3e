import { Command, CommanderError, Option } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { DEFAULT_CONFIG_PATH } from '../config/default-path.ts';
import { versionText } from '../version.ts';
import { registerCommands } from './commands.ts';
import { requireConfigFile } from './context.ts';
import { beginOutput, finishOutput, jsonCommander, jsonRequested, printError } from './output.ts';

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
    .option('--json', 'JSON output, and errors as one JSON object on stderr (the same for every subcommand)')
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
  const json = jsonRequested(argv);
  beginOutput(json);
  const program = buildProgram();
  if (json) jsonCommander(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    const code = typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
    finishOutput(code);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here as "errors" with exit code 0.
      if (err.exitCode === 0) return ExitCode.Ok;
      // Commander printed its own message as text; under --json it printed nothing.
      if (json) printError({ code: 'usage', message: commanderMessage(err), exitCode: ExitCode.Usage });
      return ExitCode.Usage;
    }
    if (err instanceof CliError) {
      printError({ code: err.code, message: err.message, exitCode: err.exitCode });
      return err.exitCode;
    }
    printError({
      code: 'internal',
      message: err instanceof Error ? err.message : String(err),
      exitCode: ExitCode.Failure,
    });
    // An unexpected failure is a bug: FILEUPLOAD_DEBUG=1 shows where it happened.
    if (process.env.FILEUPLOAD_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return ExitCode.Failure;
  }
}

/** Commander's message without its "error: " prefix; a command run without its subcommand says so. */
function commanderMessage(err: CommanderError): string {
  if (err.code === 'commander.help') return 'a subcommand is missing (run with --help for usage)';
  return err.message.replace(/^error: /, '');
}
