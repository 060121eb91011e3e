/**
 * Checks `repository`, `same-filesystem` and `free-space`: the folder uploads live in exists and
 * is writable (and holds no raw upload of the Openfire plugin that was not imported: its old URL
 * would answer 404), temp files (tmp/) land on the same filesystem as published ones (files/) so that
 * publishing is one atomic link(), and there is room for uploads. Facts are gathered once
 * (gatherRepositoryFacts); the verdicts are pure functions of them.
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, opendir, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSize } from '../config/units.ts';
import { MARKER_NAME } from '../storage/fs/index.ts';
import { ownerOf, type Owner } from '../repository/owner.ts';
import { isImportedId } from '../slots/id.ts';
import { describeError, errorCode, fail, pass, skip, warn, type CheckResult } from './result.ts';

/** What the filesystem says about the repository. */
export interface RepositoryFacts {
  /** fileRepo; undefined when unset. */
  path: string | undefined;
  /** stat() of the folder failed with this code (ENOENT: missing). */
  statError?: string;
  isDirectory: boolean;
  /** The marker serve writes on first start is there. */
  marker: boolean;
  /** Creating (and removing) a probe file worked; otherwise the error code and message. */
  writable: { ok: true } | { ok: false; code: string | undefined; message: string };
  /** Where the probe file was written (tmp/ when it exists, else the folder itself). */
  probedIn: string;
  /** Hard links work on this filesystem (publish is then exclusive); undefined when not tested. */
  canLink: boolean | undefined;
  /** st_dev of the folder, files/ and tmp/ (undefined: not there yet). */
  dev: { root: number | undefined; files: number | undefined; tmp: number | undefined };
  /** statfs of the folder: bytes available to unprivileged users and the filesystem's size. */
  space: { available: number; size: number } | undefined;
  /** The largest upload (-1 = unlimited). */
  maxFileSize: number;
  /** The folder's owner, for the fix of a folder its user cannot write. */
  owner?: Pick<Owner, 'uid' | 'user' | 'group'>;
  /** Raw files of the Openfire plugin directly in the folder with no upload of that id in files/. */
  notImported?: { count: number; first: string };
}

