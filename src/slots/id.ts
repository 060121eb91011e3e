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

/**
 * Ids of uploads imported from the Openfire plugin (`fileupload import openfire`): 27 base64url
 * characters (160 random bits; '-' may lead) or a 36-character UUID, lower case as the plugin
 * names its files. Never minted here and never accepted for a PUT (a slot token signs only slot
 * ids): they name stored uploads only.
 */
const IMPORTED_SECURE_ID = /^[A-Za-z0-9_-]{27}$/;
const IMPORTED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * True when `id` is the id of an upload imported from the Openfire plugin.
 *
 * @example
 * isImportedId('-q3W0n7V4uXy1Z2a_bC-dEfGhIj');          // true
 * isImportedId('9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c'); // true
 * isImportedId('q3W0n7V4uXy1Z2a_bC-dEfGh');             // false (a slot id)
 */
export function isImportedId(id: string): boolean {
  return IMPORTED_SECURE_ID.test(id) || IMPORTED_UUID.test(id);
}

/**
 * True when `id` may name a stored upload: a slot id or an imported one. Storage builds paths
 * and keys only from such ids.
 *
 * @example
 * if (!isStoredId(id)) throw new InvalidIdError(id);
 */
export function isStoredId(id: string): boolean {
  return isSlotId(id) || isImportedId(id);
}
