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
import { constants, readFileSync } from 'node:fs';
import { open, opendir, stat } from 'node:fs/promises';
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

/** Open flags that never follow a link and never wait (a FIFO someone left there). */
const PIN = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Gives every entry under `folder` that root owns to `owner`, for a command that had to write as
 * root; returns how many entries it changed. Walks the whole folder.
 *
 * The owner can change the folder while root walks it, so nothing is changed by path: each entry
 * is opened without following a link, checked and changed through that descriptor (fstat,
 * fchown), and a folder is listed through its descriptor (/proc/self/fd), so a link or a
 * renamed folder cannot lead root outside. A file with more than one name is left alone (it
 * could be a hard link to a file of root's elsewhere), and so are links, sockets and FIFOs: the
 * repository has none of its own.
 *
 * @example
 * const owner = await ownerToRestore(settings);
 * … // write as root
 * if (owner) await restoreOwnership(settings.fileRepo, owner);
 */
export async function restoreOwnership(folder: string, owner: Pick<Owner, 'uid' | 'gid'>): Promise<number> {
  let changed = 0;
  const visit = async (path: string, flags = PIN): Promise<void> => {
    // ELOOP: a link; ENXIO: a socket; ENOENT: gone meanwhile (serve publishes and purges).
    const fh = await open(path, flags).catch((err: unknown) => {
      if (['ELOOP', 'ENXIO', 'ENOENT'].includes(String(errCode(err)))) return undefined;
      throw err;
    });
    if (fh === undefined) return;
    try {
      const st = await fh.stat();
      const mine = st.isDirectory() || (st.isFile() && st.nlink === 1);
      if (!mine) return;
      if (st.uid === 0) {
        await fh.chown(owner.uid, owner.gid);
        changed++;
      }
      if (!st.isDirectory()) return;
      const pinned = `/proc/self/fd/${fh.fd}`;
      for await (const e of await opendir(pinned, { bufferSize: 256 })) await visit(join(pinned, e.name));
    } finally {
      await fh.close();
    }
  };
  // fileRepo itself may be a link the admin made.
  await visit(folder, constants.O_RDONLY | constants.O_DIRECTORY);
  return changed;
}
