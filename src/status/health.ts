/**
 * The verdict `fileupload status` ends with, for monitoring: healthy, or degraded with the reasons.
 * serve puts it into every snapshot; the CLI turns it into its exit code.
 */
import type { Health, XmppState } from './snapshot.ts';

/** How far back internal errors make serve degraded, in seconds. */
export const INTERNAL_ERROR_WINDOW_SECONDS = 300;

/** What the verdict depends on. */
export interface HealthInput {
  xmpp: { state: XmppState; detail: string | null };
  /** Internal errors (refused internal-error, HTTP 500) in the last INTERNAL_ERROR_WINDOW_SECONDS. */
  recentInternalErrors: number;
  /** Properties changed in the file that take effect only after a restart. */
  restartPending: readonly string[];
}

/**
 * Healthy while the component connection is online (or, on a cluster node, on standby: another
 * node holds it and this one takes over when it goes), no internal error happened in the last
 * five minutes and no changed property waits for a restart. Pure.
 *
 * @example
 * healthOf({ xmpp: { state: 'auth-failed', detail: null }, recentInternalErrors: 0, restartPending: [] });
 * // { status: 'degraded', reasons: ['xmpp is auth-failed'] }
 */
export function healthOf(input: HealthInput): Health {
  const reasons: string[] = [];
  const { state, detail } = input.xmpp;
  if (state !== 'online' && state !== 'standby') {
    reasons.push(`xmpp is ${state}${detail !== null && detail !== '' ? ` (${detail})` : ''}`);
  }
  const n = input.recentInternalErrors;
  if (n > 0) {
    reasons.push(`${n} internal error${n === 1 ? '' : 's'} in the last ${INTERNAL_ERROR_WINDOW_SECONDS / 60} minutes`);
  }
  if (input.restartPending.length > 0) {
    reasons.push(`restart pending: ${input.restartPending.join(', ')} changed`);
  }
  return { status: reasons.length === 0 ? 'healthy' : 'degraded', reasons };
}
