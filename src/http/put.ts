import type { IncomingMessage, ServerResponse } from 'node:http';
import { callHook, type HttpDeps, type NodeHandler } from './deps.ts';
import { corsHeaders } from './cors.ts';
import { writeText } from './reply.ts';
import { parseUploadPath, slotToken } from './path.ts';
import { essence, sameMediaType, FALLBACK_CONTENT_TYPE } from './media-type.ts';
import { verifySlot } from '../slots/sign.ts';
import { announcedEndpoint, baseUrl, encodePathSegment } from '../slots/urls.ts';
import { StoreError, UploadExistsError, UploadRefusedError } from '../storage/errors.ts';
import { requestBody } from './request-body.ts';
import { processSendfile, type SendfileAddon } from '../native/sendfile.ts';
import { requestRemote } from './connection-limit.ts';
import { uploadDeadline } from '../slots/deadline.ts';
import { UploadTimeoutError, watchUpload, type UploadWatch } from './upload-watch.ts';
import type { SlotHolder } from './gate.ts';
import { errCode } from '../errno.ts';

/**
 * PUT {root}/{id}/{filename}?t={token}: checks everything that can be checked before reading a
 * byte (slot signature and expiry, size limit, Content-Length, Content-Type, existence), takes
 * the slot for this upload, then streams the body into the store, which counts it (never past
 * the slot's size) and publishes atomically.
 *
 * One upload per slot at a time: a PUT of a slot whose upload is running gets 409 before any
 * byte is stored and before any 100 Continue (the gate's registry on this node; in a cluster
 * also a claim in the shared place, deps.claims). Without that, one slot could feed any number
 * of temp files past every quota. A PUT after a failed or aborted one may take the slot again,
 * and so may one while the running upload has had no body byte for SUPERSEDE_IDLE_MS (its
 * connection most likely died without a close; the stalled upload is stopped and its temp file
 * removed before the new one starts: RequestGate.waitAbandoned).
 *
 * Every upload ends: idleTimeout without a body byte, or the body not complete within
 * uploadDeadline(size, minUploadRate), cuts it off with 408 (both read at each PUT, so a reload
 * applies to the next upload). While the body arrives the socket's own idle timeout is off, so
 * the client gets the 408 rather than a silent close.
 *
 * Statuses: 201 published · 403 missing/forged/expired slot · 404 not an upload URL ·
 * 408 too slow or idle · 409 already uploaded, an upload of the slot running, or (to a stalled
 * upload) a newer PUT took over · 410 removed by `slots rm` (the store's tombstone, met by the
 * existence check) · 413 size ≠ slot size or over maxFileSize, or (clamavEnabled)
 * larger than clamavStreamMaxLength with clamavTooLarge refuse · 415 Content-Type ≠ slot's ·
 * 422 malware found (clamavEnabled; the body names the signature) · 503 shutting down, the
 * cluster claim lost mid-upload (this node paused longer than the claim's lease), or clamd
 * unable to scan with clamavFailOpen false (with Retry-After) · 507 disk full. The scan's
 * refusals come from the store (UploadRefusedError, with the Retry-After it asks for).
 * A client that goes away leaves nothing behind.
 *
 * The route `PUT {root}/*` (app.ts); it answers on the Node request/response.
 *
 * @example
 * const upload = createUploadHandler(deps);
 * createServer((req, res) => void upload(req, res, performance.now()));
 */
export function createUploadHandler(deps: HttpDeps): NodeHandler {
  // Large fast bodies go by splice(2), and the 201 by sendmsg(2), when the addon loads (not with
  // FILEUPLOAD_SENDFILE=0).
  const native = processSendfile().addon;
  const splicer = native?.spliceStep ? native : undefined;
  return (req, res, started) => handlePut(req, res, deps, started, splicer, native);
}

