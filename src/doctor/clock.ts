/**
 * Check `clock`: slots carry absolute expiry times signed on one node and checked on another, and
 * TLS certificates have validity dates, so the clock must be right. Looks at the year, compares
 * with the clocks doctor met on the way (serve's admin API, the server answering the announced
 * URL) and, where systemd runs, whether NTP has synchronised the clock. The verdict is pure.
 */
import { execFile } from 'node:child_process';
import { fail, pass, warn, type CheckResult } from './result.ts';

/** This check's id in the report. */
export const CHECK = 'clock';

/** Clocks further apart than this warn (HTTP dates have one-second resolution). */
export const MAX_SKEW_MS = 30_000;
/** The project did not exist before this year: an earlier clock is wrong. */
export const MIN_YEAR = 2024;

export interface ClockInput {
  /** This machine's clock, ms since epoch. */
  now: number;
  /** Other clocks, by who they are (e.g. "serve's admin API"), ms since epoch. */
  others: Array<{ who: string; time: number }>;
  /** timedatectl's NTPSynchronized: true, false, or undefined when unknown. */
  ntpSynchronized: boolean | undefined;
}

/**
 * Asks timedatectl whether NTP synchronised the clock; undefined when it cannot tell (no systemd,
 * a container, not installed).
 *
 * @example
 * await ntpSynchronized(); // true | false | undefined
 */
export function ntpSynchronized(timeoutMs = 2000): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    execFile(
      'timedatectl',
      ['show', '--property=NTPSynchronized', '--value'],
      { timeout: timeoutMs },
      (err, stdout) => {
        if (err) return resolve(undefined);
        const v = stdout.trim();
        resolve(v === 'yes' ? true : v === 'no' ? false : undefined);
      },
    );
  });
}

/**
 * The verdict on the clock. Pure.
 *
 * @example
 * clockVerdict({ now: Date.parse('2019-01-01'), others: [], ntpSynchronized: undefined }).status; // 'fail'
 */
export function clockVerdict(input: ClockInput): CheckResult {
  const iso = new Date(input.now).toISOString();
  const fix = 'synchronise the clock: timedatectl set-ntp true (or run chrony/ntpd/systemd-timesyncd)';
  if (new Date(input.now).getUTCFullYear() < MIN_YEAR) {
    return fail(CHECK, `the clock reads ${iso}: slot expiry and certificate checks go wrong`, fix);
  }
  for (const o of input.others) {
    const skew = input.now - o.time;
    if (Math.abs(skew) > MAX_SKEW_MS) {
      return warn(
        CHECK,
        `this machine's clock (${iso}) is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'ahead of' : 'behind'} ${o.who}: slots signed on one may look expired on the other`,
        `${fix}, on both machines`,
      );
    }
  }
  if (input.ntpSynchronized === false) {
    return warn(CHECK, `the clock reads ${iso} but is not synchronised by NTP`, fix);
  }
  const compared = input.others.length > 0 ? `, agrees with ${input.others.map((o) => o.who).join(' and ')}` : '';
  const ntp = input.ntpSynchronized ? ', NTP-synchronised' : '';
  return pass(CHECK, `the clock reads ${iso}${compared}${ntp}`);
}
