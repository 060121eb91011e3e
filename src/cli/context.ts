import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH } from '../config/file.ts';

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
