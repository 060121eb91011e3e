/**
 * The repository part of `import openfire`: every raw file of the Openfire plugin's repository
 * (`{fileRepo}/{id}`) becomes an upload of this repository under the same id, so the plugin's
 * URLs keep working. The plugin kept no metadata, so an imported upload gets: its file's size;
 * its modification time as creation and publish time (so age rules see its real age); the content
 * type sniffed from its first bytes; no uploader (an empty one, which no JID matches, so per-user
 * commands and quotas never count it); the purpose `message`; and its id as stored file name
 * (GET names it after the URL's last segment instead, as the plugin's links did).
 *
 * Every upload is copied through the store (the fs store's metadata header, or an S3 object,
 * streamed), so imported uploads are read, listed and purged by the same code as any other.
 * `move` removes each plugin file once its copy is published and unchanged since, so the extra
 * disk an import needs is one file, not the repository. A re-run skips ids already stored.
 */
import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import type { Store, UploadMeta } from '../storage/store.ts';
import type { Ledger } from '../inventory/ledger.ts';
import { scanPluginRepository, type SkippedEntry } from '../openfire/repository.ts';

/** The uploader recorded for imported uploads: none (the plugin kept none). */
export const IMPORTED_UPLOADER = '';

/** How the plugin's files are taken over. */
export type ImportMode = 'copy' | 'move';

/** What an import did (or, in a dry run, would do). */
export interface UploadImportResult {
  /** Plugin uploads found. */
  found: number;
  /** Imported now (dry run: would be). */
  imported: number;
  importedBytes: number;
  /** Already in the repository with the same size (an earlier run). */
  already: number;
  /** Plugin files removed after their copy (move; dry run: would be). */
  removed: number;
  /** Entries of the folder that are not plugin uploads, with why. */
  skipped: { name: string; reason: string }[];
  /** Uploads that could not be imported, with why (the rest went on). */
  failed: { id: string; reason: string }[];
}

export interface UploadImportOptions {
  /** The plugin's repository folder. */
  source: string;
  /** This repository's store; undefined in a dry run whose repository does not exist yet. */
  store: Store | undefined;
  /** Records each import in the inventory index (usage, listings); undefined in a dry run. */
  ledger: Ledger | undefined;
  mode: ImportMode;
  dryRun: boolean;
  /** Entry names of the folder to pass over silently (this repository's own, when it is the same folder). */
  ignore?: ReadonlySet<string>;
  /** Called after each upload (progress). */
  onUpload?: (id: string, outcome: 'imported' | 'already' | 'failed') => void;
}

/**
 * Imports the plugin's uploads into `store`. Never throws for one upload (it is listed in
 * `failed`); throws when the folder itself cannot be read.
 *
 * @example
 * const r = await importPluginUploads({ source: '/var/lib/openfire/httpfileupload', store, ledger, mode: 'copy', dryRun: false });
 * console.log(`${r.imported} imported, ${r.already} already there`);
 */
export async function importPluginUploads(options: UploadImportOptions): Promise<UploadImportResult> {
  const { store, ledger } = options;
  const result: UploadImportResult = {
    found: 0,
    imported: 0,
    importedBytes: 0,
    already: 0,
    removed: 0,
    skipped: [],
    failed: [],
  };
  for await (const entry of scanPluginRepository(options.source)) {
    if (entry.kind === 'skipped') {
      if (!options.ignore?.has(entry.name)) result.skipped.push(skipped(entry));
      continue;
    }
    result.found++;
    try {
      const existing = store ? await store.stat(entry.id) : undefined;
      if (existing) {
        if (existing.size !== entry.size)
          throw new Error(
            `this repository already holds ${entry.id} with ${existing.size} bytes, the plugin's file has ${entry.size}: left as it is`,
          );
        result.already++;
        options.onUpload?.(entry.id, 'already');
        continue;
      }
      if (options.dryRun) {
        result.imported++;
        result.importedBytes += entry.size;
        if (options.mode === 'move') result.removed++;
        continue;
      }
      if (!store || !ledger) throw new Error('no repository to import into');
      const at = Math.floor(entry.mtimeMs);
      const meta: Omit<UploadMeta, 'storedAt'> = {
        id: entry.id,
        filename: entry.id,
        size: entry.size,
        contentType: entry.contentType,
        uploader: IMPORTED_UPLOADER,
        issuedAt: at,
        purpose: 'message',
      };
      const stored = await store.write(meta, createReadStream(entry.path), { storedAt: at });
      // Its stored entry too, as serve writes one under a per-user quota: `slots ls` then lists
      // it from the index at once instead of from purge's next repair pass on.
      await ledger.recordUploadStored(stored, { perUserQuota: true });
      result.imported++;
      result.importedBytes += entry.size;
      options.onUpload?.(entry.id, 'imported');
      if (options.mode === 'move') {
        // Only a file the plugin left alone since the scan: its copy is then exactly it.
        const now = await stat(entry.path);
        if (now.size === entry.size && now.mtimeMs === entry.mtimeMs) {
          await unlink(entry.path);
          result.removed++;
        } else {
          result.failed.push({ id: entry.id, reason: 'changed while it was copied: the plugin file is kept' });
        }
      }
    } catch (err) {
      result.failed.push({ id: entry.id, reason: (err as Error).message });
      options.onUpload?.(entry.id, 'failed');
    }
  }
  return result;
}

function skipped(e: SkippedEntry): { name: string; reason: string } {
  return { name: e.name, reason: e.reason };
}
