/**
 * Real repositories for retention tests: a folder opened by the real fs store (marker, files/,
 * tmp/), uploads written in the store's own on-disk format (format.ts) but with chosen times, so
 * age rules can be tested without waiting, temp files with chosen mtimes, and an openfire.xml.
 */
import { mkdtemp, open, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { FsStore } from '../../src/storage/fs/index.ts';
import { encodeHeader } from '../../src/storage/fs/format.ts';
import type { UploadMeta } from '../../src/storage/store.ts';
import { newSlotId } from '../../src/slots/id.ts';
import { indexLedger } from '../../src/repository/open.ts';
import type { Ledger } from '../../src/inventory/ledger.ts';
import { openfireXml, runFileupload, type ServeConfig } from '../support/serve.ts';

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export interface TestRepo {
  dir: string;
  /** openfire.xml naming this repository as fileRepo. */
  config: string;
  store: FsStore;
  ledger: Ledger;
  /** Writes a published upload (body of `size` bytes) with the given fields; `index` records it in the ledger. */
  add(fields?: Partial<UploadMeta> & { ageMs?: number }, options?: { index?: boolean }): Promise<UploadMeta>;
  /** Writes a temp file (unfinished upload) last modified `idleMs` ago. */
  addPartial(size: number, idleMs: number): Promise<string>;
  /** Rewrites the configuration. */
  configure(props: ServeConfig): Promise<void>;
  /** Runs `fileupload --config … ARGS` as a real process. */
  cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  remove(): Promise<void>;
}

/**
 * Creates a repository in a fresh temp folder (or in `dir`, e.g. a tmpfs mount).
 *
 * @example
 * const repo = await makeRepo({ maxAge: '7d' });
 * await repo.add({ ageMs: 8 * DAY, size: 100 });
 * const r = await repo.cli('purge', '--json');
 */
export async function makeRepo(props: ServeConfig = {}, dir?: string): Promise<TestRepo> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'fileupload-retention-')));
  const store = new FsStore(root, { durable: false });
  await store.open();
  await store.close();
  const confDir = await mkdtemp(join(tmpdir(), 'fileupload-retention-conf-'));
  const config = join(confDir, 'openfire.xml');
  const repo: TestRepo = {
    dir: root,
    config,
    store,
    ledger: indexLedger(root),
    async add(fields = {}, options = {}) {
      const now = Date.now();
      const { ageMs = 0, ...rest } = fields;
      const meta: UploadMeta = {
        id: newSlotId(),
        filename: 'file.bin',
        size: 16,
        contentType: 'application/octet-stream',
        uploader: 'alice@example.org',
        issuedAt: now - ageMs - 1000,
        storedAt: now - ageMs,
        purpose: 'message',
        ...rest,
      };
      const fh = await open(
        join(root, 'files', meta.id),
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        0o644,
      );
      try {
        await fh.write(encodeHeader(meta));
        const chunk = Buffer.alloc(Math.min(meta.size, 1 << 20), 0x61);
        for (let left = meta.size; left > 0; left -= chunk.length)
          await fh.write(chunk, 0, Math.min(left, chunk.length));
      } finally {
        await fh.close();
      }
      if (options.index) await repo.ledger.recordUploadStored(meta, { perUserQuota: true });
      return meta;
    },
    async addPartial(size, idleMs) {
      const name = `${newSlotId()}.${randomBytes(6).toString('base64url')}.part`;
      const path = join(root, 'tmp', name);
      await writeFile(path, Buffer.alloc(size));
      const t = (Date.now() - idleMs) / 1000;
      await utimes(path, t, t);
      return name;
    },
    async configure(p) {
      await writeFile(config, openfireXml({ fileRepo: root, ...p }));
    },
    cli(...args) {
      return runFileupload(['--config', config, ...args]);
    },
    async remove() {
      await rm(confDir, { recursive: true, force: true });
      if (!dir) await rm(root, { recursive: true, force: true });
    },
  };
  await repo.configure(props);
  return repo;
}

/** The ids in a purge --json document, by rule. */
export function idsByRule(doc: { deletions: Array<{ id: string; rule: string }> }): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of doc.deletions) (out[d.rule] ??= []).push(d.id);
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
}
