/** Mints a slot for an accepted request: a fresh id, the signed token, the two URLs (src/slots). */
import type { Slot } from '../slots/slot.ts';
import { newSlotId } from '../slots/id.ts';
import { signSlot } from '../slots/sign.ts';
import { slotUrls, type AnnouncedEndpoint } from '../slots/urls.ts';
import type { SlotRequest } from './slot-request.ts';
import type { SlotUrls } from './slot-answer.ts';

export interface IssueOptions {
  /** HMAC key shared by every node. */
  secret: string;
  endpoint: AnnouncedEndpoint;
  /** How long the PUT URL stays valid (ms). */
  lifetime: number;
}

export interface IssuedSlot {
  slot: Slot;
  urls: SlotUrls;
}

/**
 * Issues a slot for `request` on behalf of `uploader` (bare JID).
 *
 * @example
 * const { slot, urls } = issueSlot(request, 'alice@example.org', Date.now(), { secret, endpoint, lifetime: 300_000 });
 */
export function issueSlot(request: SlotRequest, uploader: string, now: number, options: IssueOptions): IssuedSlot {
  const slot: Slot = {
    id: newSlotId(),
    filename: request.filename,
    size: request.size,
    uploader,
    issuedAt: now,
    expiresAt: now + options.lifetime,
    purpose: request.purpose,
  };
  if (request.contentType !== undefined) slot.contentType = request.contentType;
  if (request.expireBefore !== undefined) slot.expireBefore = request.expireBefore;
  const urls = slotUrls(options.endpoint, slot.id, slot.filename, signSlot(options.secret, slot));
  return { slot, urls };
}
