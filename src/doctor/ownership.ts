/**
 * Check `ownership`: every entry under the repository folder belongs to the folder's owner, the
 * user serve runs as. An entry someone else owns (a maintenance command once run as root, a copy
 * made by hand) is one serve may not be able to write: a slot request touching it fails with
 * EACCES. The walk is bounded (OWNERSHIP_WALK_LIMIT entries, folders nearest the top first, where
 * the index and lock folders are), so a repository of millions of uploads does not make doctor
 * slow; the message says when it stopped early.
 */
import { lstatSync } from 'node:fs';
import { opendir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describeOwner, ownerOf, type Owner } from '../repository/owner.ts';
import { fail, pass, skip, warn, type CheckResult } from './result.ts';

/** This check's id in the report. */
export const CHECK = 'ownership';
/** Entries looked at, at most. */
export const OWNERSHIP_WALK_LIMIT = 100_000;
/** Entries of another owner named in the message; the rest are counted. */
export const OWNERSHIP_LISTED = 3;

/** What the walk found. */
export interface OwnershipFacts {
  /** The repository folder; undefined when there is none to look at. */
  path: string | undefined;
  /** Its owner. */
  owner: Owner | undefined;
  /** The first entries another user owns: path relative to the folder, and that user. */
  strangers: Array<{ path: string; owner: string }>;
  /** How many entries another user owns (of those looked at). */
  strangerCount: number;
  /** Entries looked at. */
  visited: number;
  /** False when the walk stopped at the limit. */
  complete: boolean;
}

/**
 * Walks `path` breadth first, at most `limit` entries, and notes the entries its owner does not
 * own. Folders it cannot read are skipped (their own owner is noted). Undefined path or a folder
 * that cannot be looked at: no owner (the repository check says why).
 *
 * @example
 * const facts = await gatherOwnershipFacts('/var/lib/fileupload');
 */
export async function gatherOwnershipFacts(
  path: string | undefined,
  limit = OWNERSHIP_WALK_LIMIT,
): Promise<OwnershipFacts> {
  const facts: OwnershipFacts = {
    path,
    owner: undefined,
    strangers: [],
    strangerCount: 0,
    visited: 0,
    complete: true,
  };
  if (path === undefined) return facts;
  facts.owner = await ownerOf(path).catch(() => undefined);
  if (facts.owner === undefined) return facts;
  const owner = facts.owner;
  const names = new Map<number, string>();
  const nameOf = async (uid: number, entry: string): Promise<string> => {
    let name = names.get(uid);
    if (name === undefined) {
      name = describeOwner(await ownerOf(entry).catch(() => ({ uid, user: String(uid) })));
      names.set(uid, name);
    }
    return name;
  };
  const queue = [path];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    let dir;
    try {
      dir = await opendir(next, { bufferSize: 256 });
    } catch {
      continue;
    }
    for await (const e of dir) {
      if (facts.visited >= limit) {
        facts.complete = false;
        return facts; // leaving the loop closes the folder
      }
      const entry = join(next, e.name);
      // lstatSync: one short system call per entry, far cheaper than a round trip to the thread pool.
      let st;
      try {
        st = lstatSync(entry);
      } catch {
        continue;
      }
      facts.visited++;
      if (st.uid !== owner.uid) {
        if (facts.strangerCount++ < OWNERSHIP_LISTED)
          facts.strangers.push({ path: relative(path, entry), owner: await nameOf(st.uid, entry) });
      }
      if (st.isDirectory()) queue.push(entry);
    }
  }
  return facts;
}

/**
 * The `ownership` verdict; its fix gives everything to the owner it found. Pure.
 *
 * @example
 * ownershipVerdict({ ...facts, strangerCount: 2 }).status; // 'fail'
 */
export function ownershipVerdict(f: OwnershipFacts): CheckResult {
  if (f.path === undefined || f.owner === undefined) return skip(CHECK, 'no repository folder to look at');
  const owner = describeOwner(f.owner);
  const partly = f.complete ? '' : ` (looked at the first ${f.visited} entries only)`;
  if (f.strangerCount === 0) {
    const rootNote = f.owner.uid === 0 ? ': serve must run as root to write there' : '';
    return pass(CHECK, `everything under ${f.path} is owned by ${owner}, the owner of the folder${rootNote}${partly}`);
  }
  const n = f.strangerCount;
  const listed = f.strangers.map((s) => `${s.path} (${s.owner})`).join(', ');
  const more = n > f.strangers.length ? ` and ${n - f.strangers.length} more` : '';
  if (f.owner.uid === 0) {
    // A folder of root's tells nothing about serve's user (it may write there through the group).
    return warn(
      CHECK,
      `${f.path} is owned by root, ${n} entr${n === 1 ? 'y' : 'ies'} under it by other users: ${listed}${more}${partly}; maintenance commands run as root write there as root`,
      `give the folder and everything under it to the user serve runs as (User= of its systemd unit): chown -R USER: ${f.path}`,
    );
  }
  return fail(
    CHECK,
    `${f.path} is owned by ${owner}, but ${n} entr${n === 1 ? 'y' : 'ies'} under it ${n === 1 ? 'is' : 'are'} not: ${listed}${more}${partly}; serve runs as the folder's owner and may fail to write there`,
    `chown -R ${f.owner.user}:${f.owner.group} ${f.path}`,
  );
}
