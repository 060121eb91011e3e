/**
 * Where the blocklist lives, behind one interface: a file in the repository folder (fs.ts) or an
 * object in the bucket (s3.ts) — the place every node sharing the repository already reads, so
 * an entry added on one node (or by the CLI) holds on all of them. Callers see only this
 * interface; BlocklistView is the cached copy serve checks every upload against.
 */
import type { Logger } from '../log.ts';
import { withEntry, withoutEntry, type BlocklistEntry } from './list.ts';

/** A place the blocklist is kept. */
export interface BlocklistStore {
  /** Where it is, for messages (`/srv/upload/blocklist.json`, `s3://bucket/prefix/blocklist.json`). */
  readonly location: string;
  /** The entries and the version they were read at (`absent` when there is no list yet). */
  read(): Promise<{ entries: BlocklistEntry[]; version: string }>;
  /** A cheap token that changes whenever the list is replaced (`absent` when there is none). */
  version(): Promise<string>;
  /**
   * Applies `edit` to the current entries and writes the result atomically, so that two nodes
   * editing at once both land; `edit` returning undefined means "nothing to write". Resolves to
   * the entries afterwards.
   */
  change(edit: (entries: BlocklistEntry[]) => BlocklistEntry[] | undefined): Promise<BlocklistEntry[]>;
}

/**
 * Adds `entry`; false when its hash was listed already (the earlier entry stays).
 *
 * @example
 * await addToBlocklist(store, { sha256, added: new Date().toISOString(), by: 'root@host', note: 'DMCA 2030-17' });
 */
export async function addToBlocklist(store: BlocklistStore, entry: BlocklistEntry): Promise<boolean> {
  let added = false;
  await store.change((entries) => {
    const next = withEntry(entries, entry);
    added = next !== undefined;
    return next;
  });
  return added;
}

/**
 * Removes `sha256`; the entry removed, or undefined when it was not listed.
 *
 * @example
 * const gone = await removeFromBlocklist(store, sha256);
 */
export async function removeFromBlocklist(store: BlocklistStore, sha256: string): Promise<BlocklistEntry | undefined> {
  let removed: BlocklistEntry | undefined;
  await store.change((entries) => {
    removed = entries.find((e) => e.sha256 === sha256);
    return withoutEntry(entries, sha256);
  });
  return removed;
}

export interface BlocklistViewOptions {
  /** How long a look at the store's version holds (ms): the bound on seeing another node's change. */
  maxAge: number;
  logger?: Logger;
  now?: () => number;
}

/**
 * The blocklist as serve checks uploads against it: the hashes, re-read only when the store's
 * version changed, and the version looked at no more often than every `maxAge` ms (and only when
 * an upload asks). An entry added anywhere is therefore seen by every upload checked more than
 * `maxAge` after it. When the store cannot be read, the last hashes read stay in force (logged).
 *
 * @example
 * const view = new BlocklistView(store, { maxAge: 1000, logger });
 * if ((await view.hashes()).has(sha256)) refuse();
 */
export class BlocklistView {
  readonly #store: BlocklistStore;
  readonly #maxAge: number;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  #hashes: ReadonlySet<string> = new Set();
  #version: string | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #checking: Promise<ReadonlySet<string>> | undefined;
  #failing = false;

  constructor(store: BlocklistStore, options: BlocklistViewOptions) {
    this.#store = store;
    this.#maxAge = options.maxAge;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Without a look at the store: false only when the list was empty at a look younger than
   * maxAge, so an upload then needs no hashing at all.
   */
  mayBlock(): boolean {
    return this.#hashes.size > 0 || this.#now() - this.#checkedAt >= this.#maxAge;
  }

  /** The blocked hashes, as of a look at the store at most maxAge old. */
  hashes(): Promise<ReadonlySet<string>> {
    if (this.#now() - this.#checkedAt < this.#maxAge) return Promise.resolve(this.#hashes);
    return (this.#checking ??= this.#refresh().finally(() => {
      this.#checking = undefined;
    }));
  }

  /** Forgets when the store was last looked at: the next hashes() looks again (after a change made here). */
  invalidate(): void {
    this.#checkedAt = Number.NEGATIVE_INFINITY;
  }

  async #refresh(): Promise<ReadonlySet<string>> {
    const started = this.#now();
    try {
      const version = await this.#store.version();
      if (version !== this.#version) {
        const read = await this.#store.read();
        this.#hashes = new Set(read.entries.map((e) => e.sha256));
        this.#version = read.version;
      }
      if (this.#failing) this.#logger?.info('blocklist readable again', { blocklist: this.#store.location });
      this.#failing = false;
    } catch (err) {
      if (!this.#failing)
        this.#logger?.error('cannot read the blocklist; the last one read stays in force', {
          blocklist: this.#store.location,
          err,
        });
      this.#failing = true;
    }
    this.#checkedAt = started;
    return this.#hashes;
  }
}
