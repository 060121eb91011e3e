import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH } from '../config/default-path.ts';
import { errCode } from '../errno.ts';
import { CliError, ExitCode } from './exit-codes.ts';

/** Options every subcommand understands (declared once on the root program). */
export interface GlobalOptions {
  /** Path of the openfire.xml-compatible configuration file. */
  config: string;
  /** Machine-readable output: stable JSON on stdout. */
  json: boolean;
}

/**
 * Reads the global options as seen from any subcommand.
 *
 * @example
 * .action(async (opts, cmd) => { const { config, json } = globalOptions(cmd); })
 */
export function globalOptions(cmd: Command): GlobalOptions {
  const all = cmd.optsWithGlobals() as { config?: string; json?: boolean };
  return {
    config: all.config ?? process.env.FILEUPLOAD_CONFIG ?? DEFAULT_CONFIG_PATH,
    json: all.json === true,
  };
}

/**
 * Subcommands that run without the configuration file: `config set` and `import openfire` create
 * it, `config check` reports a missing file in its own output, and `completion` never reads it.
 */
const WITHOUT_FILE = new Set(['config set', 'import openfire', 'config check', 'completion']);

/**
 * Refuses to run a subcommand whose configuration file does not exist (exit 2), whether the path
 * came from --config, FILEUPLOAD_CONFIG or the default: a typo must not silently mean "all
 * defaults", and serve cannot run without a file anyway. `status --url` may run without the
 * default file (it reads it only for the admin token), but not with a missing file it was given.
 * Any other error reading the file (EACCES…) is left to the subcommand, which explains it.
 *
 * @example
 * program.hook('preAction', (_root, action) => requireConfigFile(action));
 */
export function requireConfigFile(action: Command): void {
  const path: string[] = [];
  for (let c: Command | null = action; c?.parent; c = c.parent) path.unshift(c.name());
  if (WITHOUT_FILE.has(path.join(' '))) return;
  const root = rootOf(action);
  const source = root.getOptionValueSource('config');
  const given = source !== undefined && source !== 'default';
  if (!given && path[0] === 'status' && action.opts().url !== undefined) return;
  const { config } = globalOptions(action);
  try {
    statSync(config);
  } catch (err) {
    if (errCode(err) !== 'ENOENT' && errCode(err) !== 'ENOTDIR') return;
    const hint = given
      ? ''
      : ` (the default path: give --config FILE or set FILEUPLOAD_CONFIG, or create it with "fileupload config set domain upload.example.org")`;
    throw new CliError(`${config}: file not found${hint}`, ExitCode.Usage, 'config-not-found');
  }
}

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}
