/**
 * The scripting convention of every subcommand, in one place. Under --json:
 *
 * - stdout holds one JSON document per command (`slots ls` and `slots rm` stream NDJSON, one
 *   object per line; serve always logs NDJSON);
 * - values are typed: numbers as numbers, booleans as booleans, sizes in bytes, durations in
 *   seconds, instants as ISO 8601 UTC strings, `null` for unset;
 * - every line on stderr is a JSON object: `{"note": …}` or `{"warning": …}` while the command
 *   runs, and, when the exit code is not 0, `{"error": {"code", "message", "exitCode"}}` last,
 *   with a stable code (see ERROR_CODES).
 *
 * Without --json the same functions print the text forms (`fileupload: note: …`).
 */
import type { Command } from 'commander';
import type { Property } from '../config/catalogue.ts';
import { appVersion, versionText } from '../version.ts';
import { errorCodeOf, type ErrorCode } from './exit-codes.ts';

/** What --json prints on stderr for a failure. */
export interface ErrorObject {
  code: ErrorCode;
  message: string;
  exitCode: number;
}

/** Whether this run prints JSON, and the failure a command ended with without throwing. */
const state: { json: boolean; failure: ErrorObject | undefined } = { json: false, failure: undefined };

/**
 * True when the command line asks for JSON: --json before any `--`. Read from the words rather
 * than from commander, so that an error commander finds before it reaches --json is JSON too.
 *
 * @example
 * jsonRequested(['config', 'get', 'x', '--json']); // true
 */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Starts a run: whether it prints JSON; forgets the failure of an earlier run in the same process.
 *
 * @example
 * beginOutput(jsonRequested(argv));
 */
export function beginOutput(json: boolean): void {
  state.json = json;
  state.failure = undefined;
}

/**
 * Prints the command's JSON document on stdout (one line).
 *
 * @example
 * printJson({ name: 'plugin.httpfileupload.maxFileSize', value: 52428800 });
 */
export function printJson(doc: unknown): void {
  process.stdout.write(JSON.stringify(doc) + '\n');
}

/**
 * A note or warning on stderr: a `{"note": …}` line under --json, `fileupload: note: …` otherwise.
 *
 * @example
 * notice('note', 'restart serve for xmppPort to take effect');
 */
export function notice(kind: 'note' | 'warning', text: string): void {
  process.stderr.write(state.json ? JSON.stringify({ [kind]: text }) + '\n' : `fileupload: ${kind}: ${text}\n`);
}

/**
 * Ends the command with a failure it has already reported in its text output (a failed check, an
 * unset property): sets the exit code, and under --json the error object printed at the end.
 *
 * @example
 * fail('unset', 'maxAge is neither set nor has a default', ExitCode.Failure);
 */
export function fail(code: ErrorCode, message: string, exitCode: number): void {
  process.exitCode = exitCode;
  state.failure = { code, message, exitCode };
}

/**
 * Prints a failure on stderr: `{"error": …}` under --json, `fileupload: MESSAGE` otherwise.
 *
 * @example
 * printError({ code: 'usage', message: "unknown option '--bogus'", exitCode: 2 });
 */
export function printError(error: ErrorObject): void {
  process.stderr.write(state.json ? JSON.stringify({ error }) + '\n' : `fileupload: ${error.message}\n`);
}

/**
 * Under --json, the error object of a command that ended with a non-zero exit code without
 * throwing (nothing without --json: the command printed its own text).
 *
 * @example
 * finishOutput(typeof process.exitCode === 'number' ? process.exitCode : 0);
 */
export function finishOutput(exitCode: number): void {
  if (!state.json || exitCode === 0) return;
  printError(
    state.failure?.exitCode === exitCode
      ? state.failure
      : { code: errorCodeOf(exitCode), message: `exit code ${exitCode}`, exitCode },
  );
}

/**
 * Hands commander's own output to the convention under --json: its error messages (unknown
 * option, missing argument) are not printed, since the caller prints them as the error object,
 * and --version prints `{"name", "version", "node"}`. Help stays text.
 *
 * @example
 * if (json) jsonCommander(program);
 */
export function jsonCommander(program: Command): void {
  const version = `${versionText()}\n`;
  const walk = (cmd: Command): void => {
    cmd.configureOutput({
      writeErr: () => {},
      outputError: () => {},
      writeOut: (text) => {
        if (cmd === program && text === version)
          printJson({ name: 'fileupload', version: appVersion, node: process.version });
        else process.stdout.write(text);
      },
    });
    for (const sub of cmd.commands) walk(sub);
  };
  walk(program);
}

/**
 * A configured text as a typed JSON value: sizes in bytes, durations in seconds, ports and counts
 * as numbers, booleans, lists as arrays, anything else as the normalised string. A size or count
 * limit of 0 or less (unlimited) is -1. `null` for no text, and for a text that breaks the rule
 * (its row says why); a masked secret stays the mask.
 *
 * @example
 * typedValue(catalogue.slotLifetime, '5m');  // 300
 * typedValue(catalogue.maxFileSize, '50M');  // 52428800
 * typedValue(catalogue.cluster, 'TRUE');     // true
 */
export function typedValue(p: Property, text: string | null, mask?: string): unknown {
  if (text === null) return null;
  if (mask !== undefined && text === mask) return mask;
  let value: unknown;
  try {
    value = p.parse(text.trim());
  } catch {
    return null;
  }
  return p.type === 'duration' && typeof value === 'number' ? value / 1000 : value;
}
