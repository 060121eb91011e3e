/**
 * The slot policy chain: each policy looks at a parsed request and its requester and allows it or
 * returns a refusal; the first refusal wins. serve composes access → size → purpose → the
 * retention policy (serve/retention.ts: the per-user request rate and unused-slot cap, in
 * memory, then the quotas, which read the index), so a request refused for its shape, size or
 * sender costs no token and a flood is refused before any disk access; anything else
 * (malware-scanner availability) plugs in the same way.
 */
import type { Purpose } from '../slots/slot.ts';
import type { SlotRequest } from './slot-request.ts';
import { fileTooLarge, notImplemented, type SlotRefusal } from './refusal.ts';

export interface Requester {
  /** The full JID the request came from. */
  jid: string;
  /** Bare JID, normalised (see jid.ts bareJid): what slots and quotas are recorded under. */
  bare: string;
  /** Normalised domain of the requester. */
  domain: string;
}

export interface SlotRequestContext {
  request: SlotRequest;
  requester: Requester;
  /** ms since epoch, the same instant for every policy of one request. */
  now: number;
}

export type PolicyDecision = { ok: true } | { ok: false; refusal: SlotRefusal };

/** A policy may be async (quota lookups); throwing counts as an internal error, not a refusal. */
export type SlotPolicy = (ctx: SlotRequestContext) => PolicyDecision | Promise<PolicyDecision>;

/** The decision that lets a request through. */
export const allow: PolicyDecision = Object.freeze({ ok: true as const });

/**
 * The decision that refuses with `refusal`.
 *
 * @example
 * const quota: SlotPolicy = async ({ requester, request }) => {
 *   const d = await guard.check({ uploader: requester.bare, size: request.size });
 *   return d.ok ? allow : refuse(d); // d: { type: 'wait', condition: 'resource-constraint', text, retryAt }
 * };
 */
export function refuse(refusal: SlotRefusal): PolicyDecision {
  const copy: SlotRefusal = { type: refusal.type, condition: refusal.condition, text: refusal.text };
  if (refusal.maxFileSize !== undefined) copy.maxFileSize = refusal.maxFileSize;
  if (refusal.retryAt !== undefined) copy.retryAt = refusal.retryAt;
  if (refusal.slotLimit !== undefined) copy.slotLimit = refusal.slotLimit;
  return { ok: false, refusal: copy };
}

/**
 * Runs the policies in order; stops at the first refusal.
 *
 * @example
 * const d = await runPolicies([accessPolicy(s.domain, s.allowedDomains), sizePolicy(s.maxFileSize)], ctx);
 */
export async function runPolicies(policies: readonly SlotPolicy[], ctx: SlotRequestContext): Promise<PolicyDecision> {
  for (const policy of policies) {
    const decision = await policy(ctx);
    if (!decision.ok) return decision;
  }
  return allow;
}

/**
 * Refuses files larger than `maxFileSize` bytes with file-too-large; -1 (or any negative) means
 * no limit.
 *
 * @example
 * sizePolicy(52428800)
 */
export function sizePolicy(maxFileSize: number): SlotPolicy {
  return ({ request }) => (maxFileSize >= 0 && request.size > maxFileSize ? refuse(fileTooLarge(maxFileSize)) : allow);
}

/**
 * Refuses purposes the service does not implement (the caller passes those it does). 'message' is
 * the default meaning of a request without purpose, so it is always allowed.
 *
 * @example
 * purposePolicy(['message', 'ephemeral'])
 */
export function purposePolicy(supported: readonly Purpose[]): SlotPolicy {
  return ({ request }) =>
    request.purpose === 'message' || supported.includes(request.purpose)
      ? allow
      : refuse(notImplemented(`The upload purpose "${request.purpose}" is not supported by this service`));
}