async function handlePut(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  deps: HttpDeps,
  started: number,
  splicer: SendfileAddon | undefined,
  native: SendfileAddon | undefined,
): Promise<void> {
  const { settings, store, logger, hooks } = deps;
  const cors = corsHeaders(incoming.headers.origin, settings.corsOrigins, false);
  const remote = requestRemote(incoming);
  const path = parseUploadPath(incoming.url ?? '', deps.root);
  const id = path?.id;
  let received = 0;
  let handedOver = false; // the body went by splice: the connection closes after the answer

  /**
   * An answer before or instead of reading the body. A body still arriving is read and thrown
   * away if little is left (so the client, still sending, gets to read the answer instead of a
   * reset); otherwise the connection closes after the answer.
   */
  const refuse = (status: number, message: string, extra: Record<string, string> = {}): void => {
    deps.record({ method: 'PUT', status, bytes: received, started, id, reason: message, remote });
    // A 408's client is stalled or trickling: nothing is worth waiting for, the connection ends.
    const lingering =
      !handedOver && !incoming.complete && extra.Connection !== 'close' && lingerOver(incoming, received);
    const close: Record<string, string> =
      !handedOver && (incoming.complete || lingering) ? {} : { Connection: 'close' };
    const headers = { ...cors, ...close, ...extra };
    if (lingering && !outgoing.shouldKeepAlive) {
      // The client asked for the connection to close after this request (Connection: close,
      // HTTP/1.0): Node closes the socket as soon as the answer ends, and closing with body bytes
      // still unread resets the connection, so the client would see a reset instead of the
      // answer. Answer once the rest of the body is in (lingerOver bounds the wait).
      incoming.once('end', () => writeText(outgoing, status, message, headers));
      return;
    }
    writeText(outgoing, status, message, headers);
  };

  if (!path) return refuse(404, 'not found');

  const token = slotToken(path.query, incoming.headers.authorization);
  if (token === undefined) return refuse(403, 'missing slot token');
  const verified = verifySlot(deps.secret, path.id, path.filename, token, deps.now());
  if (!verified.ok) return refuse(403, verified.reason === 'expired' ? 'slot expired' : 'invalid slot');
  const slot = verified.slot;

  if (settings.maxFileSize !== -1 && slot.size > settings.maxFileSize) {
    return refuse(413, `file larger than the limit of ${settings.maxFileSize} bytes`);
  }
  const length = declaredLength(incoming);
  if (length === 'invalid') return refuse(400, 'invalid Content-Length');
  if (length !== undefined && length !== slot.size) {
    return refuse(413, `Content-Length must be the slot size of ${slot.size} bytes`);
  }
  const putType = incoming.headers['content-type'];
  if (slot.contentType !== undefined && !sameMediaType(slot.contentType, putType)) {
    return refuse(415, `Content-Type must be ${slot.contentType}`);
  }
  const contentType =
    slot.contentType ??
    (putType !== undefined && essence(putType) !== undefined ? putType.trim() : FALLBACK_CONTENT_TYPE);

  // What a later PUT of this slot may ask of this upload while it runs (RequestGate.waitAbandoned).
  let receiving: { watch: UploadWatch; upload: AbortController } | undefined;
  const holder: SlotHolder = {
    clientGone: () => incoming.socket.destroyed,
    idleFor: () => receiving?.watch.idleFor() ?? 0,
    supersede: () => receiving?.upload.abort(new SupersededError()),
  };
  let hold: SlotHold | undefined;
  try {
    hold = await holdSlot(deps, slot.id, slot.expiresAt, holder);
  } catch (err) {
    logger.warn('cannot claim the slot for an upload', { id, err });
    return refuse(503, 'cannot start the upload now, try again', RETRY_SOON);
  }
  if (!hold) return refuse(409, 'upload in progress');
  try {
    await receiveUpload(hold);
  } finally {
    await hold.release();
  }

  /** Everything after the slot is taken: `taken` is given back on every way out. */
  async function receiveUpload(taken: SlotHold): Promise<void> {
    if (expectsContinue(incoming)) {
      // The client waits for our go before sending the body: refuse a second upload right now.
      const occupant = await store.occupant(slot.id);
      if (occupant === 'upload') return refuse(409, 'already uploaded');
      if (occupant === 'tombstone') return refuse(410, 'upload removed');
      outgoing.writeContinue();
    }

    const upload = deps.gate.beginUpload();
    if (!upload) return refuse(503, 'server is shutting down, try again', RETRY_SOON);
    const onClose = (): void => {
      if (!incoming.complete) upload.abort(new Error('client closed the connection'));
    };
    incoming.once('close', onClose);
    // A claim lost mid-upload (this node paused longer than the lease) may already be another
    // node's: this upload stops rather than publish beside that one.
    const onLost = (): void => upload.abort(new ClaimLostError());
    if (taken.lost?.aborted) onLost();
    else taken.lost?.addEventListener('abort', onLost, { once: true });
    callHook(logger, 'onUploadStarted', hooks.onUploadStarted, {
      id: slot.id,
      size: slot.size,
      uploader: slot.uploader,
    });

    // The limits as configured now (a reload changes them for the next upload).
    const idleMs = settings.idleTimeout;
    const watch = watchUpload({
      idleMs,
      deadlineMs: uploadDeadline(slot.size, settings.minUploadRate),
      onTimeout: (err) => upload.abort(err),
    });
    receiving = { watch, upload };
    // The watch judges idleness while the body arrives; the socket's own timeout would close the
    // connection without a word at about the same moment, so it rests until the upload is
    // answered: publishing (a sync, a malware scan with its own timeout) may take longer.
    const socket = incoming.socket;
    const socketTimeout = socket.timeout ?? 0;
    if (socketTimeout > 0) socket.setTimeout(0);
    let watching = true;
    const bodyDone = (): void => {
      if (!watching) return;
      watching = false;
      receiving = undefined; // publishing: a newer PUT no longer stops it
      watch.stop();
    };

    if (length === undefined) incoming.once('end', bodyDone);
    const progress = hooks.onUploadProgress;
    const body = requestBody(
      incoming,
      splicer,
      (n) => {
        received += n;
        watch.progress();
        // Framed by Content-Length, the body is in with its last byte; a chunked one only at its
        // end (after the last chunk and trailers, which a client could trickle for ever).
        if (received >= slot.size && length !== undefined) bodyDone();
        if (progress) callHook(logger, 'onUploadProgress', progress, { id: slot.id, received, size: slot.size });
      },
      // The kernel path's own idle limit is a backstop just past the watch's.
      { idleMs: idleMs + SPLICE_IDLE_MARGIN_MS, onReading: (waiting) => watch.reading(waiting) },
    );

    try {
      const meta = await store.write(
        {
          id: slot.id,
          filename: slot.filename,
          size: slot.size,
          contentType,
          uploader: slot.uploader,
          issuedAt: slot.issuedAt,
          purpose: slot.purpose,
          ...(slot.expireBefore !== undefined ? { expireBefore: slot.expireBefore } : {}),
        },
        body,
        // The chunks come straight from the request and nobody else holds them: the store frees
        // each as soon as it is written instead of leaving it for a garbage collection.
        { signal: upload.signal, releaseChunks: true },
      );
      const durationMs = performance.now() - started;
      callHook(logger, 'onUploadFinished', hooks.onUploadFinished, { meta, durationMs });
      deps.record({ method: 'PUT', status: 201, bytes: received, started, id, remote });
      const location = `${baseUrl(announcedEndpoint(settings))}/${slot.id}/${encodePathSegment(slot.filename)}`;
      // The answer leaves in one sendmsg (send-now.ts) when it can: one less trip through Node's
      // socket stream per upload.
      writeText(
        outgoing,
        201,
        'created',
        { ...cors, Location: location, ...(body.handedOver ? { Connection: 'close' } : {}) },
        native,
      );
    } catch (err) {
      bodyDone();
      handedOver = body.handedOver;
      const durationMs = performance.now() - started;
      const failure = failureOf(upload.signal.reason, err, incoming);
      const { status, reason } = failure;
      if (status === 500) logger.error('upload failed', { id, err });
      callHook(logger, 'onUploadFailed', hooks.onUploadFailed, { id: slot.id, status, reason, durationMs });
      // The store has removed the temp file: give the slot back before answering, so a client
      // that retries as soon as it reads this finds the slot free.
      await taken.release();
      if (err instanceof UploadExistsError) return refuse(409, 'already uploaded');
      // A 499 is only logged: nobody is there to read it.
      return refuse(status, reason, failure.headers);
    } finally {
      bodyDone();
      if (socketTimeout > 0 && !socket.destroyed) socket.setTimeout(socketTimeout);
      incoming.off('end', bodyDone);
      incoming.off('close', onClose);
      taken.lost?.removeEventListener('abort', onLost);
      deps.gate.endUpload(upload);
    }
  }
}

