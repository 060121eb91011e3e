import { isImportedId, isSlotId } from '../slots/id.ts';

/**
 * Reads `{contextRoot}/{id}/{filename}` from a raw request target, exactly: one id segment that is
 * a slot id, one filename segment decoded once. Dot segments, empty segments (`//`), extra
 * segments and undecodable escapes are refused rather than normalised, so what reaches storage
 * is always a bare slot id and no path can be smuggled through any spelling.
 */

/** The parts of an upload URL path. */
export interface UploadPath {
  id: string;
  /** Decoded filename (may contain any character but `/` is impossible by construction). */
  filename: string;
  /** The raw query string without "?" ("" when none). */
  query: string;
}

/**
 * @example
 * parseUploadPath('/httpfileupload/AAAAAAAAAAAAAAAAAAAAAAAA/a%20b.png?t=x', '/httpfileupload');
 * // { id: 'AAAAAAAAAAAAAAAAAAAAAAAA', filename: 'a b.png', query: 't=x' }
 * parseUploadPath('/httpfileupload/%2e%2e/etc/passwd', '/httpfileupload'); // undefined
 */
export function parseUploadPath(target: string, contextRoot: string): UploadPath | undefined {
  let raw = target;
  if (!raw.startsWith('/')) {
    // absolute-form (a request line with a full URL): keep only path and query.
    const scheme = raw.indexOf('://');
    if (scheme <= 0) return undefined;
    const slash = raw.indexOf('/', scheme + 3);
    if (slash === -1) return undefined;
    raw = raw.slice(slash);
  }
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? '' : raw.slice(q + 1);
  const root = contextRoot.replace(/\/+$/, '');
  if (!path.startsWith(`${root}/`)) return undefined;
  const rest = path.slice(root.length + 1);
  const slash = rest.indexOf('/');
  if (slash === -1 || rest.indexOf('/', slash + 1) !== -1) return undefined;
  const id = rest.slice(0, slash);
  if (!isSlotId(id)) return undefined;
  let filename: string;
  try {
    filename = decodeURIComponent(rest.slice(slash + 1));
  } catch {
    return undefined;
  }
  if (filename === '' || filename === '.' || filename === '..' || /[/\\\0]/.test(filename)) return undefined;
  return { id, filename, query };
}

/** A GET/HEAD path; `imported`: the Openfire plugin's old URL of an imported upload. */
export type DownloadPath = UploadPath & { imported: boolean };

/** The Openfire plugin's old ids as its URLs may spell them: a UUID in any case (it looks up the lower-case one). */
const ANY_CASE_UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/**
 * Reads a GET/HEAD target: an upload path exactly as {@link parseUploadPath} does, or the
 * Openfire plugin's old URL of an imported upload, `{contextRoot}/{id}/{name}`. The plugin read
 * only the id (the segment before the last) and served any name after it, so any name is taken
 * here too: decoded once when that gives a plain name, else the id stands for it (the name is only
 * ever shown in Content-Disposition; nothing of it reaches storage). A UUID is looked up in lower
 * case, as the plugin did. PUT and OPTIONS never take these paths.
 *
 * @example
 * parseDownloadPath('/httpfileupload/9B2F4C1E-8D3A-4F6B-A1C2-3D4E5F6A7B8C/cat.jpg', '/httpfileupload');
 * // { id: '9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c', filename: 'cat.jpg', query: '', imported: true }
 */
export function parseDownloadPath(target: string, contextRoot: string): DownloadPath | undefined {
  const upload = parseUploadPath(target, contextRoot);
  if (upload) return { ...upload, imported: false };
  let raw = target;
  if (!raw.startsWith('/')) {
    const scheme = raw.indexOf('://');
    const slash = scheme <= 0 ? -1 : raw.indexOf('/', scheme + 3);
    if (slash === -1) return undefined;
    raw = raw.slice(slash);
  }
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const root = `${contextRoot.replace(/\/+$/, '')}/`;
  if (!path.startsWith(root)) return undefined;
  const parts = path.slice(root.length).split('/');
  if (parts.length !== 2 || parts[1] === '') return undefined;
  const id = ANY_CASE_UUID.test(parts[0]!) ? parts[0]!.toLowerCase() : parts[0]!;
  if (!isImportedId(id)) return undefined;
  let filename: string;
  try {
    filename = decodeURIComponent(parts[1]!);
  } catch {
    filename = id;
  }
  // A name no file system would hold is not one: the id stands for it.
  if (filename === '.' || filename === '..' || /[/\\\0]/.test(filename) || Buffer.byteLength(filename) > 255)
    filename = id;
  return { id, filename, query: q === -1 ? '' : raw.slice(q + 1), imported: true };
}

/**
 * The slot token of a PUT: `?t=` in the URL (legacy clients cannot send headers), else an
 * `Authorization: Bearer` header. The query value is taken as written, not percent- or
 * `+`-decoded: a token is base64url and dots, which never need escaping, so a token has one
 * spelling in a URL too (an escaped or altered one fails verification).
 *
 * @example
 * slotToken('t=abc.def', undefined);          // "abc.def"
 * slotToken('', 'Bearer abc.def');            // "abc.def"
 * slotToken('t=abc%2Edef', undefined);        // "abc%2Edef" (which does not verify)
 */
export function slotToken(query: string, authorization: string | undefined): string | undefined {
  for (const field of query === '' ? [] : query.split('&')) {
    if (!field.startsWith('t=')) continue;
    const t = field.slice(2);
    if (t !== '') return t;
    break;
  }
  const m = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return m?.[1];
}
