/**
 * The limits the bench raises in the serve it measures. The bench is a load test from one
 * address (127.0.0.1) and one JID (bench@localhost): with serve's defaults — a slot request rate
 * and a pending-slot cap per user, a daily quota per user, a connection cap per address — most of
 * its requests would be refused and the figures would measure the refusals. Each limit it would
 * reach is raised here, and only those; the defaults phase (scripts/bench/defaults.ts) measures a
 * serve with none raised.
 */
import { SLOT_BYTES } from './xmpp-slots.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The slot requests of the slots phase in one run (its answers end it, or 8 s do). */
export const SLOT_REQUESTS = 50_000;
/** The warm-up's requests before it (one at a time, 200 ms apart, for at most 15 s), rounded up. */
const SLOT_WARM_UP = 100;
/** Uncounted 64 KiB PUTs before the put64k phase, for each server alike (see there). */
export const SMALL_WARM_UP = 300;
const SMALL_BYTES = 64 * KiB;
/** The size of each of the slow phase's uploads. */
export const SLOW_BYTES = MiB;
/** Connections the wrk and HEAD phases hold open at once. */
export const WRK_CONNECTIONS = 64;

/** What one run asks of serve, from the bench's options. */
export interface Load {
  bigBytes: number;
  smallCount: number;
  slowCount: number;
}

/** One property of serve's configuration, by name, with its value as the config file spells it. */
export interface RaisedLimit {
  name: string;
  value: string;
}

/**
 * The bytes one run uploads as bench@localhost: the one-stream file (twice when GET has to upload
 * its own), the 64 KiB files with their warm-up, the slow uploads and the slots phase's requests.
 *
 * @example
 * uploadedBytes({ bigBytes: 1 << 30, smallCount: 2000, slowCount: 500 }); // ≈ 2.8 GB
 */
export function uploadedBytes(load: Load): number {
  return 2 * load.bigBytes + (SMALL_WARM_UP + load.smallCount) * SMALL_BYTES + load.slowCount * SLOW_BYTES + (SLOT_REQUESTS + SLOT_WARM_UP) * SLOT_BYTES;
}

/**
 * The properties the measured serve gets on top of its defaults, in the order they are printed.
 *
 * @example
 * raisedLimits({ bigBytes: 1 << 30, smallCount: 2000, slowCount: 500 });
 * // [{ name: 'maxFileSize', value: '-1' }, { name: 'slotRequestRate', value: '1000000' }, …]
 */
export function raisedLimits(load: Load): RaisedLimit[] {
  return [
    // Unlimited: the one-stream phases send --big-mib, which has no upper bound, and the size
    // check costs the same whatever the limit is.
    { name: 'maxFileSize', value: '-1' },
    // The properties' largest values rather than "unlimited": the token bucket and the pending
    // count stay on the measured path, as in every default install, and the slots phase's
    // SLOT_REQUESTS fit in the burst alone, so none is refused whatever the refill rate.
    { name: 'slotRequestRate', value: '1000000' },
    { name: 'slotRequestBurst', value: '1000000' },
    { name: 'maxPendingSlots', value: '1000000' },
    // Above the load rather than unlimited, for the same reason: the daily accounting runs as in a
    // default install. Twice what one run uploads (a fresh repository each run), whole GiB.
    { name: 'dailyQuota', value: `${Math.ceil((2 * uploadedBytes(load)) / GiB)}G` },
    // The slow phase holds --slow-count uploads open at once from 127.0.0.1; the default cap per
    // address is at most 256. Twice the largest phase, so sockets of the previous phase still
    // closing do not count against the next, and never below 1024, so it is always a raise;
    // finite, so the per-address count stays on the measured path.
    { name: 'maxConnectionsPerAddress', value: String(Math.max(1024, 2 * Math.max(load.slowCount, WRK_CONNECTIONS))) },
  ];
}

/**
 * The limits left at their defaults because this load does not reach them, and why: printed
 * beside the raised ones so a reader sees the whole configuration.
 */
export const UNRAISED: readonly string[] = [
  // Derived from the open-file limit, which bounds this load too (every slow upload holds a socket
  // and a temp file): a higher cap would trade a 503 for EMFILE.
  'maxConnections (from the open-file limit)',
  // The slowest upload here is the slow phase's 320 KiB/s, 80 × the default rate.
  'minUploadRate',
  // No phase leaves a connection silent for longer than 100 ms while it is in use.
  'idleTimeout',
];

/**
 * The line printed at the start of a run: each raised limit with its value, then what is left at
 * its default.
 *
 * @example
 * raisedLimitsLine([{ name: 'maxPendingSlots', value: '1000000' }]);
 * // 'limits raised for one address and one JID: maxPendingSlots=1000000; left at defaults: …'
 */
export function raisedLimitsLine(limits: readonly RaisedLimit[]): string {
  return `limits raised for one address and one JID: ${limits.map((l) => `${l.name}=${l.value}`).join(', ')}; left at defaults: ${UNRAISED.join(', ')}`;
}
