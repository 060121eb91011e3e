/**
 * Why a slot request is refused, as plain data: policies (size, access, quota, purpose) return
 * it, stanza-error.ts turns it into the XMPP error. The shape matches XEP-0363 §errors, so a
 * quota module's `{ type: 'wait', condition: 'resource-constraint', text, retryAt }` is one.
 */

export type ErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/** RFC 6120 §8.3.3 conditions a slot request may be answered with. */
export type ErrorCondition =
  | 'bad-request'
  | 'feature-not-implemented'
  | 'forbidden'
  | 'internal-server-error'
  | 'item-not-found'
  | 'not-acceptable'
  | 'not-allowed'
  | 'policy-violation'
  | 'resource-constraint'
  | 'service-unavailable';

export interface SlotRefusal {
  type: ErrorType;
  condition: ErrorCondition;
  /** Short human-readable explanation, sent as <text/>. */
  text: string;
  /** Adds <file-too-large><max-file-size>N</max-file-size></file-too-large>. */
  maxFileSize?: number;
  /** Adds <retry stamp='…'/> (ms since epoch; sent as XEP-0082 UTC). */
  retryAt?: number;
  /** The per-user limit that refused (request rate or unused-slot cap): for /status, not sent. */
  slotLimit?: 'rate' | 'pending';
}

/**
 * Malformed request: modify/bad-request.
 *
 * @example
 * badRequest('the size is not a whole number of bytes')
 */
export function badRequest(text: string): SlotRefusal {
  return { type: 'modify', condition: 'bad-request', text };
}

/**
 * Larger than the service takes: modify/not-acceptable with <file-too-large/>.
 *
 * @example
 * fileTooLarge(52428800)
 */
export function fileTooLarge(maxFileSize: number): SlotRefusal {
  return {
    type: 'modify',
    condition: 'not-acceptable',
    text: `File too large. The maximum file size is ${maxFileSize} bytes`,
    maxFileSize,
  };
}

/**
 * The requester may not upload here: auth/forbidden.
 *
 * @example
 * forbidden('Only users of example.org may upload files here')
 */
export function forbidden(text = 'You are not allowed to upload files to this service'): SlotRefusal {
  return { type: 'auth', condition: 'forbidden', text };
}

/**
 * Over a quota or rate limit: wait/resource-constraint, with a retry time when one is known.
 *
 * @example
 * quotaExceeded('Quota reached: 1 GB stored', Date.now() + 3_600_000)
 */
export function quotaExceeded(text: string, retryAt?: number): SlotRefusal {
  const refusal: SlotRefusal = { type: 'wait', condition: 'resource-constraint', text };
  if (retryAt !== undefined) refusal.retryAt = retryAt;
  return refusal;
}

/**
 * Something this service does not do: cancel/feature-not-implemented.
 *
 * @example
 * notImplemented('The purpose "profile" is not supported')
 */
export function notImplemented(text = 'Not supported by this upload service'): SlotRefusal {
  return { type: 'cancel', condition: 'feature-not-implemented', text };
}

/**
 * Our own failure (a hook threw): wait/internal-server-error, so clients may try again.
 *
 * @example
 * internalError()
 */
export function internalError(text = 'Internal error, please try again later'): SlotRefusal {
  return { type: 'wait', condition: 'internal-server-error', text };
}
