/**
 * Exit codes shared by every subcommand. Scripts depend on these: never renumber.
 *
 * @example
 * process.exitCode = ExitCode.Usage;
 */
export const ExitCode = {
  /** Everything asked for was done. */
  Ok: 0,
  /** The command ran but failed (a check failed, a deletion failed, a server error). */
  Failure: 1,
  /** Bad command line or bad configuration; nothing was changed. */
  Usage: 2,
  /** Another process holds the lock (purge, slots rm); try again later. */
  Locked: 3,
  /** The running `serve` could not be reached (status). */
  Unavailable: 4,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that carries the exit code the CLI should end with and a message for stderr. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.Failure) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
