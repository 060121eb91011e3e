/**
 * Short, bounded reason words for refused slots and failed uploads: they become Prometheus label
 * values, so they must come from a small fixed set, never from free text.
 */
import type { SlotRefusal } from '../xmpp/refusal.ts';

/** Reason words of refused slot requests. */
export const REFUSAL_REASONS = [
  'too-large',
  'bad-request',
  'forbidden',
  'quota',
  'rate',
  'pending-slots',
  'not-implemented',
  'internal-error',
  'other',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/**
 * The reason word of a slot refusal.
 *
 * @example
 * refusalReason(fileTooLarge(1000)); // 'too-large'
 * refusalReason(quotaExceeded('x')); // 'quota'
 * refusalReason({ ...quotaExceeded('x'), slotLimit: 'rate' }); // 'rate'
 */
export function refusalReason(refusal: Pick<SlotRefusal, 'condition' | 'maxFileSize' | 'slotLimit'>): RefusalReason {
  if (refusal.maxFileSize !== undefined) return 'too-large';
  // Rate and unused-slot refusals share the quota's XMPP error but tell the operator something else.
  if (refusal.slotLimit === 'rate') return 'rate';
  if (refusal.slotLimit === 'pending') return 'pending-slots';
  switch (refusal.condition) {
    case 'bad-request':
      return 'bad-request';
    case 'forbidden':
    case 'not-allowed':
      return 'forbidden';
    case 'resource-constraint':
      return 'quota';
    case 'feature-not-implemented':
      return 'not-implemented';
    case 'internal-server-error':
      return 'internal-error';
    default:
      return 'other';
  }
}

/** Reason words of failed uploads. */
export const FAILURE_REASONS = [
  'client-gone',
  'size-mismatch',
  'conflict',
  'timeout',
  'storage-full',
  'unavailable',
  'malware',
  'blocked',
  'internal-error',
] as const;

/**
 * The reason word of a failed PUT, from the status the HTTP endpoint answered with.
 *
 * @example
 * uploadFailureReason(499); // 'client-gone'
 * uploadFailureReason(507); // 'storage-full'
 * uploadFailureReason(408); // 'timeout' (idle, or past the upload deadline)
 * uploadFailureReason(422); // 'malware' (the scan found some)
 * uploadFailureReason(403); // 'blocked' (its sha256 is on the blocklist)
 * uploadFailureReason(503); // 'unavailable' (shutting down, or the scanner is down)
 * uploadFailureReason(418); // 'http-418'
 */
export function uploadFailureReason(status: number): string {
  switch (status) {
    case 499:
      return 'client-gone';
    case 413:
      return 'size-mismatch';
    case 409:
      return 'conflict';
    case 408:
      return 'timeout';
    case 507:
      return 'storage-full';
    case 422:
      return 'malware';
    case 403:
      // A started upload is refused with 403 only for blocked content (slot checks come first).
      return 'blocked';
    case 503:
      // Shutting down, a lost cluster claim or an unreachable malware scanner: all pass in seconds.
      return 'unavailable';
    case 500:
      return 'internal-error';
    default:
      // Statuses are three digits, so the label set stays bounded.
      return Number.isInteger(status) && status >= 100 && status <= 999 ? `http-${status}` : 'other';
  }
}

/** Verdicts of malware scans (clamd's, src/scan/clamav.ts). */
export const SCAN_VERDICTS = ['clean', 'infected', 'too-large', 'error'] as const;
