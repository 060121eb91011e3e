import type { Command } from 'commander';

/**
 * The subcommands `fileupload` offers. Only commands that work are registered here:
 * a subcommand appears in --help the day it is finished.
 */
export function registerCommands(_program: Command): void {
  // Subcommands register here as they land, e.g. registerConfig(program).
}
