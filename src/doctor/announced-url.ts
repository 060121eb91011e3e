/**
 * Check `announced-url`: what clients are told works. Doctor signs a slot itself (with
 * slotSecret, as serve would), PUTs a small random body to the announced
 * protocol://host:port/contextRoot URL — so DNS, a reverse proxy, its TLS and its forwarding are
 * all on the path — GETs it back, compares the bytes and serve's safe headers, then removes the
 * probe from the repository. The upload is an ephemeral one that expires within minutes, so a
 * probe that cannot be removed is purged later.
 */
import { parentDomain } from '../config/types.ts';
import type { Settings } from '../config/settings.ts';
import { newSlotId } from '../slots/id.ts';
import { signSlot } from '../slots/sign.ts';
import type { Slot } from '../slots/slot.ts';
import { announcedEndpoint, baseUrl, slotUrls } from '../slots/urls.ts';
import { fail, pass, warn, type CheckResult } from './result.ts';
import { explainTlsFailure } from './tls.ts';
import {
  getProbe,
  leftNote,
  missingSafeHeaders,
  probeBody,
  probeOrigin,
  PROBE_CONTENT_TYPE,
  PROBE_FILENAME,
  putProbe,
  removeProbe,
  type StepOutcome,
} from './probe-upload.ts';

/** This check's id in the report. */
export const CHECK = 'announced-url';

/** How long the probe upload may be served (it is ephemeral). */
const PROBE_LIFETIME_MS = 10 * 60_000;

/** What the round trip found. */
export interface RoundTripOutcome {
  /** The announced base URL. */
  base: string;
  /** The probe's upload id. */
  id: string;
  put: StepOutcome;
  get: StepOutcome | undefined;
  /** GET returned exactly the bytes sent. */
  sameBytes: boolean;
  /** From removeProbe. */
  removal: string | undefined;
  /** The Date header of the GET answer (the clock of whatever served it), ms since epoch. */
  serverDate: number | undefined;
}

/**
 * A slot for the probe, signed like serve signs them; uploader doctor@<parent domain>.
 *
 * @example
 * const { slot, token } = probeSlot(settings, secret, body.length, Date.now());
 */
export function probeSlot(
  settings: Pick<Settings, 'domain' | 'slotLifetime'>,
  secret: string,
  size: number,
  now: number,
): { slot: Slot; token: string } {
  const slot: Slot = {
    id: newSlotId(),
    filename: PROBE_FILENAME,
    size,
    contentType: PROBE_CONTENT_TYPE,
    uploader: `doctor@${parentDomain(settings.domain)}`,
    issuedAt: now,
    expiresAt: now + Math.min(settings.slotLifetime, 60_000),
    purpose: 'ephemeral',
    expireBefore: now + PROBE_LIFETIME_MS,
  };
  return { slot, token: signSlot(secret, slot) };
}

/**
 * Runs the round trip through the announced URL.
 *
 * @example
 * const outcome = await roundTrip(settings, settings.slotSecret!, 4000);
 */
export async function roundTrip(settings: Settings, secret: string, timeoutMs: number): Promise<RoundTripOutcome> {
  const endpoint = announcedEndpoint(settings);
  const body = probeBody();
  const { slot, token } = probeSlot(settings, secret, body.length, Date.now());
  const urls = slotUrls(endpoint, slot.id, slot.filename, token);
  const outcome: RoundTripOutcome = {
    base: baseUrl(endpoint),
    id: slot.id,
    put: await putProbe(urls.put, body, {}, timeoutMs),
    get: undefined,
    sameBytes: false,
    removal: undefined,
    serverDate: undefined,
  };
  if (!outcome.put.ok) return outcome;
  outcome.get = await getProbe(urls.get, timeoutMs, probeOrigin(settings.corsOrigins));
  if (outcome.get.ok) {
    outcome.sameBytes = outcome.get.body.equals(body);
    const date = Date.parse(String(outcome.get.headers.date ?? ''));
    if (Number.isFinite(date)) outcome.serverDate = date;
  }
  outcome.removal = await removeProbe(settings, slot.id);
  return outcome;
}

/**
 * The message and fix for a failed HTTP step (shared with the --as check). Pure.
 *
 * @example
 * stepFailure('PUT', 'https://x:443/r', { ok: false, error: 'getaddrinfo ENOTFOUND x', code: 'ENOTFOUND' });
 */
