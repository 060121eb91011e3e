/**
 * How long an issued slot's bytes count as in flight. An upload may start just before its slot
 * expires and then run for its whole deadline (slots/deadline.ts, enforced by the HTTP layer), so
 * counting a slot only until it expires would let its temp file grow while no quota sees it.
 * Quotas, the repository usage estimate and the index repair all use these bounds.
 */
import { uploadDeadline } from '../slots/deadline.ts';

/**
 * Without an upload deadline (minUploadRate ≤ 0) an upload may run for ever; its slot then counts
 * for this long after it expires (ms), so a slot that is never used does not hold its bytes for
 * ever either.
 */
export const UNBOUNDED_UPLOAD_COUNT = 86_400_000;

/** The settings the bounds follow. */
export interface InFlightSettings {
  /** How long a slot's PUT URL stays valid (ms). */
  slotLifetime: number;
  /** Slowest accepted average upload rate (bytes/s); ≤ 0 = uploads have no deadline. */
  minUploadRate: number;
}

/**
 * How long after its issue a slot of `size` bytes may still have its upload running (ms).
 *
 * @example
 * inFlightFor(10_485_760, { slotLifetime: 300_000, minUploadRate: 4096 }); // 2860000
 */
export function inFlightFor(size: number, s: InFlightSettings): number {
  const deadline = uploadDeadline(size, s.minUploadRate);
  return s.slotLifetime + (Number.isFinite(deadline) ? deadline : UNBOUNDED_UPLOAD_COUNT);
}

/**
 * Until when a slot issued at `at` (a pending index entry) counts as in flight.
 *
 * @example
 * inFlightUntil({ at: issuedAt, size: 1000 }, { slotLifetime: 300_000, minUploadRate: 4096 }); // issuedAt + 360000
 */
export function inFlightUntil(entry: { at: number; size: number }, s: InFlightSettings): number {
  return entry.at + inFlightFor(entry.size, s);
}

/**
 * How long after its newest slot a batch of slots may still have an upload running (ms): the
 * bound of the largest slot maxFileSize allows (≤ 0 = unlimited: no deadline to go by).
 *
 * @example
 * inFlightWindow({ slotLifetime: 300_000, minUploadRate: 4096, maxFileSize: 52_428_800 }); // 13100000
 */
export function inFlightWindow(s: InFlightSettings & { maxFileSize: number }): number {
  return inFlightFor(s.maxFileSize > 0 ? s.maxFileSize : Infinity, s);
}
