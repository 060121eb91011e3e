/**
 * Reading and atomically replacing the configuration file. A reader never sees a half-written
 * file, a crash at any point leaves either the old or the new file, and the file keeps its
 * owner. New files get mode 0600 because they hold secrets; an existing file that holds one loses
 * its "other" permission bits (a packaged 0640 root:fileupload file stays readable by the service).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, stat, unlink, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errCode } from '../errno.ts';

/** A configuration file's text and how to write it back with the same bytes outside the edits. */
export interface ConfigText {
  text: string;
  /** `utf8` for valid UTF-8 (the norm); otherwise `latin1`, a 1:1 byte mapping. */
  encoding: 'utf8' | 'latin1';
}

/** Mode of a configuration file this program creates. */
export const NEW_FILE_MODE = 0o600;

/** How {@link writeConfigText} treats the file's permissions. */
export interface WriteOptions {
  /**
   * The text holds a secret: an existing file keeps its owner, group and owner/group bits but
   * loses every "other" bit, so nobody but its owner and group can read it afterwards.
   */
  secret?: boolean;
}

/**
 * The mode a rewritten file gets: its current one, without the "other" bits when it holds a
 * secret; {@link NEW_FILE_MODE} for a new file. Pure.
 *
 * @example
 * rewrittenMode(0o644, { secret: true });      // 0o640
 * rewrittenMode(0o644, {});                    // 0o644
 * rewrittenMode(undefined, { secret: false }); // 0o600
 */
export function rewrittenMode(existingMode: number | undefined, options: WriteOptions): number {
  if (existingMode === undefined) return NEW_FILE_MODE;
  const mode = existingMode & 0o7777;
  return options.secret === true ? mode & ~0o007 : mode;
}

/**
 * Reads the file, or returns undefined when it does not exist. Valid UTF-8 is decoded as such
 * (a BOM is kept as U+FEFF); anything else is read byte for byte (latin1) so a rewrite keeps
 * every byte that was not edited.
 *
 * @example
 * const cur = await readConfigText('/etc/fileupload/openfire.xml');
 * if (cur) console.log(cur.text.length);
 */
export async function readConfigText(file: string): Promise<ConfigText | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: bytes.toString('latin1'), encoding: 'latin1' };
  }
}

/**
 * Replaces the file atomically: temp file in the same directory, fsync, rename, fsync of the
 * directory. An existing file keeps its owner and its mode (less the "other" bits when
 * `options.secret`; see {@link rewrittenMode}); a symlink is followed, so the link stays a link;
 * a missing file is created, with its directories, with mode 0600. The temp file is 0600 from
 * its creation until it gets the final mode and owner, so no reader sees the text in between.
 *
 * @example
 * await writeConfigText('/etc/fileupload/openfire.xml', { text, encoding: 'utf8' }, { secret: true });
 */
export async function writeConfigText(file: string, content: ConfigText, options: WriteOptions = {}): Promise<void> {
  const target = await followLink(file);
  const existing = await stat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  const dir = dirname(target);
  if (!existing) await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, NEW_FILE_MODE);
  let renamed = false;
  try {
    try {
      await fh.writeFile(Buffer.from(content.text, content.encoding));
      // chmod after create: the umask must not decide the mode.
      await fh.chmod(rewrittenMode(existing?.mode, options));
      if (existing && (existing.uid !== process.geteuid?.() || existing.gid !== process.getegid?.())) {
        await fh.chown(existing.uid, existing.gid).catch((err: NodeJS.ErrnoException) => {
          throw new Error(
            `cannot keep the owner ${existing.uid}:${existing.gid} of ${target} (${err.code ?? err.message}); run as root or as its owner`,
          );
        });
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    testHook('before-rename');
    await rename(tmp, target);
    renamed = true;
    await syncDirectory(dir);
  } finally {
    if (!renamed) await unlink(tmp).catch(() => {});
  }
}

/** The file a path names, following symlinks (to a file that may not exist yet). */
async function followLink(file: string): Promise<string> {
  const st = await lstat(file).catch(() => undefined);
  if (!st?.isSymbolicLink()) return file;
  return realpath(file);
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Lets a test kill the process at a chosen point (FILEUPLOAD_TEST_HOOK=crash-before-rename).
 * Never set in production; it exists to prove that a crash leaves the old file intact.
 */
function testHook(point: 'before-rename'): void {
  if (process.env.FILEUPLOAD_TEST_HOOK === `crash-${point}`) process.kill(process.pid, 'SIGKILL');
}
