/**
 * A fixed-size Bloom filter of strings: "certainly not seen" or "maybe seen". Index repair uses
 * two of them to compare the repository with the index in constant memory (1 MiB each by
 * default) however many uploads there are; a false "maybe" only postpones a repair to a later
 * purge (each filter gets a random seed, so the same entry is not missed twice in a row).
 */
import { randomInt } from 'node:crypto';

/**
 * @example
 * const seen = new BloomFilter();
 * seen.add('q3W0n7V4uXy1Z2a_bC-dEfGh');
 * seen.has('q3W0n7V4uXy1Z2a_bC-dEfGh'); // true
 * seen.has('something else');           // false (almost always)
 */
export class BloomFilter {
  readonly bits: Uint8Array;
  readonly #m: number;
  readonly #k: number;
  readonly #seed: number;

  /** `bytes` of memory (a power of two), `k` probes per string. */
  constructor(bytes = 1 << 20, k = 4, seed = randomInt(0, 2 ** 31)) {
    if (bytes <= 0 || (bytes & (bytes - 1)) !== 0) throw new RangeError('bytes must be a power of two');
    this.bits = new Uint8Array(bytes);
    this.#m = bytes * 8;
    this.#k = k;
    this.#seed = seed;
  }

  #probes(s: string, visit: (bit: number) => boolean): boolean {
    // Two FNV-1a hashes with different seeds, combined (Kirsch–Mitzenmacher double hashing).
    let h1 = 0x811c9dc5 ^ this.#seed;
    let h2 = 0x01000193 ^ (this.#seed * 31);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h2 |= 1;
    for (let i = 0; i < this.#k; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % this.#m;
      if (!visit(bit)) return false;
    }
    return true;
  }

  add(s: string): void {
    this.#probes(s, (bit) => {
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
      return true;
    });
  }

  has(s: string): boolean {
    return this.#probes(s, (bit) => ((this.bits[bit >>> 3] ?? 0) & (1 << (bit & 7))) !== 0);
  }
}
