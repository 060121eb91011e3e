/**
 * What becomes of an upload once clamd has given its verdict: published, or refused with the
 * HTTP status and the short answer the uploader reads. Pure.
 *
 * Statuses: an infected upload 422 (the request was well-formed; its content is refused), an
 * upload too large to scan 413 (larger than this service processes), clamd unable to scan with
 * fail-closed 503 with Retry-After (the cause passes). With fail-open, or `publish-unscanned` for
 * too-large uploads, the upload is published and the decision says why it went unscanned (for
 * the log).
 */
import type { ScanVerdict } from './clamav.ts';

/** The properties that decide (clamavFailOpen, clamavTooLarge). */
export interface ScanPolicy {
  failOpen: boolean;
  tooLarge: 'refuse' | 'publish-unscanned';
  /** clamavStreamMaxLength, for the answer to a too-large upload. */
  streamMaxLength: number;
}

/** Seconds a refused uploader is told to wait when clamd cannot scan (Retry-After). */
export const RETRY_AFTER_SECONDS = 30;

export type ScanDecision =
  | { publish: true; /** Why it was published without a clean verdict, for the log. */ unscanned?: string }
  | { publish: false; status: number; message: string; retryAfter?: number };

/**
 * The decision on one verdict.
 *
 * @example
 * scanDecision({ verdict: 'infected', signature: 'Eicar-Signature' }, policy);
 * // { publish: false, status: 422, message: 'upload refused: malware found (Eicar-Signature)' }
 */
export function scanDecision(verdict: ScanVerdict, policy: ScanPolicy): ScanDecision {
  switch (verdict.verdict) {
    case 'clean':
      return { publish: true };
    case 'infected':
      return { publish: false, status: 422, message: `upload refused: malware found (${verdict.signature})` };
    case 'too-large':
      if (policy.tooLarge === 'publish-unscanned')
        return { publish: true, unscanned: `larger than clamavStreamMaxLength (${policy.streamMaxLength} bytes)` };
      return {
        publish: false,
        status: 413,
        message: `upload refused: larger than the ${policy.streamMaxLength} bytes that can be scanned for malware`,
      };
    case 'error':
      if (policy.failOpen) return { publish: true, unscanned: verdict.reason };
      return {
        publish: false,
        status: 503,
        message: 'upload refused: it cannot be scanned for malware now, try again later',
        retryAfter: RETRY_AFTER_SECONDS,
      };
  }
}