export function stepFailure(
  step: 'PUT' | 'GET',
  base: string,
  s: Exclude<StepOutcome, { ok: true }>,
  configCli = 'fileupload',
): { message: string; fix: string } {
  const u = new URL(base);
  const hostPort = `${u.hostname}:${u.port}`;
  if ('error' in s) {
    const code = s.code ?? '';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return {
        message: `${step} ${base}: ${u.hostname} does not resolve`,
        fix: `publish a DNS record for ${u.hostname}, or correct it: ${configCli} config set announcedWebHost HOST`,
      };
    }
    if (code === 'ECONNREFUSED') {
      return {
        message: `${step} ${base}: nothing answers on ${hostPort} (connection refused)`,
        fix: `announcedWebPort must be where clients reach serve: webPort, or the port of the reverse proxy in front of it (${configCli} config set announcedWebPort PORT)`,
      };
    }
    if (code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
      return {
        message: `${step} ${base}: ${s.error}`,
        fix: `check that ${hostPort} is reachable (firewall, announcedWebHost, announcedWebPort)`,
      };
    }
    const tls = explainTlsFailure(s, hostPort);
    if (tls !== undefined) return { message: `${step} ${base}: ${tls.message}`, fix: tls.fix };
    return {
      message: `${step} ${base}: ${s.error}`,
      fix: 'check announcedWebProtocol, announcedWebHost and announcedWebPort',
    };
  }
  const detail = s.body ? ` (${s.body})` : '';
  if (s.status === 403) {
    return {
      message: `${step} ${base}: 403 Forbidden${detail}: whatever answers there does not accept this serve's slots`,
      fix: 'announcedWebHost/announcedWebPort must lead to serve (check the reverse proxy), and every node must share the same slotSecret',
    };
  }
  if (s.status === 404 || s.status === 405 || s.status === 501) {
    return {
      message: `${step} ${base}: ${s.status}${detail}: the URL does not reach serve's ${u.pathname}`,
      fix: `the reverse proxy must pass ${u.pathname}/ (PUT, GET, HEAD, OPTIONS) to serve unchanged, and announcedWebContextRoot must match`,
    };
  }
  if (s.status === 413) {
    return {
      message: `${step} ${base}: 413 for a tiny body: a body size limit in between`,
      fix: "raise the reverse proxy's body limit to at least maxFileSize (nginx: client_max_body_size)",
    };
  }
  if (s.status >= 500) {
    return {
      message: `${step} ${base}: ${s.status}${detail}`,
      fix: 'serve or the reverse proxy failed: look at their logs (journalctl -u fileupload)',
    };
  }
  return {
    message: `${step} ${base}: unexpected status ${s.status}${detail}`,
    fix: "check the reverse proxy and serve's log",
  };
}

/**
 * The verdict on a round trip. Pure.
 *
 * @example
 * roundTripVerdict(outcome).status;
 */
export function roundTripVerdict(o: RoundTripOutcome, configCli = 'fileupload'): CheckResult {
  if (!o.put.ok) {
    const f = stepFailure('PUT', o.base, o.put, configCli);
    return fail(CHECK, f.message, f.fix);
  }
  if (o.get === undefined || !o.get.ok) {
    const f = o.get
      ? stepFailure('GET', o.base, o.get, configCli)
      : { message: `GET ${o.base}: not tried`, fix: 'run doctor again' };
    return fail(CHECK, `PUT worked, but ${f.message}`, f.fix);
  }
  if (!o.sameBytes) {
    return fail(
      CHECK,
      `GET ${o.base} returned other bytes than were PUT`,
      'a cache or another server answers for the announced URL: check the reverse proxy',
    );
  }
  const left = leftNote(o.removal, 'ephemeral', o.id);
  const missing = missingSafeHeaders(o.get.headers);
  if (missing.length > 0) {
    return warn(
      CHECK,
      `PUT and GET through ${o.base} work, but the answer lacks ${missing.join(', ')}${left}`,
      "the reverse proxy must pass serve's response headers through unchanged (nginx: no proxy_hide_header for them)",
    );
  }
  return pass(CHECK, `PUT and GET through ${o.base} work, same bytes, safe headers present${left}`);
}

/**
 * The result when the round trip cannot run. Pure.
 *
 * @example
 * notTested('https://upload.example.org:443/httpfileupload', 'serve is not running', 'start serve');
 */
export function notTested(base: string, reason: string, fix: string): CheckResult {
  return warn(CHECK, `${base} was not tested: ${reason}`, fix);
}
