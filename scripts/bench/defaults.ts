/**
 * The defaults phase: once per bench, after the runs, a serve with no limit raised (see
 * scripts/bench/limits.ts), so the cost of the defaults shows beside the runs' figures: slot
 * requests from one JID at full speed — how many are granted, how many refused with wait, and how
 * long each kind of answer took — then the 64 KiB PUTs at 32 in flight (within the default cap per
 * address). Slots first, so they meet the JID as a user without thousands of stored uploads.
 * A refusal is the defaults doing their work: it is counted as such, never as an error.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup } from './cleanup.ts';
import { putMany } from './http-client.ts';
import { SMALL_WARM_UP } from './limits.ts';
import { startServe, type ServeCommand, type XmppLink } from './serve.ts';
import { measureSlotRate } from './xmpp-slots.ts';

const KiB = 1024;
/** Slot requests of the phase: at the default rate, all but the burst and a few are refused. */
export const DEFAULTS_SLOT_REQUESTS = 20_000;
/** In flight, as in the runs' put64k and slots phases, so the figures compare. */
const IN_FLIGHT = 32;

export interface DefaultsResult {
  /** Spawn → ready of the serve with defaults (ms). */
  readyMs?: number;
  put64k?: {
    count: number;
    ok: number;
    /** Answers that refuse for now (503, 429): a limit, not a failure. */
    refused: number;
    failed: number;
    /** Stored files per second. */
    perSec: number;
    statuses: Record<string, number>;
    firstError?: string;
  };
  slots?: {
    requests: number;
    slots: number;
    refused: number;
    errors: number;
    /** Median time from request to answer (ms), per kind. */
    slotMs?: number;
    refusedMs?: number;
    answersPerSec: number;
    firstError?: string;
    firstRefusal?: string;
  };
  /** Wall time of the whole phase, serve's start and stop included. */
  seconds: number;
  notes: string[];
}

/**
 * Sorts the HTTP statuses of a batch of PUTs: 2xx stored, 503 and 429 refused for now (a cap, with
 * Retry-After), anything else (0 = no answer) failed.
 *
 * @example
 * sortStatuses({ 201: 90, 503: 8, 500: 2 }); // { ok: 90, refused: 8, failed: 2 }
 */
export function sortStatuses(statuses: Readonly<Record<string, number>>): {
  ok: number;
  refused: number;
  failed: number;
} {
  const out = { ok: 0, refused: 0, failed: 0 };
  for (const [status, n] of Object.entries(statuses)) {
    const code = Number(status);
    if (code >= 200 && code < 300) out.ok += n;
    else if (code === 503 || code === 429) out.refused += n;
    else out.failed += n;
  }
  return out;
}

export interface DefaultsOptions {
  command: ServeCommand;
  /** Where the phase's serve dir and repository go (removed afterwards). */
  dir: string;
  xmpp: XmppLink;
  /** Counted 64 KiB PUTs (the runs' --small-count). */
  smallCount: number;
  /** A Prosody to ask slots through, with the bench user's login; absent = PUTs only. */
  c2s?: { port: number; user: string; password: string; component: string };
  /** Told serve's pid while it runs (not machine noise). */
  onPid?: (pid: number, running: boolean) => void;
  log: (line: string) => void;
}

/**
 * Runs the defaults phase once; failures become notes, never exceptions.
 *
 * @example
 * const d = await runDefaultsPhase({ command, dir, xmpp, smallCount: 2000, c2s, log });
 */
export async function runDefaultsPhase(o: DefaultsOptions): Promise<DefaultsResult> {
  const t0 = performance.now();
  const out: DefaultsResult = { seconds: 0, notes: [] };
  const dir = join(o.dir, 'defaults');
  let serve: Awaited<ReturnType<typeof startServe>> | undefined;
  let off: (() => void) | undefined;
  try {
    serve = await startServe({ command: o.command, dir: join(dir, 'serve'), repo: join(dir, 'repo'), xmpp: o.xmpp });
    const s = serve;
    off = onCleanup(s.stop);
    out.readyMs = s.readyMs;
    s.pids().forEach((p) => o.onPid?.(p, true));

    if (o.c2s) {
      try {
        const a = await measureSlotRate({
          host: '127.0.0.1',
          port: o.c2s.port,
          domain: 'localhost',
          user: o.c2s.user,
          password: o.c2s.password,
          component: o.c2s.component,
          outstanding: IN_FLIGHT,
          total: DEFAULTS_SLOT_REQUESTS,
          maxMs: 8_000,
        });
        out.slots = {
          requests: a.slots + a.refused + a.errors,
          slots: a.slots,
          refused: a.refused,
          errors: a.errors,
          answersPerSec: a.answersPerSec,
        };
        if (a.slotMs !== undefined) out.slots.slotMs = a.slotMs;
        if (a.refusedMs !== undefined) out.slots.refusedMs = a.refusedMs;
        if (a.firstError !== undefined) out.slots.firstError = a.firstError;
        if (a.firstRefusal !== undefined) out.slots.firstRefusal = a.firstRefusal;
        if (a.errors > 0)
          out.notes.push(`defaults slots: ${a.errors} error answers (not refusals), first: ${a.firstError}`);
        o.log(
          `  slots   defaults ${a.slots} granted, ${a.refused} refused with wait, ${a.errors} errors of ${out.slots.requests} answers; ${a.answersPerSec.toFixed(0)} answers/s`,
        );
      } catch (e) {
        out.notes.push(`defaults slots: ${(e as Error).message.split('\n')[0]}`);
      }
    }

    const urls = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => s.mint(`${prefix}${i}.bin`, 64 * KiB).put);
    const warm = await putMany(urls('warm', SMALL_WARM_UP), 64 * KiB, IN_FLIGHT, AbortSignal.timeout(15_000));
    const w = sortStatuses(warm.statuses);
    if (w.refused + w.failed > 0)
      out.notes.push(
        `defaults put64k warm-up: ${w.refused} refused, ${w.failed} failed of ${SMALL_WARM_UP} (${JSON.stringify(warm.statuses)})`,
      );
    const r = await putMany(urls('f', o.smallCount), 64 * KiB, IN_FLIGHT, AbortSignal.timeout(30_000));
    const sorted = sortStatuses(r.statuses);
    out.put64k = { count: o.smallCount, ...sorted, perSec: sorted.ok / (r.ms / 1000), statuses: r.statuses };
    if (r.firstError !== undefined) out.put64k.firstError = r.firstError;
    const answered = sorted.ok + sorted.refused + sorted.failed;
    if (answered < o.smallCount)
      out.notes.push(`defaults put64k: the deadline (30 s) cut the phase after ${answered} of ${o.smallCount} PUTs`);
    if (sorted.failed > 0)
      out.notes.push(
        `defaults put64k: ${sorted.failed} failed (not refusals): ${JSON.stringify(r.statuses)}, first: ${r.firstError}`,
      );
    o.log(
      `  put64k  defaults ${out.put64k.perSec.toFixed(1)} files/s; ${sorted.refused} refused, ${sorted.failed} failed of ${o.smallCount}`,
    );
  } catch (e) {
    out.notes.push(`defaults: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    off?.();
    if (serve) {
      serve.pids().forEach((p) => o.onPid?.(p, false));
      await serve.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}