async function devOf(path: string): Promise<number | undefined> {
  try {
    const st = await lstat(path);
    return st.isDirectory() ? st.dev : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Looks at the repository folder. Writes (and removes) one small probe file in tmp/ (or in the
 * folder when tmp/ does not exist yet); changes nothing else.
 *
 * @example
 * const facts = await gatherRepositoryFacts(settings.fileRepo, settings.maxFileSize);
 * const results = repositoryVerdicts(facts);
 */
export async function gatherRepositoryFacts(path: string | undefined, maxFileSize: number): Promise<RepositoryFacts> {
  const facts: RepositoryFacts = {
    path,
    isDirectory: false,
    marker: false,
    writable: { ok: false, code: undefined, message: 'not tested' },
    probedIn: path ?? '',
    canLink: undefined,
    dev: { root: undefined, files: undefined, tmp: undefined },
    space: undefined,
    maxFileSize,
  };
  if (path === undefined) return facts;
  try {
    const st = await stat(path);
    facts.isDirectory = st.isDirectory();
    facts.dev.root = st.dev;
  } catch (err) {
    facts.statError = errorCode(err) ?? describeError(err);
    return facts;
  }
  if (!facts.isDirectory) return facts;
  facts.owner = await ownerOf(path).catch(() => undefined);
  facts.marker = await lstat(join(path, MARKER_NAME)).then(
    (s) => s.isFile(),
    () => false,
  );
  facts.dev.files = await devOf(join(path, 'files'));
  facts.dev.tmp = await devOf(join(path, 'tmp'));
  facts.probedIn = facts.dev.tmp !== undefined ? join(path, 'tmp') : path;
  const probe = join(facts.probedIn, `.doctor-probe-${randomBytes(6).toString('base64url')}`);
  try {
    await writeFile(probe, 'fileupload doctor\n', { flag: 'wx' });
    facts.writable = { ok: true };
    try {
      await link(probe, `${probe}.link`);
      await unlink(`${probe}.link`);
      facts.canLink = true;
    } catch {
      facts.canLink = false;
    }
  } catch (err) {
    facts.writable = { ok: false, code: errorCode(err), message: describeError(err) };
  } finally {
    await unlink(probe).catch(() => {});
  }
  facts.notImported = await pluginFilesNotImported(path);
  try {
    const s = await statfs(path);
    facts.space = { available: s.bavail * s.bsize, size: s.blocks * s.bsize };
  } catch {
    facts.space = undefined;
  }
  return facts;
}

/** Counts the Openfire plugin's raw uploads (`{fileRepo}/{id}`) that have no `files/{id}` beside them. */
async function pluginFilesNotImported(path: string): Promise<RepositoryFacts['notImported']> {
  let count = 0;
  let first = '';
  try {
    for await (const e of await opendir(path, { bufferSize: 256 })) {
      if (!e.isFile() || !isImportedId(e.name)) continue;
      const imported = await lstat(join(path, 'files', e.name)).then(
        () => true,
        () => false,
      );
      if (imported) continue;
      if (count++ === 0) first = e.name;
    }
  } catch {
    return undefined;
  }
  return count > 0 ? { count, first } : undefined;
}

/**
 * The `repository` verdict. Pure.
 *
 * @example
 * repositoryVerdict({ ...facts, statError: 'ENOENT' }).status; // 'fail'
 */
export function repositoryVerdict(f: RepositoryFacts, configCli = 'fileupload'): CheckResult {
  const C = 'repository';
  if (f.path === undefined) {
    return warn(
      C,
      'fileRepo is not set: serve keeps uploads in a private temporary folder and loses them when it stops',
      `mkdir -p /var/lib/fileupload && chown fileupload: /var/lib/fileupload && ${configCli} config set fileRepo /var/lib/fileupload`,
    );
  }
  if (f.statError !== undefined) {
    if (f.statError === 'ENOENT') {
      return fail(
        C,
        `${f.path} does not exist (serve does not create it)`,
        `mkdir -p ${f.path} && chown fileupload: ${f.path} (the user serve runs as)`,
      );
    }
    return fail(
      C,
      `cannot look at ${f.path}: ${f.statError}`,
      `check the permissions of ${f.path} and its parent folders`,
    );
  }
  if (!f.isDirectory)
    return fail(
      C,
      `${f.path} is not a folder`,
      `point fileRepo at a folder: ${configCli} config set fileRepo /var/lib/fileupload`,
    );
  if (!f.writable.ok) {
    const { code, message } = f.writable;
    if (code === 'EROFS') {
      return fail(
        C,
        `${f.path} is on a read-only filesystem (${message})`,
        `mount it read-write, or choose a writable folder: ${configCli} config set fileRepo DIR`,
      );
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return fail(
        C,
        `${f.probedIn} is not writable (${message})`,
        f.owner !== undefined && f.owner.uid !== 0
          ? `chown -R ${f.owner.user}:${f.owner.group} ${f.path} (its owner, the user serve runs as), and give the owner write permission: chmod -R u+rwX ${f.path}`
          : `chown -R fileupload: ${f.path} (the user serve runs as)`,
      );
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return fail(
        C,
        `${f.path} has no space left (${message})`,
        `free space on its filesystem, or lower maxRepoSize so purge makes room`,
      );
    }
    return fail(C, `cannot write in ${f.probedIn}: ${message}`, `check ${f.path} (permissions, mount options)`);
  }
  if (f.notImported) {
    const n = f.notImported.count;
    return warn(
      C,
      `${f.path} holds ${n} upload${n === 1 ? '' : 's'} of the Openfire plugin that ${n === 1 ? 'is' : 'are'} not imported (${f.notImported.first}${n > 1 ? ', …' : ''}): ${n === 1 ? 'its' : 'their'} old URLs answer 404`,
      `${configCli} import openfire OPENFIRE_HOME (see man fileupload-import)`,
    );
  }
  const who = process.getuid?.() === 0 ? ' (tested as root: the service user needs write access too)' : '';
  return pass(C, `${f.path} exists and is writable${who}${f.marker ? '' : '; serve initialises it on first start'}`);
}

/**
 * The `same-filesystem` verdict: tmp/ and files/ must share the folder's filesystem (st_dev), or
 * publishing an upload would be a copy instead of one atomic link. Pure.
 *
 * @example
 * sameFilesystemVerdict({ ...facts, dev: { root: 1, files: 1, tmp: 2 } }).status; // 'fail'
 */
export function sameFilesystemVerdict(f: RepositoryFacts): CheckResult {
  const C = 'same-filesystem';
  if (f.path === undefined || f.dev.root === undefined || !f.isDirectory)
    return skip(C, 'no repository folder to look at');
  const apart = (['files', 'tmp'] as const).filter((d) => f.dev[d] !== undefined && f.dev[d] !== f.dev.root);
  if (apart.length > 0) {
    return fail(
      C,
      `${apart.map((d) => join(f.path!, d)).join(' and ')} ${apart.length === 1 ? 'is' : 'are'} on another filesystem than ${f.path}: temp files could not be published atomically`,
      `unmount whatever is mounted on ${apart.map((d) => join(f.path!, d)).join(', ')} (tmp/ and files/ must stay inside the repository's filesystem)`,
    );
  }
  if (f.canLink === false) {
    return warn(
      C,
      `the filesystem of ${f.path} has no hard links: publishing falls back to rename, which is not exclusive between nodes sharing it`,
      'use a filesystem with hard links (ext4, xfs, NFS) when several nodes share the repository',
    );
  }
  const there = f.dev.tmp !== undefined ? 'tmp/ and files/ are' : 'tmp/ will be created';
  return pass(C, `${there} on the filesystem of ${f.path}: uploads are published atomically`);
}

/** Below this share of the filesystem free, warn. */
export const LOW_SPACE_FRACTION = 0.05;
/** Warn when fewer than this many uploads of the maximum size fit. */
export const LOW_SPACE_UPLOADS = 10;

/**
 * The `free-space` verdict: fail when one upload of maxFileSize no longer fits; warn when fewer
 * than ten do or less than 5 % of the filesystem is free. Pure.
 *
 * @example
 * freeSpaceVerdict({ ...facts, space: { available: 10 << 20, size: 1 << 30 }, maxFileSize: 50 << 20 }).status; // 'fail'
 */
export function freeSpaceVerdict(f: RepositoryFacts): CheckResult {
  const C = 'free-space';
  if (f.path === undefined || f.space === undefined) return skip(C, 'no repository folder to look at');
  const { available, size } = f.space;
  const free = `${formatSize(available)} free of ${formatSize(size)} (${size > 0 ? Math.floor((available / size) * 100) : 0}%)`;
  const limited = f.maxFileSize >= 0;
  const fix = `free space on the filesystem of ${f.path}, or set maxRepoSize / maxAge so purge keeps the repository smaller`;
  if (available === 0 || (limited && available < f.maxFileSize)) {
    return fail(C, `${free}: an upload of maxFileSize (${formatSize(f.maxFileSize)}) does not fit`, fix);
  }
  if (limited && available < f.maxFileSize * LOW_SPACE_UPLOADS) {
    return warn(
      C,
      `${free}: fewer than ${LOW_SPACE_UPLOADS} uploads of maxFileSize (${formatSize(f.maxFileSize)}) fit`,
      fix,
    );
  }
  if (size > 0 && available / size < LOW_SPACE_FRACTION) {
    return warn(C, `${free}: less than ${LOW_SPACE_FRACTION * 100}% of the filesystem is free`, fix);
  }
  return pass(C, free);
}

/**
 * All three repository verdicts in report order.
 *
 * @example
 * results.push(...repositoryVerdicts(await gatherRepositoryFacts(repo, max)));
 */
export function repositoryVerdicts(f: RepositoryFacts, configCli = 'fileupload'): CheckResult[] {
  return [repositoryVerdict(f, configCli), sameFilesystemVerdict(f), freeSpaceVerdict(f)];
}
