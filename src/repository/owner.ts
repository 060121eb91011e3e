/**
 * The owner of the repository folder, and maintenance commands run as root acting as that owner.
 *
 * serve runs as the service user and must be able to write every entry of the repository (index
 * folders, journal segments, locks, uploads). A maintenance command started as root that writes
 * there as root leaves entries serve cannot write, and slot requests then fail with EACCES. So a
 * command run as root first reads its configuration (which may be readable by root only), then
 * takes the uid and gid of the repository folder's owner before it opens the repository. A
 * command that also needs root afterwards (import reads the Openfire plugin's files) gives the
 * entries it created to the owner instead (restoreOwnership). A repository owned by root changes
 * nothing: root is then the service user.
 */
import { readFileSync } from 'node:fs';
import { lchown, lstat, opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../config/settings.ts';
import { errCode } from '../errno.ts';

/** Who owns a folder, with the names /etc/passwd and /etc/group give (the number when none does). */
export interface Owner {
  uid: number;
  gid: number;
  user: string;
  group: string;
}

/**
 * The name of `id` in a passwd or group file (`name:x:id:…` lines), or undefined. Pure.
 *
 * @example
 * nameInDatabase('root:x:0:0:root:/root:/bin/bash\nfileupload:x:998:998::/var/lib/fileupload:/usr/sbin/nologin', 998); // 'fileupload'
 */
export function nameInDatabase(text: string, id: number): string | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && fields[2] === String(id) && fields[0] !== '' && !fields[0]!.startsWith('#'))
      return fields[0];
  }
  return undefined;
}

function nameOf(file: string, id: number): string {
  try {
    return nameInDatabase(readFileSync(file, 'utf8'), id) ?? String(id);
  } catch {
    return String(id);
  }
}

/**
 * The owner of `path` (stat, following a symbolic link as serve does).
 *
 * @example
 * const owner = await ownerOf('/var/lib/fileupload'); // { uid: 998, gid: 998, user: 'fileupload', group: 'fileupload' }
 */
export async function ownerOf(path: string): Promise<Owner> {
  const st = await stat(path);
  return { uid: st.uid, gid: st.gid, user: nameOf('/etc/passwd', st.uid), group: nameOf('/etc/group', st.gid) };
}

/**
 * How messages name an owner. Pure.
 *
 * @example
 * describeOwner({ uid: 998, gid: 998, user: 'fileupload', group: 'fileupload' }); // 'fileupload (uid 998)'
 */
export function describeOwner(owner: Pick<Owner, 'uid' | 'user'>): string {
  return owner.user === String(owner.uid) ? `uid ${owner.uid}` : `${owner.user} (uid ${owner.uid})`;
}

/**
 * Whether a process with effective uid `euid` must act as `owner` before it writes into the
 * repository: only root writing into a folder someone else owns. Pure.
 *
 * @example
 * mustActAsOwner(0, { uid: 998 });   // true
 * mustActAsOwner(0, { uid: 0 });     // false: root owns the repository
 * mustActAsOwner(998, { uid: 998 }); // false
 */
export function mustActAsOwner(euid: number | undefined, owner: Pick<Owner, 'uid'>): boolean {
  return euid === 0 && owner.uid !== 0;
}

/** The repository folder of `settings`, when the uploads live in a folder. */
function folderOf(settings: Pick<Settings, 'storage' | 'fileRepo'>): string | undefined {
  return settings.storage === 'fs' ? settings.fileRepo : undefined;
}

/**
 * Run as root on a repository folder owned by another user, this process becomes that user (its
 * uid, its gid and no other group) for good and says so with one line through `note`; returns
 * the owner then, undefined when nothing changed (not root, root's repository, a bucket, no
 * fileRepo, or a folder that cannot be looked at, which the command reports itself). Call it
 * after reading the configuration and before opening the repository.
 *
 * @example
 * const settings = await loadSettings(configFile, { cluster: clusterLayers });
 * await actAsRepositoryOwner(settings);
 * const { store } = await openStorage(settings, { create: false });
 */
export async function actAsRepositoryOwner(
  settings: Pick<Settings, 'storage' | 'fileRepo'>,
  note: (line: string) => void = (line) => void process.stderr.write(`${line}\n`),
): Promise<Owner | undefined> {
  const folder = folderOf(settings);
  if (folder === undefined) return undefined;
  const owner = await ownerOf(folder).catch(() => undefined);
  if (owner === undefined || !mustActAsOwner(process.geteuid?.(), owner)) return undefined;
  // Groups first, then the gid, then the uid: after setuid there is no right left to change them.
  process.setgroups!([owner.gid]);
  process.setgid!(owner.gid);
  process.setuid!(owner.uid);
  note(`running as ${describeOwner(owner)}, the owner of ${folder}`);
  return owner;
}

/**
 * The owner of the repository folder when this process, run as root, writes into it as root
 * (see restoreOwnership); undefined otherwise.
 *
 * @example
 * const owner = await ownerToRestore(settings);
 */
export async function ownerToRestore(settings: Pick<Settings, 'storage' | 'fileRepo'>): Promise<Owner | undefined> {
  const folder = folderOf(settings);
  if (folder === undefined) return undefined;
  const owner = await ownerOf(folder).catch(() => undefined);
  return owner !== undefined && mustActAsOwner(process.geteuid?.(), owner) ? owner : undefined;
}

function gone(err: unknown): undefined {
  if (errCode(err) === 'ENOENT') return undefined;
  throw err;
}

/**
 * Gives every entry under `folder` that root owns to `owner` (lchown: a link is changed, never
 * what it points to), for a command that had to write as root. Walks the whole folder; returns
 * how many entries it changed.
 *
 * @example
 * const owner = await ownerToRestore(settings);
 * … // write as root
 * if (owner) await restoreOwnership(settings.fileRepo, owner);
 */
export async function restoreOwnership(folder: string, owner: Pick<Owner, 'uid' | 'gid'>): Promise<number> {
  let changed = 0;
  const visit = async (path: string): Promise<void> => {
    // serve may remove an entry meanwhile (an upload published, a purge): gone is fine.
    const st = await lstat(path).catch(gone);
    if (st === undefined) return;
    if (st.uid === 0) {
      if ((await lchown(path, owner.uid, owner.gid).then(() => true, gone)) === true) changed++;
    }
    if (!st.isDirectory()) return;
    const dir = await opendir(path, { bufferSize: 256 }).catch(gone);
    if (dir === undefined) return;
    for await (const e of dir) await visit(join(path, e.name));
  };
  await visit(folder);
  return changed;
}
