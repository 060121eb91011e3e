/**
 * Check `clamav`: while clamavEnabled, clamd must answer, or every upload is refused (or, with
 * clamavFailOpen, published unscanned). Asks clamd for PING and VERSION, then sends it a stream
 * of exactly clamavStreamMaxLength bytes: clamd refuses one larger than its own StreamMaxLength,
 * and with a smaller StreamMaxLength than configured here every upload in between would fail to
 * scan. The verdict is pure.
 */
import type { Settings } from '../config/settings.ts';
import { checkStreamMaxLength, clamdPing, clamdVersion, type ClamdAnswer } from '../scan/clamav.ts';
import { fail, pass, skip, warn, type CheckResult } from './result.ts';

/** This check's id in the report. */
export const CHECK = 'clamav';

/** What doctor learnt from clamd; undefined answers were not asked (an earlier step failed). */
export interface ClamavFacts {
  enabled: boolean;
  host: string;
  port: number;
  failOpen: boolean;
  streamMaxLength: number;
  ping?: ClamdAnswer;
  version?: ClamdAnswer;
  stream?: ClamdAnswer;
}

/**
 * Asks clamd what the check needs (nothing when clamavEnabled is false).
 *
 * @example
 * const facts = await gatherClamavFacts(settings, 4000);
 */
export async function gatherClamavFacts(settings: Settings, timeoutMs: number): Promise<ClamavFacts> {
  const facts: ClamavFacts = {
    enabled: settings.clamavEnabled,
    host: settings.clamavHost,
    port: settings.clamavPort,
    failOpen: settings.clamavFailOpen,
    streamMaxLength: settings.clamavStreamMaxLength,
  };
  if (!settings.clamavEnabled) return facts;
  const connection = {
    host: settings.clamavHost,
    port: settings.clamavPort,
    connectionTimeout: Math.min(settings.clamavConnectionTimeout, timeoutMs),
    replyTimeout: timeoutMs,
    streamMaxLength: settings.clamavStreamMaxLength,
  };
  facts.ping = await clamdPing(connection);
  if (!facts.ping.ok) return facts;
  facts.version = await clamdVersion(connection);
  // Scanning the whole length takes as long as a real upload of it: clamd's own timeout applies.
  facts.stream = await checkStreamMaxLength({ ...connection, replyTimeout: settings.clamavScanTimeout });
  return facts;
}

/**
 * The verdict on clamd. Pure.
 *
 * @example
 * clamavVerdict({ enabled: true, host: '127.0.0.1', port: 3310, failOpen: false, streamMaxLength: 26214400,
 *   ping: { ok: false, reason: 'refused' } }, 'fileupload').status; // 'fail'
 */
export function clamavVerdict(f: ClamavFacts, cli: string): CheckResult {
  if (!f.enabled) return skip(CHECK, 'clamavEnabled is false: uploads are not scanned for malware');
  const where = `clamd at ${f.host}:${f.port}`;
  const consequence = f.failOpen
    ? 'uploads are published unscanned (clamavFailOpen is true)'
    : 'every upload is refused (503)';
  if (f.ping && !f.ping.ok) {
    return fail(
      CHECK,
      `${where} does not answer PING: ${f.ping.reason}; ${consequence}`,
      `start clamd (systemctl start clamav-daemon) listening on TCP (TCPSocket ${f.port} and TCPAddr in /etc/clamav/clamd.conf), or point ${cli} config set clamavHost / clamavPort at it`,
    );
  }
  const version = f.version?.ok ? f.version.reply : 'version unknown';
  if (f.stream && !f.stream.ok) {
    return fail(
      CHECK,
      `${where} (${version}) does not take an upload of clamavStreamMaxLength (${f.streamMaxLength} bytes): ${f.stream.reason}`,
      `set StreamMaxLength to at least ${f.streamMaxLength} in /etc/clamav/clamd.conf and restart clamd, or lower it here: ${cli} config set clamavStreamMaxLength SIZE`,
    );
  }
  if (!f.version?.ok) {
    return warn(
      CHECK,
      `${where} answers PING but not VERSION: ${f.version?.reason ?? 'not asked'}`,
      'check the clamd log (/var/log/clamav/clamd.log)',
    );
  }
  return pass(CHECK, `${where} answers: ${version}; it scans uploads of up to ${f.streamMaxLength} bytes`);
}