/** Why a started upload failed: its status, the reason logged and answered, extra headers. */
function failureOf(
  aborted: unknown,
  err: unknown,
  incoming: IncomingMessage,
): { status: number; reason: string; headers: Record<string, string> } {
  // A 408's client is stalled or trickling: the connection ends with the answer.
  if (aborted instanceof UploadTimeoutError)
    return { status: 408, reason: aborted.message, headers: { Connection: 'close' } };
  if (aborted instanceof ClaimLostError)
    return { status: 503, reason: 'upload lost its slot claim, try again', headers: RETRY_SOON };
  if (aborted instanceof SupersededError)
    return { status: 409, reason: 'a newer upload of this slot took over', headers: {} };
  if (incoming.socket.destroyed || isClientReset(err, incoming))
    return { status: 499, reason: 'client went away', headers: {} };
  // drain() ran out of time.
  if (aborted !== undefined) return { status: 503, reason: 'server is shutting down, try again', headers: RETRY_SOON };
  if (err instanceof UploadRefusedError && err.retryAfter !== undefined)
    return { status: err.status, reason: err.message, headers: { 'Retry-After': String(err.retryAfter) } };
  if (err instanceof StoreError) return { status: err.status, reason: err.message, headers: {} };
  return { status: 500, reason: 'internal error', headers: {} };
}

/** A newer PUT of the slot took over from this stalled upload (RequestGate.waitAbandoned). */
class SupersededError extends Error {
  constructor() {
    super('a newer upload of this slot took over');
    this.name = 'SupersededError';
  }
}

