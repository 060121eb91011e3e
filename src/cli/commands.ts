import type { Command } from 'commander';
import { registerConfig } from './config.ts';
import { registerServe } from './serve.ts';
import { registerPurge } from './purge.ts';
import { registerSlots } from './slots.ts';
import { registerStatus } from './status.ts';
import { registerDoctor } from './doctor.ts';
import { registerCompletion } from './completion.ts';
import { registerImport } from './import.ts';
import { registerBlocklist } from './blocklist.ts';

/**
 * The subcommands `fileupload` offers. Only commands that work are registered here:
 * a subcommand appears in --help the day it is finished.
 */
export function registerCommands(program: Command): void {
  // Subcommands register here as they land.
  registerServe(program);
  registerConfig(program);
  registerPurge(program);
  registerSlots(program);
  registerStatus(program);
  registerDoctor(program);
  registerImport(program);
  registerBlocklist(program);
  registerCompletion(program);
}
