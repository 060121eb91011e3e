/**
 * The blocklist in the repository folder: `{fileRepo}/blocklist.json`, on the folder every node
 * shares. Writers take a lock in the same folder (src/lock/fs.ts: O_EXCL + heartbeat), so two
 * additions at once on two nodes both land; each write is atomic (temp file + fsync + rename),
 * so readers see the old or the new list, never a mix. version() opens the file, so on NFS
 * close-to-open consistency shows a change made on another node.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errCode } from '../errno.ts';
import { acquireLock } from '../lock/fs.ts';
import { LockHeldError, type HeldLock } from '../lock/lock.ts';
import { parseBlocklist, serializeBlocklist, type BlocklistEntry } from './list.ts';
import type { BlocklistStore } from './store.ts';

/** Name of the blocklist file in the repository folder (and of the object under the bucket's prefix). */
export const BLOCKLIST_NAME = 'blocklist.json';

/**
 * The blocklist of a repository folder.
 *
 * @example
 * const store = new FsBlocklistStore('/srv/upload');
 * const { entries } = await store.read();
 */
export class FsBlocklistStore implements BlocklistStore {
  readonly location: string;
  readonly repo: string;
  readonly #lockWait: number;

  constructor(repo: string, options: { lockWait?: number } = {}) {
    this.repo = repo;
    this.location = join(repo, BLOCKLIST_NAME);
    this.#lockWait = options.lockWait ?? 10_000;
  }

  async read(): Promise<{ entries: BlocklistEntry[]; version: string }> {
    const fh = await this.#open();
    if (!fh) return { entries: [], version: 'absent' };
    try {
      const st = await fh.stat();
      const text = await fh.readFile('utf8');
      return { entries: parseBlocklist(text, this.location), version: versionOf(st) };
    } finally {
      await fh.close();
    }
  }

  async version(): Promise<string> {
    const fh = await this.#open();
    if (!fh) return 'absent';
    try {
      return versionOf(await fh.stat());
    } finally {
      await fh.close();
    }
  }

  async change(edit: (entries: BlocklistEntry[]) => BlocklistEntry[] | undefined): Promise<BlocklistEntry[]> {
    const owner = await stat(this.repo).catch((err: unknown) => {
      if (errCode(err) === 'ENOENT') throw new Error(`${this.repo}: the repository folder (fileRepo) does not exist`);
      throw err;
    });
    const lock = await this.#acquire();
    try {
      const { entries } = await this.read();
      const next = edit(entries);
      if (next === undefined) return entries;
      lock.assertHeld();
      const tmp = `${this.location}.${randomBytes(6).toString('base64url')}.tmp`;
      const fh = await open(
        tmp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        await fh.writeFile(serializeBlocklist(next));
        await fh.sync();
        // Run as root, the file still belongs to the service user, which must read it.
        if (process.geteuid?.() === 0 && (owner.uid !== 0 || owner.gid !== 0)) await fh.chown(owner.uid, owner.gid);
      } catch (err) {
        await fh.close().catch(() => {});
        await unlink(tmp).catch(() => {});
        throw err;
      }
      await fh.close();
      await rename(tmp, this.location).catch(async (err: unknown) => {
        await unlink(tmp).catch(() => {});
        throw err;
      });
      return next;
    } finally {
      await lock.release();
    }
  }

  async #open() {
    try {
      return await open(this.location, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  async #acquire(): Promise<HeldLock> {
    const deadline = Date.now() + this.#lockWait;
    for (;;) {
      try {
        return await acquireLock(join(this.repo, 'locks', 'blocklist.lock'), { command: 'blocklist', lease: 30_000 });
      } catch (err) {
        if (!(err instanceof LockHeldError) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** Writes replace the file (rename): a new inode. Size and mtime catch an edit in place. */
function versionOf(st: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}
