import { createHmac, timingSafeEqual } from 'node:crypto';
import { isPurpose, type Purpose, type Slot } from './slot.ts';
import { isSlotId } from './id.ts';

/**
 * Slot tokens: the proof a PUT URL carries in its `t` query parameter.
 *
 * token = base64url(JSON payload) "." base64url(HMAC-SHA256(secret, domain ‖ id ‖ filename ‖ payload))
 *
 * The id and filename come from the URL path and are bound by the MAC, so neither the path nor
 * any slot field can be altered; the expiry inside the payload bounds replays, and publishing is
 * an exclusive create, so a used slot cannot be used again. Any node that shares the secret
 * verifies a token on its own: no slot cache, nothing lost on restart.
 */

const DOMAIN = 'fileupload-slot-v1';

/** Payload fields in a fixed order (compact and canonical). */
type Payload = [
  version: 1,
  size: number,
  issuedAt: number,
  expiresAt: number,
  uploader: string,
  contentType: string | null,
  purpose: Purpose,
  expireBefore: number | null,
];

function mac(secret: string | Uint8Array, id: string, filename: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`${DOMAIN}\0${id}\0${filename}\0${payload}`).digest();
}

/**
 * Signs a slot. Put the result in the PUT URL (see urls.ts); never in the GET URL.
 *
 * @example
 * const token = signSlot(secret, slot);
 */
export function signSlot(secret: string | Uint8Array, slot: Slot): string {
  const fields: Payload = [
    1,
    slot.size,
    slot.issuedAt,
    slot.expiresAt,
    slot.uploader,
    slot.contentType ?? null,
    slot.purpose,
    slot.expireBefore ?? null,
  ];
  const payload = Buffer.from(JSON.stringify(fields)).toString('base64url');
  return `${payload}.${mac(secret, slot.id, slot.filename, payload).toString('base64url')}`;
}

export type VerifyResult = { ok: true; slot: Slot } | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

/**
 * The bytes of `text` when it is the one spelling signSlot produces, else undefined: decoding and
 * encoding again must give the same text, which rules out `=` padding, `+`, `/` and whitespace
 * (Node's decoder skips or accepts them) and unused bits set in the last character. Without this
 * one token would have several spellings that all verify.
 */
function canonicalBase64url(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.length > 0 && bytes.toString('base64url') === text ? bytes : undefined;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * Checks a token against the id and filename of the request path. `malformed` covers any token
 * that is not exactly as signSlot spells it (strict base64url, see canonicalBase64url);
 * `forged` covers a wrong secret and any altered field; `expired` a token past its expiry.
 *
 * @example
 * const r = verifySlot(secret, id, filename, url.searchParams.get('t') ?? '', Date.now());
 * if (!r.ok) return c.text('slot ' + r.reason, 403);
 */
export function verifySlot(
  secret: string | Uint8Array,
  id: string,
  filename: string,
  token: string,
  now: number,
): VerifyResult {
  if (!isSlotId(id)) return { ok: false, reason: 'malformed' };
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
  const payload = token.slice(0, dot);
  const given = canonicalBase64url(token.slice(dot + 1));
  const json = canonicalBase64url(payload);
  if (given === undefined || json === undefined) return { ok: false, reason: 'malformed' };
  const expected = mac(secret, id, filename, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' };
  let fields: unknown;
  try {
    fields = JSON.parse(json.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!Array.isArray(fields) || fields.length !== 8 || fields[0] !== 1) return { ok: false, reason: 'malformed' };
  const [, size, issuedAt, expiresAt, uploader, contentType, purpose, expireBefore] = fields as unknown[];
  if (
    !isInt(size) ||
    size < 0 ||
    !isInt(issuedAt) ||
    !isInt(expiresAt) ||
    typeof uploader !== 'string' ||
    !(contentType === null || typeof contentType === 'string') ||
    !isPurpose(purpose) ||
    !(expireBefore === null || isInt(expireBefore))
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (now > expiresAt) return { ok: false, reason: 'expired' };
  const slot: Slot = { id, filename, size, issuedAt, expiresAt, uploader, purpose: purpose as Purpose };
  if (contentType !== null) slot.contentType = contentType as string;
  if (expireBefore !== null) slot.expireBefore = expireBefore as number;
  return { ok: true, slot };
}
