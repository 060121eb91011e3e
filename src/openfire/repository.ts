/**
 * The Openfire plugin's file repository (`fileRepo`): every upload is one raw file named by its id
 * directly in that folder — `{fileRepo}/{id}`, no metadata, no file name (the component library's
 * DirectoryRepository). An id is 27 base64url characters (SecureUUID: 20 random bytes, unpadded)
 * or, from older versions, a canonical lower-case UUID (LegacyUUID); the plugin serves
 * `{contextRoot}/{id}/{any name}`. The scan streams the folder, so memory stays flat however many
 * files it holds, and reports everything else it meets with the reason it is not an upload.
 */
import { opendir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isImportedId } from '../slots/id.ts';
import { SNIFF_BYTES, sniffContentType } from './sniff.ts';

/** An upload of the plugin. */
export interface PluginUpload {
  kind: 'upload';
  id: string;
  path: string;
  size: number;
  /** Last modification, taken as the upload's creation time (the plugin keeps nothing else). */
  mtimeMs: number;
  contentType: string;
}

/** An entry of the folder that is not an upload, and why. */
export interface SkippedEntry {
  kind: 'skipped';
  name: string;
  path: string;
  reason: string;
}

/**
 * Whether a file name is an id the plugin hands out and serves.
 *
 * @example
 * isPluginUploadId('-q3W0n7V4uXy1Z2a_bC-dEfGhIj'); // true (27 characters)
 * isPluginUploadId('9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c'); // true
 */
export function isPluginUploadId(name: string): boolean {
  // SecureUUID (27 base64url characters) or LegacyUUID (UUID.toString(): lower case): the ids
  // fileupload keeps for the uploads it imports.
  return isImportedId(name);
}

/**
 * Yields each upload in the plugin's repository folder and each entry skipped, in directory
 * order. The content type comes from the first bytes (the plugin kept none); `sniff: false` skips
 * reading them (application/octet-stream).
 *
 * @example
 * for await (const e of scanPluginRepository('/var/lib/openfire/httpfileupload')) {
 *   if (e.kind === 'upload') console.log(e.id, e.size, e.contentType);
 *   else console.warn(`${e.name}: ${e.reason}`);
 * }
 */
export async function* scanPluginRepository(
  dir: string,
  opts: { sniff?: boolean } = {},
): AsyncGenerator<PluginUpload | SkippedEntry> {
  const sniff = opts.sniff !== false;
  const head = Buffer.alloc(SNIFF_BYTES);
  for await (const entry of await opendir(dir, { bufferSize: 256 })) {
    const name = entry.name;
    const path = join(dir, name);
    const skip = (reason: string): SkippedEntry => ({ kind: 'skipped', name, path, reason });
    if (!isPluginUploadId(name)) {
      yield skip(
        /^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$/.test(name)
          ? 'an upper-case UUID: the plugin looks up the lower-case name, so it never served this file'
          : 'not a plugin upload id (27 base64url characters or a lower-case UUID)',
      );
      continue;
    }
    // The plugin follows symbolic links (Files.exists, newInputStream): so does the scan.
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      yield skip(`cannot be read: ${(err as Error).message}`);
      continue;
    }
    if (!st.isFile()) {
      yield skip(st.isDirectory() ? 'a directory, not a raw upload file' : 'not a regular file');
      continue;
    }
    let contentType = 'application/octet-stream';
    if (sniff && st.size > 0) {
      try {
        const fh = await open(path, 'r');
        try {
          const { bytesRead } = await fh.read(head, 0, SNIFF_BYTES, 0);
          contentType = sniffContentType(head.subarray(0, bytesRead));
        } finally {
          await fh.close();
        }
      } catch (err) {
        yield skip(`cannot be read: ${(err as Error).message}`);
        continue;
      }
    }
    yield { kind: 'upload', id: name, path, size: st.size, mtimeMs: st.mtimeMs, contentType };
  }
}
