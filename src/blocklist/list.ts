/**
 * The blocklist document (pure): which contents, by the sha256 of their bytes, may not be stored.
 * Each entry says when it was added, by whom and why, so a list read a year later still explains
 * itself. Stored as one small JSON document:
 *
 *   {"entries":[{"sha256":"<64 lower-case hex>","added":"2030-06-01T12:00:00.000Z","by":"root@host","note":"…"}]}
 */

/** One blocked content. */
export interface BlocklistEntry {
  /** sha256 of the bytes, 64 lower-case hex digits. */
  sha256: string;
  /** When it was added (ISO 8601 UTC). */
  added: string;
  /** Who added it: a user and host for the CLI, the admin API, an admin JID. */
  by: string;
  /** Why (free text, may be empty). */
  note: string;
}

/**
 * A blocklist document that cannot be read as one: named with its location, never overwritten.
 *
 * @example
 * if (err instanceof BlocklistSyntaxError) console.error(err.message);
 */
export class BlocklistSyntaxError extends Error {
  constructor(location: string, detail: string) {
    super(`${location}: not a blocklist (${detail}); fix or remove it by hand`);
    this.name = 'BlocklistSyntaxError';
  }
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * True when `text` is a sha256 as the blocklist keeps it (64 lower-case hex digits).
 *
 * @example
 * isSha256('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'); // true
 */
export function isSha256(text: string): boolean {
  return SHA256.test(text);
}

/**
 * The hash as the blocklist keeps it (lower case), or undefined when `text` is no sha256 in hex.
 *
 * @example
 * normalizeSha256('E3B0C442…'); // 'e3b0c442…'
 */
export function normalizeSha256(text: string): string | undefined {
  const lower = text.trim().toLowerCase();
  return isSha256(lower) ? lower : undefined;
}

/**
 * The entries of a document (`text` undefined or blank: none). Throws BlocklistSyntaxError for
 * anything else than a well-formed list.
 *
 * @example
 * parseBlocklist('{"entries":[]}', '/srv/upload/blocklist.json'); // []
 */
export function parseBlocklist(text: string | undefined, location: string): BlocklistEntry[] {
  if (text === undefined || text.trim() === '') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BlocklistSyntaxError(location, (err as Error).message);
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw new BlocklistSyntaxError(location, 'no "entries" list');
  const seen = new Set<string>();
  const out: BlocklistEntry[] = [];
  for (const [i, e] of entries.entries()) {
    const r = e as Partial<Record<keyof BlocklistEntry, unknown>> | null;
    if (typeof r?.sha256 !== 'string' || !isSha256(r.sha256))
      throw new BlocklistSyntaxError(location, `entry ${i + 1}: "sha256" is not 64 lower-case hex digits`);
    if (seen.has(r.sha256)) continue;
    seen.add(r.sha256);
    out.push({
      sha256: r.sha256,
      added: typeof r.added === 'string' ? r.added : '',
      by: typeof r.by === 'string' ? r.by : '',
      note: typeof r.note === 'string' ? r.note : '',
    });
  }
  return out;
}

/**
 * The document for `entries` (one entry per line, so a diff of two versions reads well).
 *
 * @example
 * await writeFile(path, serializeBlocklist(entries));
 */
export function serializeBlocklist(entries: readonly BlocklistEntry[]): string {
  if (entries.length === 0) return '{"entries":[]}\n';
  return `{"entries":[\n${entries.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`;
}

/**
 * `entries` with `entry` added; undefined when its hash is listed already (the first entry, with
 * its date and note, stays).
 *
 * @example
 * const next = withEntry(entries, { sha256, added: new Date().toISOString(), by: 'root@host', note: '' });
 */
export function withEntry(entries: readonly BlocklistEntry[], entry: BlocklistEntry): BlocklistEntry[] | undefined {
  if (entries.some((e) => e.sha256 === entry.sha256)) return undefined;
  return [...entries, entry];
}

/**
 * `entries` without `sha256`; undefined when it is not listed.
 *
 * @example
 * const next = withoutEntry(entries, sha256);
 */
export function withoutEntry(entries: readonly BlocklistEntry[], sha256: string): BlocklistEntry[] | undefined {
  const next = entries.filter((e) => e.sha256 !== sha256);
  return next.length === entries.length ? undefined : next;
}