/** The upload's cluster claim was lost (see SlotClaim.signal): 503, the client may retry. */
class ClaimLostError extends Error {
  constructor() {
    super('the slot claim was lost');
    this.name = 'ClaimLostError';
  }
}

/** What a 503 of this handler asks of the client: the cause (shutdown, a lost claim) passes in seconds. */
const RETRY_SOON: Record<string, string> = { 'Retry-After': '5' };
/** How much longer than idleTimeout the splice path waits before failing on its own. */
const SPLICE_IDLE_MARGIN_MS = 1_000;
/** How long a PUT waits for a slot whose previous upload lost its client and is cleaning up. */
const ABANDONED_WAIT_MS = 2_000;

/** A slot taken for one upload: on this node, and in a cluster in the shared place. */
interface SlotHold {
  /** Gives the slot back; idempotent. */
  release(): Promise<void>;
  /** Aborts when the cluster claim is lost (another node may now take the slot): the upload stops. */
  lost?: AbortSignal;
}

/**
 * Takes slot `id` for this request's upload, or undefined when an upload of it runs (here or,
 * in a cluster, on another node). A running upload whose client has already gone is waited for
 * briefly: it is removing its temp file, and the client's retry should not get a 409 for it.
 */
async function holdSlot(deps: HttpDeps, id: string, until: number, holder: SlotHolder): Promise<SlotHold | undefined> {
  let local = deps.gate.claimSlot(id, holder);
  if (!local && (await deps.gate.waitAbandoned(id, ABANDONED_WAIT_MS))) local = deps.gate.claimSlot(id, holder);
  if (!local) return undefined;
  const releaseLocal = local;
  if (!deps.claims) return { release: async () => releaseLocal() };
  let shared;
  try {
    shared = await deps.claims.claim(id, until);
  } catch (err) {
    releaseLocal();
    throw err;
  }
  if (!shared) {
    releaseLocal();
    return undefined;
  }
  const claim = shared;
  let releasing: Promise<void> | undefined;
  return {
    lost: claim.signal,
    release: () =>
      (releasing ??= claim
        .release()
        .catch((err: unknown) =>
          deps.logger.warn('cannot release the slot claim; it expires with its lease', { id, err }),
        )
        .finally(releaseLocal)),
  };
}

/** A refused body is read and discarded up to this many more bytes… */
const LINGER_BYTES = 256 * 1024;
/** …for at most this long; then the connection is cut. */
const LINGER_MS = 5_000;

/**
 * Starts discarding the rest of a refused request body when it is known or hoped to be short
 * (a chunked body, or at most LINGER_BYTES left by its Content-Length), with bounds on bytes and
 * time after which the connection is destroyed. False when the rest is too long to be worth it
 * (the caller closes the connection after the answer). An upload client typically is still
 * writing when the refusal comes: reading on lets it finish and see the status (as nginx's
 * lingering close does).
 */
function lingerOver(incoming: IncomingMessage, received: number): boolean {
  if (expectsContinue(incoming)) return false; // it waits for our word
  const length = declaredLength(incoming);
  if (typeof length === 'number' && length - received > LINGER_BYTES) return false;
  let discarded = 0;
  const timer = setTimeout(() => incoming.socket.destroy(), LINGER_MS);
  timer.unref();
  incoming.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) incoming.socket.destroy();
  });
  // The store's reader paused the stream when it stopped ('readable' mode): a 'data' listener
  // alone would not start it again.
  incoming.resume();
  incoming.once('close', () => clearTimeout(timer));
  return true;
}

/**
 * The client waits for 100 Continue before it sends the body: what Node's server takes for it
 * (server.ts answers 'checkContinue' with the handler) — HTTP/1.1 and 100-continue among the
 * Expect header's values; a 1.0 client gets no interim answer.
 */
function expectsContinue(incoming: IncomingMessage): boolean {
  const expect = incoming.headers.expect;
  return (
    expect !== undefined &&
    incoming.httpVersionMajor === 1 &&
    incoming.httpVersionMinor >= 1 &&
    /(?:^|\W)100-continue(?:$|\W)/i.test(expect)
  );
}

/** Content-Length as a number, undefined when chunked/absent, 'invalid' when unusable. */
function declaredLength(incoming: IncomingMessage): number | undefined | 'invalid' {
  const raw = incoming.headers['content-length'];
  if (raw === undefined) {
    // HTTP/1.1 without Content-Length or Transfer-Encoding has an empty body.
    return incoming.headers['transfer-encoding'] === undefined ? 0 : undefined;
  }
  if (!/^\d{1,16}$/.test(raw)) return 'invalid';
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : 'invalid';
}

function isClientReset(err: unknown, incoming: IncomingMessage): boolean {
  const code = errCode(err);
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (incoming.destroyed && !incoming.complete);
}
