/**
 * How long one upload may take. A PUT that runs longer is cut off (408): without a bound, a
 * client sending a byte every few seconds holds a descriptor, a temp file and a quota
 * reservation for ever. The bound follows the slot's size, so a large file over a slow mobile
 * link still finishes: max(UPLOAD_DEADLINE_FLOOR, size ÷ minUploadRate).
 *
 * The HTTP layer enforces it; quotas count a pending slot's bytes until its last possible upload
 * could end (slot expiry + this deadline), so a running upload is never left out of a count.
 */

/** No upload is cut off sooner than this (ms), whatever its size. */
export const UPLOAD_DEADLINE_FLOOR = 60_000;

/**
 * The longest an upload of `size` bytes may take (ms), at the slowest accepted average rate
 * (bytes per second; -1 or less, or 0 = no deadline → Infinity).
 *
 * @example
 * uploadDeadline(10 * 1024 * 1024, 4096); // 2560000 (about 43 minutes)
 * uploadDeadline(1000, 4096);             // 60000 (the floor)
 * uploadDeadline(1000, -1);               // Infinity
 */
export function uploadDeadline(size: number, minUploadRate: number): number {
  if (minUploadRate <= 0) return Infinity;
  return Math.max(UPLOAD_DEADLINE_FLOOR, Math.ceil((size / minUploadRate) * 1000));
}
