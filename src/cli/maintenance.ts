import { CliError, ExitCode } from './exit-codes.ts';

/**
 * Shared by purge and slots: loads the settings and opens the repository (folder or bucket), turning every problem
 * into a CliError with the right exit code (2 for configuration, 3 for a held lock). Run as root on a folder another
 * user owns, the process becomes that user in between (src/repository/owner.ts).
 *
 * @example
 * const { settings, store, ledger, repo } = await openMaintenance(config);
 */
export async function openMaintenance(configFile: string) {
  const [
    { loadSettings },
    { clusterLayers },
    { openStorage, RepositoryNotFoundError },
    { Ledger },
    { actAsRepositoryOwner },
  ] = await Promise.all([
    import('../config/load.ts'),
    import('../cluster/config-layer.ts'),
    import('../repository/open.ts'),
    import('../inventory/ledger.ts'),
    import('../repository/owner.ts'),
  ]);
  const { ConfigError } = await import('../config/errors.ts');
  let settings;
  try {
    settings = await loadSettings(configFile, { cluster: clusterLayers });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, ExitCode.Usage, 'invalid-config');
    throw err;
  }
  // Run as root, everything written from here on must belong to the repository's owner.
  await actAsRepositoryOwner(settings);
  try {
    const { store, location, index, locks } = await openStorage(settings, { create: false });
    return { settings, repo: location, store, ledger: new Ledger(index), locks };
  } catch (err) {
    if (err instanceof RepositoryNotFoundError) throw new CliError(err.message, ExitCode.Usage, 'invalid-config');
    throw err;
  }
}

/**
 * Maps a LockHeldError to exit code 3; rethrows anything else.
 *
 * @example
 * try { await purgeOnce(…); } catch (err) { throw await lockedExit(err); }
 */
export async function lockedExit(err: unknown): Promise<unknown> {
  const { LockHeldError, LockLostError } = await import('../lock/lock.ts');
  if (err instanceof LockHeldError) return new CliError(err.message, ExitCode.Locked);
  if (err instanceof LockLostError) return new CliError(err.message, ExitCode.Failure);
  return err;
}
