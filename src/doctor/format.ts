/**
 * How a doctor report is printed: one line per check (the fix indented below it) and a summary
 * line, or one JSON document. Pure.
 */
import type { CheckResult, CheckStatus, DoctorSummary } from './result.ts';

const COLOURS: Record<CheckStatus, string> = { pass: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m', skip: '\x1b[2m' };
const RESET = '\x1b[0m';

/**
 * Formats one result as text lines (no trailing newline).
 *
 * @example
 * formatResult(fail('xmpp', 'nothing listens on localhost:5275', 'start the XMPP server'), 12);
 * // 'fail  xmpp          nothing listens on localhost:5275\n      fix: start the XMPP server'
 */
export function formatResult(r: CheckResult, width: number, colour = false): string {
  const label = colour ? `${COLOURS[r.status]}${r.status.padEnd(4)}${RESET}` : r.status.padEnd(4);
  const lines = [`${label}  ${r.check.padEnd(width)}  ${r.message}`];
  if (r.fix !== undefined) lines.push(`${' '.repeat(6)}fix: ${r.fix}`);
  return lines.join('\n');
}

/**
 * The summary line.
 *
 * @example
 * formatSummary({ pass: 7, warn: 1, fail: 0, skip: 1, ok: true });
 * // 'summary: 7 pass, 1 warn, 0 fail, 1 skip: no problem that stops uploads'
 */
export function formatSummary(s: DoctorSummary): string {
  const counts = `${s.pass} pass, ${s.warn} warn, ${s.fail} fail, ${s.skip} skip`;
  const verdict = s.ok
    ? s.warn > 0
      ? 'no problem that stops uploads (see the warnings)'
      : 'no problem found'
    : `${s.fail} problem${s.fail === 1 ? '' : 's'} to fix`;
  return `summary: ${counts}: ${verdict}`;
}

/**
 * The whole text report.
 *
 * @example
 * process.stdout.write(formatReport(results, summarize(results)));
 */
export function formatReport(results: readonly CheckResult[], summary: DoctorSummary, colour = false): string {
  const width = Math.max(0, ...results.map((r) => r.check.length));
  return [...results.map((r) => formatResult(r, width, colour)), formatSummary(summary)].join('\n') + '\n';
}

/**
 * The JSON report: `{ checks: [{check, status, message, fix?}…], summary: {pass, warn, fail, skip, ok} }`.
 *
 * @example
 * process.stdout.write(formatJson(results, summarize(results)));
 */
export function formatJson(results: readonly CheckResult[], summary: DoctorSummary): string {
  return JSON.stringify({ checks: results, summary }, null, 2) + '\n';
}
