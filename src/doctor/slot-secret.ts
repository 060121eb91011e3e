/**
 * Check `slot-secret`: the HMAC key that signs upload slots is set and hard to guess. Whoever
 * knows or guesses it can mint upload URLs for any size without asking the XMPP server. Pure.
 */
import { fail, pass, warn, type CheckResult } from './result.ts';

/** This check's id in the report. */
export const CHECK = 'slot-secret';

/** Estimated bits a secret must have. */
export const MIN_SECRET_BITS = 128;

/**
 * A conservative strength estimate in bits: the smaller of length × log2(alphabet of the
 * character classes used) and length × the per-character Shannon entropy of the text itself
 * (which catches repetition such as "aaaa…" or "abcabc…"). A random 32-byte base64url secret
 * scores about 200.
 *
 * @example
 * estimateSecretBits('changeme');                                    // ≈ 22
 * estimateSecretBits('3q2-7wVn0J9dXgk2uQ4hYpL1sT8aBcDeFgHiJkLmNoP'); // ≈ 223
 */
export function estimateSecretBits(secret: string): number {
  const chars = [...secret];
  if (chars.length === 0) return 0;
  let alphabet = 0;
  if (/[a-z]/.test(secret)) alphabet += 26;
  if (/[A-Z]/.test(secret)) alphabet += 26;
  if (/[0-9]/.test(secret)) alphabet += 10;
  if (/[^A-Za-z0-9]/.test(secret)) alphabet += 33;
  const byClass = chars.length * Math.log2(Math.max(alphabet, 2));
  const counts = new Map<string, number>();
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / chars.length;
    perChar -= p * Math.log2(p);
  }
  return Math.min(byClass, chars.length * perChar);
}

/**
 * The verdict on slotSecret (and whether it repeats the component secret).
 *
 * @example
 * slotSecretVerdict(undefined, 'x').status;  // 'warn': serve generates one on first start
 * slotSecretVerdict('changeme', 'x').status; // 'fail'
 */
export function slotSecretVerdict(
  slotSecret: string | undefined,
  sharedSecret: string | undefined,
  configCli = 'fileupload',
): CheckResult {
  const generate = `openssl rand -base64 32 | ${configCli} config set slotSecret -, copy it to every node sharing the repository, restart serve`;
  if (slotSecret === undefined) {
    return warn(
      CHECK,
      'slotSecret is not set: serve generates one into the configuration on first start (it needs write access to the file)',
      `start serve once, or set one now: ${generate}`,
    );
  }
  const bits = Math.floor(estimateSecretBits(slotSecret));
  if (bits < MIN_SECRET_BITS) {
    return fail(
      CHECK,
      `slotSecret is weak (about ${bits} bits; at least ${MIN_SECRET_BITS} needed): whoever guesses it can create upload URLs`,
      generate,
    );
  }
  if (sharedSecret !== undefined && slotSecret === sharedSecret) {
    return warn(
      CHECK,
      'slotSecret is the same as sharedSecret: whoever administers the XMPP server could create upload URLs',
      generate,
    );
  }
  return pass(CHECK, `slotSecret is set and strong (about ${bits} bits)`);
}
