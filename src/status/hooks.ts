/**
 * Adapters from serve's observation points to the live state, so wiring is one line per part.
 */
import type { HttpHooks } from '../http/hooks.ts';
import type { SlotRefusal } from '../xmpp/refusal.ts';
import type { LiveState } from './live.ts';
import { refusalReason, uploadFailureReason } from './reasons.ts';
import { XMPP_STATES, type XmppState } from './snapshot.ts';

/**
 * HTTP hooks that feed `live`: uploads started/progress/finished/failed and download bytes.
 *
 * @example
 * createHttpApp({ settings, store, logger, hooks: liveHttpHooks(live) });
 */
export function liveHttpHooks(live: LiveState): Required<HttpHooks> {
  return {
    onUploadStarted: (e) => {
      // The event carries the file name once the HTTP layer passes it (optional field).
      const filename = (e as { filename?: unknown }).filename;
      live.uploadStarted({
        id: e.id,
        size: e.size,
        uploader: e.uploader,
        filename: typeof filename === 'string' ? filename : null,
      });
    },
    onUploadProgress: (e) => live.uploadProgress(e.id, e.received),
    onUploadFinished: (e) => live.uploadFinished(e.meta.id, e.meta.size),
    onUploadFailed: (e) => live.uploadFailed(e.id, uploadFailureReason(e.status)),
    onRequest: (e) => {
      if (e.method === 'GET' && e.bytes > 0) live.bytesOut(e.bytes);
      if (e.status === 500) live.internalError(`${e.method} answered 500`);
    },
  };
}

/**
 * Records the outcome of one slot request: issued, or refused with its reason word.
 *
 * @example
 * const outcome = await handleSlot(payload, from);
 * recordSlotOutcome(live, outcome);
 */
export function recordSlotOutcome(
  live: LiveState,
  outcome: { ok: true } | { ok: false; refusal: Pick<SlotRefusal, 'condition' | 'maxFileSize' | 'slotLimit'> },
): void {
  if (outcome.ok) live.slotIssued();
  else live.slotRefused(refusalReason(outcome.refusal));
}

/** The part of the XMPP component (src/xmpp/service.ts) the live state listens to. */
export interface ObservableComponent {
  readonly state: string;
  on(event: 'state', listener: (state: string, previous: string) => void): unknown;
  on(event: 'online', listener: () => void): unknown;
  on(event: 'offline', listener: (failure: { message: string; hint: string }) => void): unknown;
  on(event: 'slot', listener: (slot: { id: string; filename: string }) => void): unknown;
  on(event: 'refused', listener: (refusal: SlotRefusal, ...rest: unknown[]) => void): unknown;
}

/** Component states the status view does not have, in its words. */
function liveStateOf(state: string): { state: XmppState; detail?: string } {
  if (state === 'idle') return { state: 'connecting' };
  if (state === 'stopped') return { state: 'offline', detail: 'serve is stopping' };
  return (XMPP_STATES as readonly string[]).includes(state)
    ? { state: state as XmppState }
    : { state: 'offline', detail: state };
}

/**
 * Feeds `live` from the XMPP component's events: connection state (with the failure's words),
 * reconnects, issued and refused slots. A repeated failure is recorded as an error once.
 *
 * @example
 * const xmpp = createUploadComponent({ settings: () => settings, logger });
 * observeComponent(live, xmpp);
 * xmpp.start();
 */
export function observeComponent(live: LiveState, component: ObservableComponent): void {
  let onlineBefore = false;
  let lastFailure = '';
  const initial = liveStateOf(component.state);
  live.xmppState(initial.state, initial.detail);
  component.on('state', (state) => {
    // offline/auth-failed/conflict get their words from the 'offline' event that follows.
    const mapped = liveStateOf(state);
    live.xmppState(mapped.state, mapped.detail);
  });
  component.on('online', () => {
    if (onlineBefore) live.xmppReconnect();
    onlineBefore = true;
    lastFailure = '';
  });
  component.on('offline', (failure) => {
    live.xmppState(live.xmppStatus.state, failure.message);
    if (failure.message !== lastFailure) live.error(`xmpp: ${failure.message} (${failure.hint})`);
    lastFailure = failure.message;
  });
  component.on('slot', (slot) => live.slotIssued({ id: slot.id, filename: slot.filename }));
  component.on('refused', (refusal) => live.slotRefused(refusalReason(refusal)));
}
