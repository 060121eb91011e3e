import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { HttpDeps, NodeHandler } from './deps.ts';
import type { ReadSelection, StoredBody, UploadMeta } from '../storage/store.ts';
import { UploadRemovedError } from '../storage/errors.ts';
import { corsHeaders } from './cors.ts';
import { writeEmpty, writeText } from './reply.ts';
import { parseDownloadPath } from './path.ts';
import { decideDownload, type DownloadDecision } from './download-policy.ts';
import { downloadHeaders, SAFE_HEADERS, validatorHeaders } from './headers.ts';
import { contentRange } from './range.ts';
import { processSendfile, type SendfileAddon } from '../native/sendfile.ts';
import { SENDFILE_MIN_BYTES, sendfileSender, sendfileSocket } from './sendfile.ts';
import { sendNow } from './send-now.ts';
import { HeadMemo } from './head-memo.ts';
import { requestRemote } from './connection-limit.ts';

/**
 * GET and HEAD: the route `GET {root}/*` (app.ts), on the Node request/response.
 *
 * {root}/{id}/{filename}: the stored bytes with the stored type and the safe headers. One read of
 * the upload decides everything (404 wrong name, 410 expired ephemeral or removed for good, 304,
 * 416, 206, 200);
 * bodies are written straight to the socket. An upload imported from the Openfire plugin answers
 * its old URL, {root}/{id}/{anything} (path.ts); anything else under {root}/ is 404.
 *
 * @example
 * const download = createDownloadHandler(deps);
 * createServer((req, res) => void download(req, res, performance.now()));
 */
export function createDownloadHandler(deps: HttpDeps): NodeHandler {
  const { logger } = deps;
  // Large bodies go by sendfile(2), small ones held in memory by one sendmsg(2) (send-now.ts),
  // when the addon loads (not with FILEUPLOAD_SENDFILE=0).
  const native = processSendfile();
  if (native.addon) logger.debug('large downloads use sendfile', { from: native.from });
  else logger.info('large downloads are copied through memory (no sendfile)', { reason: native.reason });
  const sendfile = native.addon;
  const heads = new HeadMemo();
  return (req, res, started) => serveDownload(req, res, deps, started, sendfile, heads);
}

async function serveDownload(
  req: IncomingMessage,
  res: ServerResponse,
  deps: HttpDeps,
  started: number,
  sendfile: SendfileAddon | undefined,
  heads: HeadMemo,
): Promise<void> {
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  const h = req.headers;
  const cors = corsHeaders(h.origin, deps.settings.corsOrigins, false);
  const remote = requestRemote(req);
  const path = parseDownloadPath(req.url ?? '', deps.root);
  const answer = (status: number, message: string, extra?: Record<string, string>): void => {
    deps.record({ method, status, bytes: 0, started, id: path?.id, remote, reason: message });
    writeText(res, status, message, extra ? { ...cors, ...extra } : cors);
  };
  if (!path) return answer(404, 'not found');

  const now = deps.now();
  let decision: DownloadDecision = { kind: 'not-found' };
  const decide = (meta: UploadMeta): ReadSelection => {
    decision = decideDownload(
      meta,
      // The Openfire plugin kept no name: any name after an imported id is the upload's own.
      path.imported ? meta.filename : path.filename,
      {
        ifNoneMatch: one(h['if-none-match']),
        ifModifiedSince: h['if-modified-since'],
        range: h.range,
        ifRange: one(h['if-range']),
      },
      now,
    );
    if (decision.kind === 'full') return undefined;
    if (decision.kind === 'partial') return { start: decision.start, end: decision.end };
    return null;
  };

  // HEAD needs the metadata alone (one lstat for an upload in the store's cache).
  let stored: StoredBody | undefined;
  let found: UploadMeta | undefined;
  if (method === 'HEAD') {
    found = await deps.store.stat(path.id);
    if (found) decide(found);
    // A miss costs one more look: a tombstone (removed for good, taken down) answers 410.
    else if ((await deps.store.occupant(path.id)) === 'tombstone') return answer(410, 'removed');
  } else {
    try {
      stored = await deps.store.read(path.id, decide);
    } catch (err) {
      if (err instanceof UploadRemovedError) return answer(410, 'removed');
      throw err;
    }
    found = stored?.meta;
  }
  if (!found) return answer(404, 'not found');
  // An imported upload is named by its URL, as the Openfire plugin's downloads were.
  const meta = path.imported ? { ...found, filename: path.filename } : found;
  // Set by decide() inside read(); TypeScript cannot see the callback ran.
  const d = decision as DownloadDecision;

  switch (d.kind) {
    case 'not-found':
      return answer(404, 'not found');
    case 'gone':
      return answer(410, 'expired');
    case 'unsatisfiable':
      return answer(416, 'range not satisfiable', { 'Content-Range': contentRange(undefined, meta.size) });
    case 'not-modified':
      deps.record({ method, status: 304, bytes: 0, started, id: path.id, remote });
      return writeEmpty(res, 304, { ...validatorHeaders(meta, now), ...cors });
  }

  const partial = d.kind === 'partial';
  const length = partial ? d.end - d.start + 1 : meta.size;
  let headers: Record<string, string>;
  // A full answer of an upload that does not expire gets the same headers object every time.
  const reusable = !partial && meta.expireBefore === undefined;
  if (partial) {
    headers = { ...SAFE_HEADERS, ...downloadHeaders(meta, length, now), ...cors };
    headers['Content-Range'] = contentRange(d, meta.size);
  } else {
    headers = fullHeaders(meta, now, cors);
  }
  const status = partial ? 206 : 200;

  // (No `stored` means HEAD: a GET that found the upload has its body.)
  if (method === 'HEAD' || !stored) {
    deps.record({ method, status, bytes: 0, started, id: path.id, remote });
    heads.writeHead(res, status, headers, reusable);
    sendNow(sendfile, res);
    return;
  }
  if (stored.bytes) {
    // Already in memory (a small upload): head and body leave in one write.
    heads.writeHead(res, status, headers, reusable);
    const sent = sendNow(sendfile, res, stored.bytes);
    deps.record({
      method,
      status,
      bytes: sent ? length : 0,
      started,
      id: path.id,
      remote,
      reason: sent ? undefined : 'not completed',
    });
    return;
  }
  const complete = await send(res, status, headers, stored, length >= SENDFILE_MIN_BYTES ? sendfile : undefined);
  deps.record({
    method,
    status,
    bytes: complete ? length : 0,
    started,
    id: path.id,
    remote,
    reason: complete ? undefined : 'not completed',
  });
}

