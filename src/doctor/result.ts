/**
 * What a doctor check answers, and the summary of a run. Pure.
 *
 * Statuses: `pass` (fine), `warn` (works, but worth a look; or could not be tested — the message
 * says which), `fail` (uploads will not work, or are unsafe), `skip` (does not apply to this
 * configuration, e.g. the TLS check without built-in TLS).
 */
import { errCode } from '../errno.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** One line of the report. */
export interface CheckResult {
  /** Stable check id, e.g. `repository` (scripts match on it). */
  check: string;
  status: CheckStatus;
  /** What was found, in one sentence. */
  message: string;
  /** For warn and fail: what to try. */
  fix?: string;
}

/** Counts per status, and whether the run passed (no fail). */
export interface DoctorSummary {
  pass: number;
  warn: number;
  fail: number;
  skip: number;
  /** True when no check failed. */
  ok: boolean;
}

/**
 * Builds a passing result.
 *
 * @example
 * pass('clock', 'the clock reads 2025-05-01T12:00:00Z');
 */
export function pass(check: string, message: string): CheckResult {
  return { check, status: 'pass', message };
}

/**
 * Builds a warning with the fix to try.
 *
 * @example
 * warn('free-space', 'only 3% of the filesystem is free', 'free some space or set maxRepoSize');
 */
export function warn(check: string, message: string, fix: string): CheckResult {
  return { check, status: 'warn', message, fix };
}

/**
 * Builds a failure with the fix to try.
 *
 * @example
 * fail('repository', '/srv/upload does not exist', 'mkdir -p /srv/upload');
 */
export function fail(check: string, message: string, fix: string): CheckResult {
  return { check, status: 'fail', message, fix };
}

/**
 * Builds a result for a check that does not apply.
 *
 * @example
 * skip('tls', 'built-in TLS is off (tlsCertificate and tlsKey are unset)');
 */
export function skip(check: string, message: string): CheckResult {
  return { check, status: 'skip', message };
}

/**
 * Counts the results by status.
 *
 * @example
 * summarize([pass('a', 'ok'), fail('b', 'no', 'fix')]); // { pass: 1, warn: 0, fail: 1, skip: 0, ok: false }
 */
export function summarize(results: readonly CheckResult[]): DoctorSummary {
  const s: DoctorSummary = { pass: 0, warn: 0, fail: 0, skip: 0, ok: true };
  for (const r of results) s[r.status]++;
  s.ok = s.fail === 0;
  return s;
}

/**
 * The worst status among results (fail > warn > pass > skip), e.g. to fold sub-results into one.
 *
 * @example
 * worst(['pass', 'warn']); // 'warn'
 */
export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  const rank: Record<CheckStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };
  let w: CheckStatus = 'skip';
  for (const s of statuses) if (rank[s] > rank[w]) w = s;
  return w;
}

/**
 * A short description of an error for a check message: the system error code when there is one
 * (`ECONNREFUSED`), else the message.
 *
 * @example
 * describeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5275'), { code: 'ECONNREFUSED' }));
 * // 'connect ECONNREFUSED 127.0.0.1:5275'
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
    return err.message || (errCode(err) as string | undefined) || err.name;
  }
  return String(err);
}

/**
 * The `code` of a Node system error (ENOENT, ECONNREFUSED …), or undefined.
 *
 * @example
 * errorCode(err) === 'ENOENT'
 */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError) return errorCode(err.errors[0]);
  const code = errCode(err);
  return typeof code === 'string' ? code : undefined;
}
