/**
 * Refusing blocked content: the inspector (storage/store.ts UploadInspector) that hashes an
 * upload's bytes before it is published and refuses them when their sha256 is on the blocklist.
 * The fs store hands it the finished temp file (so the splice path of large bodies stays); the S3
 * store the chunks as they pass on to the bucket. An upload is hashed only while the list has
 * entries: with an empty list the file is not read at all.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Logger } from '../log.ts';
import { UploadRefusedError } from '../storage/errors.ts';
import type { InspectionFeed, UploadInspector, UploadMeta } from '../storage/store.ts';

/** The answer to a blocked upload: 403, as for any upload the service will not take. */
export const BLOCKED_STATUS = 403;
export const BLOCKED_MESSAGE = 'blocked content';

/**
 * The sha256 (lower-case hex) of the file at `path` from byte `start` on.
 *
 * @example
 * await sha256OfFile('/srv/upload/tmp/x.part', 212);
 */
export async function sha256OfFile(path: string, start = 0): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The sha256 (lower-case hex) of a stream of chunks.
 *
 * @example
 * await sha256OfChunks((await store.read(id))!.body);
 */
export async function sha256OfChunks(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

export interface BlocklistInspectorOptions {
  /** The blocked hashes now (BlocklistView.hashes). */
  hashes: () => Promise<ReadonlySet<string>>;
  logger: Logger;
  /** Told every refusal (status counters). */
  onBlocked?: (meta: UploadMeta, sha256: string) => void;
}

/**
 * The inspector that refuses (UploadRefusedError 403 "blocked content") an upload whose sha256 is
 * on the blocklist; a refusal is logged with the slot id and the hash.
 *
 * @example
 * const inspect = createBlocklistInspector({ hashes: () => view.hashes(), logger });
 * await store.write(meta, body, { inspect });
 */
export function createBlocklistInspector(options: BlocklistInspectorOptions): UploadInspector {
  const { hashes, logger } = options;
  const decide = (meta: UploadMeta, sha256: string, blocked: ReadonlySet<string>): void => {
    if (!blocked.has(sha256)) return;
    options.onBlocked?.(meta, sha256);
    logger.warn('upload refused: blocked content', { id: meta.id, sha256 });
    throw new UploadRefusedError(BLOCKED_STATUS, BLOCKED_MESSAGE);
  };
  return {
    async inspectFile(meta, path, start) {
      const blocked = await hashes();
      if (blocked.size === 0) return;
      decide(meta, await sha256OfFile(path, start), blocked);
    },
    inspectStream(meta): InspectionFeed {
      // Whether to hash is decided once, before the first chunk: the hash needs every byte.
      const ready = hashes().then((blocked) => (blocked.size > 0 ? createHash('sha256') : undefined));
      ready.catch(() => {});
      return {
        async push(chunk) {
          (await ready)?.update(chunk);
        },
        async end() {
          const hash = await ready;
          if (hash) decide(meta, hash.digest('hex'), await hashes());
        },
        abort() {},
      };
    },
  };
}
