import type { Context } from 'hono';
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { HttpEnv } from './index.ts';
import type { HttpDeps } from './deps.ts';
import type { ReadSelection, StoredBody, UploadMeta } from '../storage/store.ts';
import { corsHeaders } from './cors.ts';
import { emptyReply, textReply } from './reply.ts';
import { parseUploadPath } from './path.ts';
import { decideDownload, type DownloadDecision } from './download-policy.ts';
import { downloadHeaders, SAFE_HEADERS, validatorHeaders } from './headers.ts';
import { contentRange } from './range.ts';

/**
 * GET and HEAD {root}/{id}/{filename}: the stored bytes with the stored type and the safe
 * headers. One open of the upload decides everything (404 wrong name, 410 expired ephemeral,
 * 304, 416, 206, 200); bodies are written straight to the socket in large chunks.
 *
 * @example
 * app.get(`${root}/:id/:filename`, (c) => handleGet(c, deps)); // Hono routes HEAD here too
 */
export async function handleGet(c: Context<HttpEnv>, deps: HttpDeps): Promise<Response> {
  const started = performance.now();
  const { incoming, outgoing } = c.env;
  const method = incoming.method === 'HEAD' ? 'HEAD' : 'GET';
  const cors = corsHeaders(incoming.headers.origin, deps.settings.corsOrigins, false);
  const remote = incoming.socket.remoteAddress;
  const path = parseUploadPath(incoming.url ?? '', deps.root);
  const answer = (status: number, message: string, extra: Record<string, string> = {}): Response => {
    deps.record({ method, status, bytes: 0, started, id: path?.id, remote, reason: message });
    return textReply(status, message, { ...cors, ...extra });
  };
  if (!path) return answer(404, 'not found');

  const h = incoming.headers;
  const now = deps.now();
  let decision: DownloadDecision = { kind: 'not-found' };
  const decide = (meta: UploadMeta): ReadSelection => {
    decision = decideDownload(
      meta,
      path.filename,
      { ifNoneMatch: one(h['if-none-match']), ifModifiedSince: h['if-modified-since'], range: h.range, ifRange: one(h['if-range']) },
      now,
    );
    if (decision.kind === 'full') return undefined;
    if (decision.kind === 'partial') return { start: decision.start, end: decision.end };
    return null;
  };

  let meta: UploadMeta;
  let stored: Awaited<ReturnType<typeof deps.store.read>>;
  if (method === 'HEAD') {
    const m = await deps.store.stat(path.id);
    if (m) decide(m);
    stored = m && { meta: m, body: noBody() };
  } else {
    stored = await deps.store.read(path.id, decide);
  }
  if (!stored) return answer(404, 'not found');
  meta = stored.meta;
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
      return emptyReply(304, { ...validatorHeaders(meta, now), ...cors });
  }

  const partial = d.kind === 'partial';
  const length = partial ? d.end - d.start + 1 : meta.size;
  const headers: Record<string, string> = { ...SAFE_HEADERS, ...downloadHeaders(meta, length, now), ...cors };
  if (partial) headers['Content-Range'] = contentRange(d, meta.size);
  const status = partial ? 206 : 200;

  if (method === 'HEAD') {
    deps.record({ method, status, bytes: 0, started, id: path.id, remote });
    return new Response(null, { status, headers });
  }
  const complete = await send(outgoing, status, headers, stored);
  deps.record({ method, status, bytes: complete ? length : 0, started, id: path.id, remote, reason: complete ? undefined : 'not completed' });
  return RESPONSE_ALREADY_SENT;
}

/**
 * Writes head and body to the socket directly, through the store's pipeTo when it has one (reused
 * buffers; a small body goes out in one write with the headers), else piped (backpressure, and
 * the file is closed if the client goes away). strictContentLength
 * turns a body that ends short (file damaged under us) into a reset instead of a hung client.
 * Resolves false when the body could not be completed (client gone, file damaged).
 */
async function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  stored: StoredBody,
): Promise<boolean> {
  try {
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
    // (pipeTo and pipeline release the store's handle themselves on failure.)
    res.destroy();
    return false;
  }
}

/** A header that may repeat, as one value (repeats joined, as RFC 9110 lists are). */
function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

async function* noBody(): AsyncIterable<Uint8Array> {}
