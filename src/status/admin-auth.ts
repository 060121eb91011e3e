/**
 * Who may see upload details on the admin API. Counters and /metrics are for anyone on loopback;
 * what identifies an upload (slot id, file name, uploader: together a download URL) needs the
 * admin token or the unix socket. The token is derived from slotSecret, so whoever can read the
 * configuration (the service user, root) has it and no further file needs guarding; the socket is
 * created 0600, so reaching it already proves to be the service user or root.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** What the token is derived for (changing it invalidates every token). */
const TOKEN_PURPOSE = 'fileupload admin api';

/**
 * The admin API's bearer token for a slotSecret: HMAC-SHA256(slotSecret, "fileupload admin api"),
 * base64url without padding.
 *
 * @example
 * const token = adminToken(settings.slotSecret);
 * // curl -H "Authorization: Bearer $token" http://127.0.0.1:7444/status
 */
export function adminToken(slotSecret: string): string {
  return createHmac('sha256', slotSecret).update(TOKEN_PURPOSE).digest('base64url');
}

/** What an Authorization header proves. */
export type AdminCredential = 'none' | 'valid' | 'wrong';

/**
 * Checks an `Authorization: Bearer TOKEN` header against the expected token, in constant time
 * (both sides are hashed first, so neither the length nor a prefix leaks). No header, or another
 * scheme, is `none`; a Bearer header whose token does not match (or is malformed, or there is no
 * expected token: serve has no slotSecret) is `wrong`.
 *
 * @example
 * checkAdminCredential(req.headers.authorization, token); // 'valid' | 'none' | 'wrong'
 */
export function checkAdminCredential(header: string | undefined, expected: string | undefined): AdminCredential {
  if (header === undefined || !/^\s*Bearer(\s|$)/i.test(header)) return 'none';
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1] || expected === undefined) return 'wrong';
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(match[1]), digest(expected)) ? 'valid' : 'wrong';
}

/** Request header carrying a client's random challenge; the answer carries PROOF_HEADER. */
export const CHALLENGE_HEADER = 'x-fileupload-challenge';
/** Response header proving the server holds the admin token (see adminProof). */
export const PROOF_HEADER = 'x-fileupload-proof';
/** What a challenge looks like: base64url, long enough to be unguessable, short enough to be cheap. */
const CHALLENGE = /^[A-Za-z0-9_-]{22,128}$/;

/**
 * The server's proof that it holds `token`, for a client's challenge: HMAC-SHA256(token,
 * "fileupload admin proof " + challenge), base64url. A client sends its token only to a server
 * that answered its fresh challenge with this, so a program squatting on the admin port while
 * serve is down never receives the token. Undefined for a malformed challenge.
 *
 * @example
 * res.setHeader(PROOF_HEADER, adminProof(token, req.headers[CHALLENGE_HEADER])!);
 */
export function adminProof(token: string, challenge: string | undefined): string | undefined {
  if (challenge === undefined || !CHALLENGE.test(challenge)) return undefined;
  return createHmac('sha256', token).update(`fileupload admin proof ${challenge}`).digest('base64url');
}

/**
 * True when `proof` is adminProof(token, challenge), compared in constant time.
 *
 * @example
 * if (!isAdminProof(res.headers[PROOF_HEADER], token, challenge)) throw new Error('not serve');
 */
export function isAdminProof(proof: string | string[] | undefined, token: string, challenge: string): boolean {
  const expected = adminProof(token, challenge);
  if (typeof proof !== 'string' || expected === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(proof), digest(expected));
}
