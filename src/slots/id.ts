import { randomBytes } from 'node:crypto';

/** 18 bytes = 144 bits from the CSPRNG, 24 base64url characters: unguessable, URL- and path-safe. */
const ID_BYTES = 18;

/** The exact shape of an id; storage never sees anything else, so no path can be smuggled in. */
export const SLOT_ID_PATTERN = /^[A-Za-z0-9_-]{24}$/;

/**
 * Returns a new random slot id.
 *
 * @example
 * const id = newSlotId(); // "q3W0n7V4uXy1Z2a_bC-dEfGh"
 */
export function newSlotId(): string {
  // Never a leading "-": ids are command-line arguments too (`slots rm ID`), where it would read
  // as an option. Skipping 1 id in 64 leaves more than 143 bits.
  for (;;) {
    const id = randomBytes(ID_BYTES).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** True when `id` has the exact shape newSlotId produces. */
export function isSlotId(id: string): boolean {
  return SLOT_ID_PATTERN.test(id);
}
