/**
 * Upload purposes (XEP-0363 1.2, `urn:xmpp:http:upload:purpose:0`) as retention sees them.
 * Parsing the `<purpose/>` element is the XMPP layer's job; this module says what each purpose
 * means for serving and purging, and what disco advertises.
 */
import { PURPOSES, type Purpose, type Slot } from './slot.ts';

/** What the age rules read of an upload: what its slot said, and when it was stored (ms since epoch). */
type Aged = Pick<Slot, 'purpose' | 'expireBefore'> & { storedAt: number };

/** The purpose namespace of XEP-0363 §purpose. */
export const PURPOSE_NAMESPACE = 'urn:xmpp:http:upload:purpose:0';

/** Purposes maxAge applies to unless `maxAgePurposes` says otherwise (profile/permanent are kept). */
export const DEFAULT_MAX_AGE_PURPOSES: readonly Purpose[] = ['message', 'ephemeral'];

/**
 * The disco#info features that advertise the supported purposes.
 *
 * @example
 * purposeFeatures(); // ['urn:xmpp:http:upload:purpose:0#message', …#ephemeral, …#profile, …#permanent]
 */
export function purposeFeatures(): string[] {
  return PURPOSES.map((p) => `${PURPOSE_NAMESPACE}#${p}`);
}

/**
 * True once an upload must no longer be served: its `expireBefore` (ephemeral purpose) has come.
 * The XEP says the service MUST NOT serve the file after that instant; at the instant itself it
 * counts as gone. GET/HEAD answer 410 for such an upload, and purge deletes it (rule `expired`).
 *
 * @example
 * isExpired({ ...meta, purpose: 'ephemeral', expireBefore: Date.parse('2030-01-01T00:00:00Z') }, Date.now());
 */
export function isExpired(meta: Pick<Aged, 'expireBefore'>, now: number): boolean {
  return meta.expireBefore !== undefined && meta.expireBefore <= now;
}

/**
 * When maxAge will remove an upload, or undefined when maxAge does not apply to it.
 *
 * @example
 * maxAgeDeadline({ storedAt: 0, purpose: 'message' }, 86_400_000, ['message']); // 86400000
 * maxAgeDeadline({ storedAt: 0, purpose: 'profile' }, 86_400_000, ['message']); // undefined
 */
export function maxAgeDeadline(
  meta: Pick<Aged, 'storedAt' | 'purpose'>,
  maxAge: number | undefined,
  purposes: readonly Purpose[],
): number | undefined {
  if (maxAge === undefined || maxAge < 0 || !purposes.includes(meta.purpose)) return undefined;
  return meta.storedAt + maxAge;
}

/**
 * The instant retention removes an upload by age (expireBefore or maxAge, whichever comes
 * first); undefined when it is kept until a size rule or a person removes it.
 *
 * @example
 * retentionDeadline(meta, settings.maxAge, settings.maxAgePurposes);
 */
export function retentionDeadline(
  meta: Aged,
  maxAge: number | undefined,
  purposes: readonly Purpose[],
): number | undefined {
  const age = maxAgeDeadline(meta, maxAge, purposes);
  if (meta.expireBefore === undefined) return age;
  return age === undefined ? meta.expireBefore : Math.min(age, meta.expireBefore);
}
