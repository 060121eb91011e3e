/**
 * Check `config-permissions`: a configuration file that holds a secret (sharedSecret, slotSecret,
 * s3SecretKey) is not open to every user of the machine. Whoever reads slotSecret can mint upload
 * URLs and read the admin API's upload details; sharedSecret lets one pose as the component. The
 * owner and the group (a packaged 0640 root:fileupload file) are fine; "other" is not.
 */
import { stat } from 'node:fs/promises';
import { readConfigDocument, secretsIn } from '../config/edit.ts';
import { GENERAL_PREFIX, SERVER_SPECIFIC_PREFIX } from '../config/catalogue.ts';
import { sharedConfigPath } from '../cluster/shared-config/fs.ts';
import type { Settings } from '../config/settings.ts';
import { shellQuote } from './config-check.ts';
import { fail, pass, skip, type CheckResult } from './result.ts';

/** This check's id in the report. */
export const CHECK = 'config-permissions';

/** What doctor learnt about one configuration file. */
export interface ConfigFileFacts {
  path: string;
  /** Permission bits (mode & 0o7777); undefined when the file does not exist or cannot be read. */
  mode: number | undefined;
  /** The secret properties set in it, by short name. */
  secrets: string[];
}

/**
 * The files to look at: the configuration file and, on a cluster node sharing a folder, the
 * shared document in the repository.
 *
 * @example
 * configFilesOf('/etc/fileupload/openfire.xml', settings); // ['/etc/fileupload/openfire.xml']
 */
export function configFilesOf(
  configFile: string,
  settings: Pick<Settings, 'cluster' | 'storage' | 'fileRepo'>,
): string[] {
  const files = [configFile];
  if (settings.cluster && settings.storage !== 's3' && settings.fileRepo !== undefined)
    files.push(sharedConfigPath(settings.fileRepo));
  return files;
}

/**
 * Mode and secrets of each file (a file that is missing or unreadable has no mode: the config
 * check reports it).
 *
 * @example
 * const facts = await gatherConfigFileFacts(configFilesOf(file, settings));
 */
export async function gatherConfigFileFacts(files: readonly string[]): Promise<ConfigFileFacts[]> {
  return Promise.all(
    files.map(async (path) => {
      try {
        const st = await stat(path);
        const { doc } = await readConfigDocument(path);
        const secrets = secretsIn(doc).map((n) => n.replace(SERVER_SPECIFIC_PREFIX, '').replace(GENERAL_PREFIX, ''));
        return { path, mode: st.mode & 0o7777, secrets: [...new Set(secrets)] };
      } catch {
        return { path, mode: undefined, secrets: [] };
      }
    }),
  );
}

/**
 * The verdict: fail when a file with a secret grants "other" users any permission. Pure.
 *
 * @example
 * configPermissionsVerdict([{ path: '/etc/fileupload/openfire.xml', mode: 0o644, secrets: ['sharedSecret'] }]).status; // 'fail'
 */
export function configPermissionsVerdict(facts: readonly ConfigFileFacts[]): CheckResult {
  const known = facts.filter((f) => f.mode !== undefined);
  if (known.length === 0) return skip(CHECK, 'no configuration file could be read (see the config check)');
  const open = known.filter((f) => f.secrets.length > 0 && ((f.mode ?? 0) & 0o007) !== 0);
  const octal = (m: number | undefined) => `0${(m ?? 0).toString(8).padStart(3, '0')}`;
  if (open.length > 0) {
    return fail(
      CHECK,
      open
        .map(
          (f) =>
            `${f.path} holds ${f.secrets.join(', ')} and every user may ${(f.mode ?? 0) & 0o004 ? 'read' : 'open'} it (mode ${octal(f.mode)})`,
        )
        .join('; '),
      open.map((f) => `chmod o-rwx ${shellQuote(f.path)}`).join('; '),
    );
  }
  const withSecrets = known.filter((f) => f.secrets.length > 0);
  if (withSecrets.length === 0)
    return pass(CHECK, `${known.map((f) => f.path).join(', ')} hold${known.length === 1 ? 's' : ''} no secret`);
  return pass(CHECK, withSecrets.map((f) => `${f.path} (mode ${octal(f.mode)}) is closed to other users`).join('; '));
}
