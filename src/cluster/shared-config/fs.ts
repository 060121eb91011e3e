/**
 * The cluster's shared configuration in the shared repository folder
 * (`{fileRepo}/cluster/openfire.xml`).
 *
 * Writers take a lock in the same folder (src/lock/fs.ts: O_EXCL + heartbeat), so two `config set`
 * on two nodes at once cannot lose one of the changes; each write is atomic (temp file + rename),
 * so readers see the old or the new document, never a mix.
 */
import { constants } from 'node:fs';
import { chown, mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readConfigDocument, setConfigProperty, unsetConfigProperty } from '../../config/edit.ts';
import { NEW_FILE_MODE } from '../../config/file.ts';
import { readProperty, type XmlDocument } from '../../config/openfire-xml.ts';
import { acquireLock } from '../../lock/fs.ts';
import { LockHeldError, type HeldLock } from '../../lock/lock.ts';
import { errCode } from '../../errno.ts';
import { CLUSTER_DIR, recordRead, type SharedConfigStore } from './store.ts';

/**
 * Where the shared configuration of a repository lives.
 *
 * @example
 * sharedConfigPath('/srv/upload'); // '/srv/upload/cluster/openfire.xml'
 */
export function sharedConfigPath(repo: string): string {
  return join(repo, CLUSTER_DIR, 'openfire.xml');
}

export interface FsSharedConfigOptions {
  /** How long a writer waits for another writer's lock before giving up (ms); default 10 s. */
  lockWait?: number;
}

/**
 * The shared configuration in the repository folder. New files and folders get the owner of the
 * repository folder (an admin running `config set` as root must not leave a file the service
 * user cannot read) and mode 0600 / 0700 (the document may hold secrets); a document that holds
 * a secret loses its "other" permission bits on every write (see setConfigProperty).
 *
 * @example
 * const store = new FsSharedConfigStore('/srv/upload');
 * await store.set('plugin.httpfileupload.maxFileSize', '100M');
 * const { doc } = await store.read();
 */
export class FsSharedConfigStore implements SharedConfigStore {
  readonly location: string;
  readonly repo: string;
  private readonly lockWait: number;

  constructor(repo: string, options: FsSharedConfigOptions = {}) {
    this.repo = repo;
    this.location = sharedConfigPath(repo);
    this.lockWait = options.lockWait ?? 10_000;
  }

  async read(): Promise<{ doc: XmlDocument | undefined; version: string }> {
    // Version first: a write between the two reads makes the next poll read again, never miss.
    const version = await this.version();
    const { doc } = await readConfigDocument(this.location);
    recordRead(this.location, version);
    return { doc, version };
  }

  async version(): Promise<string> {
    let fh;
    try {
      fh = await open(this.location, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return 'absent';
      throw err;
    }
    try {
      const st = await fh.stat();
      // Writes replace the file (rename): a new inode. Size and mtime catch an in-place edit.
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } finally {
      await fh.close();
    }
  }

  async set(dotted: string, value: string): Promise<void> {
    await this.locked(true, () => setConfigProperty(this.location, dotted, value));
  }

  async unset(dotted: string): Promise<boolean> {
    return this.locked(false, () => unsetConfigProperty(this.location, dotted));
  }

  async setIfAbsent(dotted: string, value: string): Promise<string> {
    return this.locked(true, async () => {
      const { doc } = await readConfigDocument(this.location);
      const existing = doc ? readProperty(doc, dotted)?.trim() : undefined;
      if (existing) return existing;
      await setConfigProperty(this.location, dotted, value);
      return value;
    });
  }

  /** Runs a change under the writers' lock; `create`: make the file (with the repository's owner) first. */
  private async locked<T>(create: boolean, change: () => Promise<T>): Promise<T> {
    const owner = await stat(this.repo).catch((err: unknown) => {
      if (errCode(err) === 'ENOENT') throw new Error(`${this.repo}: the repository folder (fileRepo) does not exist`);
      throw err;
    });
    const dir = dirname(this.location);
    await ensureOwned(dir, owner, () => mkdir(dir, { mode: 0o700 }).then(() => undefined));
    const lock = await this.acquire(join(dir, 'config.lock'));
    try {
      if (create) {
        await ensureOwned(this.location, owner, async () => {
          const fh = await open(
            this.location,
            constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
            NEW_FILE_MODE,
          );
          await fh.close();
        });
      }
      lock.assertHeld();
      return await change();
    } finally {
      await lock.release();
    }
  }

  private async acquire(path: string): Promise<HeldLock> {
    const deadline = Date.now() + this.lockWait;
    for (;;) {
      try {
        return await acquireLock(path, { command: 'config set', lease: 30_000 });
      } catch (err) {
        if (!(err instanceof LockHeldError) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

/**
 * Creates `path` with `create` when it does not exist and gives it the owner of the repository
 * (only root can, and only root needs to: anyone else creates files as themselves).
 */
async function ensureOwned(
  path: string,
  owner: { uid: number; gid: number },
  create: () => Promise<void>,
): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (errCode(err) === 'EEXIST') return;
    throw err;
  }
  if (process.geteuid?.() === 0 && (owner.uid !== 0 || owner.gid !== 0)) {
    await chown(path, owner.uid, owner.gid).catch((err: NodeJS.ErrnoException) => {
      throw new Error(
        `cannot give ${path} to the owner of the repository (${owner.uid}:${owner.gid}): ${err.code ?? err.message}`,
      );
    });
  }
}