/**
 * The headers of a 200 for `meta`. A download of a popular small file is answered from the
 * store's cache with the same meta object each time, so the headers are computed once per meta
 * (unless they depend on the clock: ephemeral uploads) and per CORS answer.
 */
const fullHeaderMemo = new WeakMap<UploadMeta, { cors: Record<string, string>; headers: Record<string, string> }>();
function fullHeaders(meta: UploadMeta, now: number, cors: Record<string, string>): Record<string, string> {
  if (meta.expireBefore !== undefined) return { ...SAFE_HEADERS, ...downloadHeaders(meta, meta.size, now), ...cors };
  const memo = fullHeaderMemo.get(meta);
  if (memo !== undefined && sameHeaders(memo.cors, cors)) return memo.headers;
  const headers = { ...SAFE_HEADERS, ...downloadHeaders(meta, meta.size, now), ...cors };
  fullHeaderMemo.set(meta, { cors, headers });
  return headers;
}

function sameHeaders(a: Record<string, string>, b: Record<string, string>): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Writes head and body to the socket directly: by sendfile from the store's file when `sendfile`
 * is given (a large body) and the connection is plain TCP, else through the store's pipeTo when
 * it has one (reused buffers; a small body goes out in one write with the headers), else piped
 * (backpressure, and the file is closed if the client goes away). strictContentLength (and
 * sendFile's own count) turns a body that ends short (file damaged under us) into a reset
 * instead of a hung client. Resolves false when the body could not be completed (client gone,
 * file damaged).
 */
async function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  stored: StoredBody,
  sendfile: SendfileAddon | undefined,
): Promise<boolean> {
  try {
    const socket = sendfile && stored.sendFile ? sendfileSocket(res) : undefined;
    if (sendfile && socket && stored.sendFile) {
      await stored.sendFile(sendfileSender(sendfile, res, socket, status, headers));
      res.end();
      return true;
    }
    res.strictContentLength = true;
    res.writeHead(status, headers);
    if (stored.pipeTo) {
      await stored.pipeTo(res);
      // With strictContentLength, end() throws when fewer bytes than announced went out.
      res.end();
    } else {
      await pipeline(stored.body, res);
    }
    return true;
  } catch {
    // Client gone or body short: the response cannot be completed; make sure the socket dies.
    // (sendFile, pipeTo and pipeline release the store's handle themselves on failure.)
    res.destroy();
    return false;
  }
}

/** A header that may repeat, as one value (repeats joined, as RFC 9110 lists are). */
function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
