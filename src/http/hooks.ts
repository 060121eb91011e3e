import type { UploadMeta } from '../storage/store.ts';

/**
 * Observation points for metrics and the status view. All optional; called synchronously on the
 * request path, so they must be cheap and must not throw (a throw is caught and logged).
 *
 * @example
 * createHttpApp({ settings, store, logger, hooks: { onUploadFinished: (e) => bytes.inc(e.meta.size) } });
 */
export interface HttpHooks {
  /** A PUT passed every check and its body is about to be read. */
  onUploadStarted?(e: { id: string; size: number; uploader: string }): void;
  /** Bytes received so far (called per chunk; only wrapped in when given). */
  onUploadProgress?(e: { id: string; received: number; size: number }): void;
  /** Published; 201 is being sent. */
  onUploadFinished?(e: { meta: UploadMeta; durationMs: number }): void;
  /** A PUT that passed the slot check did not publish (size mismatch, abort, 409, disk full…). */
  onUploadFailed?(e: { id: string; status: number; reason: string; durationMs: number }): void;
  /** Every answered request (any method), after the outcome is known. */
  onRequest?(e: { method: string; status: number; bytes: number; durationMs: number }): void;
}
