/**
 * Exit codes shared by every subcommand, and the stable error codes that `--json` prints beside
 * them. Scripts depend on both: never renumber, never rename.
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

/**
 * The `code` of the error object `--json` prints on stderr, with the exit code each goes with.
 * Listed in the README ("Scripting") and fileupload(1).
 */
export const ERROR_CODES = {
  /** The command line is wrong: unknown option or subcommand, missing or malformed argument. */
  usage: ExitCode.Usage,
  /** The configuration file does not exist. */
  'config-not-found': ExitCode.Usage,
  /** The configuration cannot be used: a syntax error, invalid values, missing required properties. */
  'invalid-config': ExitCode.Usage,
  /** No property has this name. */
  'unknown-property': ExitCode.Usage,
  /** A value breaks its property's rule (config set), or a configured one does (config get/list). */
  'invalid-value': ExitCode.Usage,
  /** The change would leave the configuration unusable (config set cluster true without a shared place). */
  precondition: ExitCode.Usage,
  /** config get: the property is neither set nor has a default. */
  unset: ExitCode.Failure,
  /** doctor: a check failed. */
  'check-failed': ExitCode.Failure,
  /** status: serve runs, but degraded. */
  degraded: ExitCode.Failure,
  /** slots rm: an id names no upload or pending slot. */
  'not-found': ExitCode.Failure,
  /** The command ran but something did not work (a deletion, an import, a file that cannot be read). */
  failed: ExitCode.Failure,
  /** Another process holds the lock. */
  'lock-held': ExitCode.Locked,
  /** status: serve's admin API does not answer. */
  'not-running': ExitCode.Unavailable,
  /** An unexpected failure: a bug (FILEUPLOAD_DEBUG=1 shows where). */
  internal: ExitCode.Failure,
} as const satisfies Record<string, ExitCode>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The error code of a failure that names none: the plain meaning of its exit code. */
export function errorCodeOf(exitCode: number): ErrorCode {
  if (exitCode === ExitCode.Usage) return 'usage';
  if (exitCode === ExitCode.Locked) return 'lock-held';
  if (exitCode === ExitCode.Unavailable) return 'not-running';
  return 'failed';
}

/** An error that carries the exit code the CLI should end with, its stable code, and a message for stderr. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: ErrorCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.Failure, code: ErrorCode = errorCodeOf(exitCode)) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
  }
}
