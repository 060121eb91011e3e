/**
 * Runs `bin/fileupload` as a real process against a configuration file in a temp directory,
 * for the `config` end-to-end tests.
 *
 * @example
 * const t = await configSandbox();
 * const r = t.run(['config', 'get', 'maxFileSize']);
 * await t.cleanup();
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/fileupload', import.meta.url));
export const OPENFIRE_FIXTURE = fileURLToPath(new URL('../../src/config/fixtures/openfire.xml', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ConfigSandbox {
  dir: string;
  /** The configuration file passed with --config. */
  file: string;
  /** Runs `fileupload --config FILE ARGS`. */
  run(args: string[], env?: Record<string, string>): CliRun;
  /** Runs `fileupload ARGS` without --config (for FILEUPLOAD_CONFIG tests). */
  runBare(args: string[], env?: Record<string, string>): CliRun;
  /** The file's bytes, or undefined when missing. */
  bytes(): Promise<Buffer | undefined>;
  cleanup(): Promise<void>;
}

export async function configSandbox(): Promise<ConfigSandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'fu-cli-'));
  const file = join(dir, 'etc', 'openfire.xml');
  const baseEnv = { ...process.env };
  delete baseEnv.FILEUPLOAD_CONFIG;
  delete baseEnv.FILEUPLOAD_TEST_HOOK;
  const runBare = (args: string[], env: Record<string, string> = {}): CliRun => {
    const r = spawnSync(BIN, args, { env: { ...baseEnv, ...env }, encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    dir,
    file,
    run: (args, env) => runBare(['--config', file, ...args], env),
    runBare,
    bytes: () => readFile(file).catch(() => undefined),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
