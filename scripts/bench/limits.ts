/**
 * The limits the bench raises in the serve it measures. The bench is a load test from one
 * address (127.0.0.1) and one JID (bench@localhost): with serve's defaults — a slot request rate
 * and a pending-slot cap per user, a daily quota per user, a connection cap per address — most of
 * its requests would be refused and the figures would measure the refusals. Each limit it would
 * reach is raised here, and only those; the defaults phase (scripts/bench/defaults.ts) measures a
 * serve with none raised.
 */

/** The slot requests of the slots phase in one run (its answers end it, or 8 s do). */
export const SLOT_REQUESTS = 50_000;
/** Uncounted 64 KiB PUTs before the put64k phase, for each server alike (see smallPuts in index.ts). */
export const SMALL_WARM_UP = 300;
/** Connections the wrk and HEAD phases hold open at once. */
export const WRK_CONNECTIONS = 64;

/** What one run asks of serve, from the bench's options. */
export interface Load {
  slowCount: number;
}

/** One property of serve's configuration, by name, with its value as the config file spells it. */
export interface RaisedLimit {
  name: string;
  value: string;
}

/**
 * The properties the measured serve gets on top of its defaults, in the order they are printed.
 *
 * @example
 * raisedLimits({ slowCount: 500 });
 * // [{ name: 'maxFileSize', value: '-1' }, { name: 'slotRequestRate', value: '1000000' }, …]
 */
export function raisedLimits(load: Load): RaisedLimit[] {
  return [
    // Unlimited: the one-stream phases send --big-mib, which has no upper bound, and the size
    // check costs the same whatever the limit is.
    { name: 'maxFileSize', value: '-1' },
    // The properties' largest values rather than "unlimited": the token bucket stays on the
    // measured path, as in every default install, and the slots phase's SLOT_REQUESTS fit in the
    // burst alone, so none is refused whatever the refill rate.
    { name: 'slotRequestRate', value: '1000000' },
    { name: 'slotRequestBurst', value: '1000000' },
    // Unlimited, not merely above the load: the one JID here stands for many users, but per-user
    // accounting sees one user holding tens of thousands of unused slots — which the defaults
    // (50 pending, 60 requests a minute) never let a user reach — and a check that looks at each
    // of a user's slots would measure that artefact instead of the slot path. The defaults phase
    // measures the accounting at the size the defaults allow.
    { name: 'maxPendingSlots', value: '0' },
    // Unlimited for the same reason (each run uploads a few GB as bench@localhost, over the
    // default 1G; the daily sum goes over every upload and slot of the user in the last day).
    { name: 'dailyQuota', value: '0' },
    // The slow phase holds --slow-count uploads open at once from 127.0.0.1; the default cap per
    // address is at most 256. Twice the largest phase, so sockets of the previous phase still
    // closing do not count against the next, and never below 1024, so it is always a raise;
    // finite, so the per-address count (one counter) stays on the measured path.
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
  // No phase leaves a connection in use silent for anywhere near 60 s: the slow phase writes every
  // 100 ms, and the longest wait is the one-stream PUT's sync before its answer.
  'idleTimeout',
];

/**
 * The line printed at the start of a run: each raised limit with its value, then what is left at
 * its default.
 *
 * @example
 * raisedLimitsLine([{ name: 'maxPendingSlots', value: '0' }]);
 * // 'limits raised for one address and one JID: maxPendingSlots=0 (unlimited); left at defaults: …'
 */
export function raisedLimitsLine(limits: readonly RaisedLimit[]): string {
  // 0 or less means unlimited to every one of these properties; said in words, as "0" reads as none.
  const text = (l: RaisedLimit) => `${l.name}=${l.value}${/^(0|-\d+)$/.test(l.value) ? ' (unlimited)' : ''}`;
  return `limits raised for one address and one JID: ${limits.map(text).join(', ')}; left at defaults: ${UNRAISED.join(', ')}`;
}
