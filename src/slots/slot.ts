/**
 * A slot is a signed statement: "the holder may PUT exactly `size` bytes named `filename`
 * (of `contentType`) under `id` until `expiresAt`". Any node that knows the slot secret can
 * verify it without shared state; see sign.ts.
 */
/** Every upload purpose (XEP-0363 §purpose) this service implements, in the XEP's order. */
export const PURPOSES = ['message', 'ephemeral', 'profile', 'permanent'] as const;

export type Purpose = (typeof PURPOSES)[number];

/**
 * True when `value` names a purpose.
 *
 * @example
 * isPurpose('profile'); // true
 */
export function isPurpose(value: unknown): value is Purpose {
  return (PURPOSES as readonly unknown[]).includes(value);
}

export interface Slot {
  /** base64url, at least 128 bits from a CSPRNG; the only thing storage paths are derived from. */
  id: string;
  /** The client's filename, kept as the last URL path segment (clients derive previews from it). */
  filename: string;
  /** Exact byte count the PUT must carry. */
  size: number;
  /** Content-Type requested in the slot request, if any; the PUT must match it. */
  contentType?: string;
  /** Bare JID of the requester. */
  uploader: string;
  /** When the slot was issued (ms since epoch). */
  issuedAt: number;
  /** After this instant (ms since epoch) the PUT URL is refused. */
  expiresAt: number;
  /** XEP-0363 §purpose; 'message' when the request had none. */
  purpose: Purpose;
  /** For purpose 'ephemeral': never serve after this instant (ms since epoch). */
  expireBefore?: number;
}
