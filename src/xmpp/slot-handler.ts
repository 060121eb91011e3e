/**
 * One slot request from payload to answer: who asks → parse → policy chain → mint → hook →
 * <slot/>. Every failure becomes an answer (never an exception): a refusal for the client's
 * mistakes and the service's rules, wait/internal-server-error when our own code fails.
 */
import type { Logger } from '../log.ts';
import type { Slot } from '../slots/slot.ts';
import type { Element } from './xml.ts';
import { bareJid, normalizeDomain, parseJid } from './jid.ts';
import { parseSlotRequest, type SlotRequest } from './slot-request.ts';
import { runPolicies, type Requester, type SlotPolicy, type SlotRequestContext } from './policy.ts';
import { forbidden, internalError, type SlotRefusal } from './refusal.ts';
import { refusalError } from './stanza-error.ts';
import { slotAnswer } from './slot-answer.ts';
import type { IssuedSlot } from './issue-slot.ts';
import { isUploadNamespace, NS_UPLOAD, type UploadNamespace } from './namespaces.ts';

export type SlotOutcome =
  | { ok: true; slot: Slot; answer: Element; ctx: SlotRequestContext; urls: IssuedSlot['urls'] }
  | { ok: false; refusal: SlotRefusal; error: Element; requester?: Requester; request?: SlotRequest };

export interface SlotHandlerOptions {
  /** The chain to run, asked per request (settings may change at run time). */
  policies: () => readonly SlotPolicy[];
  /** Mints the slot (see issue-slot.ts); may be async (a presigned storage URL). */
  issue: (request: SlotRequest, uploader: string, now: number) => IssuedSlot | Promise<IssuedSlot>;
  /** Awaited before answering; throwing refuses the slot with wait/internal-server-error. */
  onSlotIssued?: (slot: Slot, ctx: SlotRequestContext) => void | Promise<void>;
  now?: () => number;
  log?: Logger;
}

/**
 * The requester of a stanza: its `from`, stamped by the XMPP server, so it can be trusted.
 *
 * @example
 * requesterOf('Alice@Example.org/phone'); // { jid: 'Alice@Example.org/phone', bare: 'alice@example.org', domain: 'example.org' }
 */
export function requesterOf(from: string | undefined): Requester | undefined {
  const jid = from === undefined ? undefined : parseJid(from);
  if (!from || !jid) return undefined;
  return { jid: from, bare: bareJid(jid), domain: normalizeDomain(jid.domain) };
}

/**
 * Creates the handler.
 *
 * @example
 * const handle = createSlotHandler({ policies: () => [sizePolicy(1000)], issue: (r, u, now) => issueSlot(r, u, now, opts) });
 * const outcome = await handle(payload, stanza.attrs.from);
 * return outcome.ok ? outcome.answer : outcome.error;
 */
export function createSlotHandler(
  options: SlotHandlerOptions,
): (payload: Element, from: string | undefined) => Promise<SlotOutcome> {
  const now = options.now ?? Date.now;
  const refused = (
    refusal: SlotRefusal,
    namespace: UploadNamespace,
    requester?: Requester,
    request?: SlotRequest,
  ): SlotOutcome => {
    const outcome: SlotOutcome = { ok: false, refusal, error: refusalError(refusal, namespace) };
    if (requester) outcome.requester = requester;
    if (request) outcome.request = request;
    return outcome;
  };
  return async (payload, from) => {
    const ns = payload.getNS();
    const namespace = isUploadNamespace(ns) ? ns : NS_UPLOAD;
    const requester = requesterOf(from);
    if (!requester) return refused(forbidden('The request has no valid sender'), namespace);
    const at = now();
    const parsed = parseSlotRequest(payload, at);
    if (!parsed.ok) return refused(parsed.refusal, namespace, requester);
    const ctx: SlotRequestContext = { request: parsed.request, requester, now: at };
    try {
      const decision = await runPolicies(options.policies(), ctx);
      if (!decision.ok) return refused(decision.refusal, namespace, requester, parsed.request);
      const { slot, urls } = await options.issue(parsed.request, requester.bare, at);
      await options.onSlotIssued?.(slot, ctx);
      return { ok: true, slot, urls, ctx, answer: slotAnswer(parsed.request, urls) };
    } catch (err) {
      options.log?.error('slot request failed', { err, requester: requester.bare, filename: parsed.request.filename });
      return refused(internalError(), namespace, requester, parsed.request);
    }
  };
}
