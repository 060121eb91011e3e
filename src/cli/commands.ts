import type { Command } from 'commander';
import { registerConfig } from './config.ts';
import { registerServe } from './serve.ts';
import { registerStatus } from './status.ts';

/**
 * The subcommands `fileupload` offers. Only commands that work are registered here:
 * a subcommand appears in --help the day it is finished.
 */
export function registerCommands(program: Command): void {
  // Subcommands register here as they land.
  registerServe(program);
  registerStatus(program);
  registerConfig(program);
}
