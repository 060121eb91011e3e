/**
 * The live state of one `serve` process: what the admin API's `/status` shows and what the
 * Prometheus metrics read. serve's parts report events through cheap method calls (no I/O, no
 * allocation beyond the in-flight table); memory is bounded whatever the traffic.
 */
import { hostname } from 'node:os';
import { appVersion } from '../version.ts';
import type { Settings } from '../config/settings.ts';
import { RateWindow } from './rates.ts';
import { healthOf, INTERNAL_ERROR_WINDOW_SECONDS } from './health.ts';
import type { RefusalReason } from '../http/connection-limit.ts';
import {
  STATUS_SCHEMA,
  type ClusterFigures,
  type ConnectionFigures,
  type ErrorEntry,
  type InFlightUpload,
  type PurgeRunFigures,
  type RepoFigures,
  type StatusSnapshot,
  type Thresholds,
  type XmppState,
} from './snapshot.ts';

export interface LiveStateOptions {
  /** Default: the package version. */
  version?: string;
  /** This node's name; default the host name. */
  node?: string;
  /** Clock in ms (tests). */
  now?: () => number;
  thresholds?: Partial<Thresholds>;
  /** How many of the latest errors are kept (default 20). */
  errorCapacity?: number;
  /** How far back rates remember, in seconds (default 300). */
  rateWindowSeconds?: number;
  /** The seconds the current rates average over (default 10). */
  rateAverageSeconds?: number;
  /** Step of the rate history, in seconds (default 5). */
  historyStepSeconds?: number;
  /** The component's domain. */
  domain?: string;
  /** The XMPP server the component connects to, host:port. */
  xmppServer?: string;
  /** Where uploads are stored (a folder, s3://bucket/). */
  repository?: string;
}

/** Counters since start, as the metrics read them. */
export interface LiveCounters {
  slotsIssued: number;
  slotsRefused: ReadonlyMap<string, number>;
  uploadsCompleted: number;
  uploadsFailed: ReadonlyMap<string, number>;
  bytesReceived: number;
  bytesSent: number;
  errors: number;
  xmppReconnects: number;
  purgeRuns: number;
  purgeDeleted: number;
  purgeDeletedBytes: number;
  purgeFailed: number;
  /** Uploads scanned for malware, by verdict (reasons.ts SCAN_VERDICTS). */
  scans: ReadonlyMap<string, number>;
}

/** What serve tells about a starting upload. */
export interface UploadStart {
  id: string;
  filename?: string | null | undefined;
  size: number;
  uploader: string;
}

/** Distinct reason words kept per counter; more fold into "other" (labels must stay few). */
const MAX_REASONS = 32;
/** In-flight uploads listed in a snapshot (the count is always exact). */
const MAX_LISTED_IN_FLIGHT = 100;
/** Slots whose file name is remembered for their upload. */
const MAX_RECENT_SLOTS = 1024;
/** Longest error message kept. */
const MAX_ERROR_LENGTH = 500;

const noLimit = (n: number | undefined): number | null => (n === undefined || n < 0 ? null : n);

/**
 * The thresholds the status view shows, from the effective settings (-1/unset → null).
 *
 * @example
 * live.setThresholds(thresholdsFromSettings(settings));
 */
export function thresholdsFromSettings(settings: Settings): Thresholds {
  return {
    maxFileSize: noLimit(settings.maxFileSize),
    maxRepoSize: noLimit(settings.maxRepoSize),
    globalQuota: noLimit(settings.globalQuota),
    userQuota: noLimit(settings.userQuota),
    dailyQuota: noLimit(settings.dailyQuota),
    purgeInterval: settings.purgeInterval > 0 ? settings.purgeInterval : null,
  };
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  const k = map.has(key) || map.size < MAX_REASONS ? key : 'other';
  map.set(k, (map.get(k) ?? 0) + by);
}

/**
 * The live state. serve creates one and hands it to the XMPP component, the HTTP app, the purge
 * loop and the admin server.
 *
 * @example
 * const live = new LiveState({ thresholds: thresholdsFromSettings(settings) });
 * live.xmppState('online');
 * live.uploadStarted({ id, filename: 'cat.jpg', size: 1000, uploader: 'alice@example.org' });
 * live.uploadProgress(id, 500);
 * live.uploadFinished(id, 1000);
 * live.snapshot().totals.uploadsCompleted; // 1
 */
export class LiveState {
  readonly version: string;
  readonly node: string;
  readonly startedAt: number;
  private readonly now: () => number;
  private readonly errorCapacity: number;
  private readonly averageSeconds: number;
  private readonly historyStep: number;
  private readonly windowSeconds: number;
  private readonly where: Pick<LiveStateOptions, 'domain' | 'xmppServer' | 'repository'>;
  private pendingRestart: string[] = [];
  private internalErrorTotal = 0;
  private readonly internalErrorWindow: RateWindow;

  private xmpp: { state: XmppState; since: number; detail: string | null };
  private readonly inFlight = new Map<string, InFlightUpload>();
  /** id → file name of the latest slots issued here (bounded). */
  private readonly recentSlots = new Map<string, string>();
  private readonly errorRing: ErrorEntry[] = [];
  private thresholdValues: Thresholds;
  private repoFigures: RepoFigures = { bytes: null, files: null, freeBytes: null, totalBytes: null, updatedAt: null };
  private lastPurge: PurgeRunFigures | null = null;
  private clusterFigures: ClusterFigures | null = null;
  private readonly connectionSources = new Set<{ listener: string; figures: () => ConnectionFigures }>();
  private readonly count = {
    slotsIssued: 0,
    slotsRefused: new Map<string, number>(),
    uploadsCompleted: 0,
    uploadsFailed: new Map<string, number>(),
    bytesReceived: 0,
    bytesSent: 0,
    errors: 0,
    xmppReconnects: 0,
    purgeRuns: 0,
    purgeDeleted: 0,
    purgeDeletedBytes: 0,
    purgeFailed: 0,
    scans: new Map<string, number>(),
  };
  private readonly rate: { slots: RateWindow; uploads: RateWindow; bytesIn: RateWindow; bytesOut: RateWindow };

  constructor(options: LiveStateOptions = {}) {
    this.now = options.now ?? Date.now;
    this.version = options.version ?? appVersion;
    this.node = options.node ?? hostname();
    this.startedAt = this.now();
    this.errorCapacity = Math.max(1, options.errorCapacity ?? 20);
    const windowSeconds = options.rateWindowSeconds ?? 300;
    this.windowSeconds = windowSeconds;
    this.averageSeconds = options.rateAverageSeconds ?? 10;
    this.historyStep = options.historyStepSeconds ?? 5;
    const w = () => new RateWindow(windowSeconds, this.now);
    this.rate = { slots: w(), uploads: w(), bytesIn: w(), bytesOut: w() };
    this.internalErrorWindow = new RateWindow(INTERNAL_ERROR_WINDOW_SECONDS + 1, this.now);
    this.where = { domain: options.domain, xmppServer: options.xmppServer, repository: options.repository };
    this.xmpp = { state: 'connecting', since: this.startedAt, detail: null };
    this.thresholdValues = {
      maxFileSize: null,
      maxRepoSize: null,
      globalQuota: null,
      userQuota: null,
      dailyQuota: null,
      purgeInterval: null,
      ...options.thresholds,
    };
  }

  /** The component connection entered `state` (repeating the current state changes nothing). */
  xmppState(state: XmppState, detail?: string): void {
    const d = detail ?? null;
    if (state === this.xmpp.state && d === this.xmpp.detail) return;
    this.xmpp = { state, since: state === this.xmpp.state ? this.xmpp.since : this.now(), detail: d };
  }

  /** The component connected again after losing its connection. */
  xmppReconnect(): void {
    this.count.xmppReconnects++;
  }

  /** Who holds the component connection of the cluster, as this node sees it (cluster nodes). */
  componentHolder(view: { holder: string | null; holding: boolean; since: number | null }): void {
    this.clusterFigures = { holder: view.holder, holding: view.holding, holderSince: view.since };
  }

  /** The cluster figures; null on a single node. */
  get cluster(): Readonly<ClusterFigures> | null {
    return this.clusterFigures;
  }

  /**
   * A slot was handed out. Given the slot, its file name is remembered for a while, so the
   * upload that follows on this node shows it even when the HTTP layer does not pass it.
   */
  slotIssued(slot?: { id: string; filename: string }): void {
    this.count.slotsIssued++;
    this.rate.slots.add();
    if (slot) {
      this.recentSlots.set(slot.id, slot.filename);
      if (this.recentSlots.size > MAX_RECENT_SLOTS)
        this.recentSlots.delete(this.recentSlots.keys().next().value as string);
    }
  }

  /** A slot request was refused; `reason` is a short word (see reasons.ts). */
  slotRefused(reason: string): void {
    bump(this.count.slotsRefused, reason);
    if (reason === 'internal-error') this.internalError('a slot request was refused with internal-error');
  }

  /**
   * serve failed where it should not have (an HTTP 500 answer; slotRefused reports its own
   * internal-error refusals): counted apart, since monitoring reads the recent ones, and listed
   * with the errors. `what` says what failed; the log has the cause.
   */
  internalError(what: string): void {
    this.internalErrorTotal++;
    this.internalErrorWindow.add();
    this.error(`internal error: ${what} (the log has the cause)`);
  }

  /** The properties (full names) changed in the file that wait for a restart; empty: none. */
  restartPending(names: readonly string[]): void {
    this.pendingRestart = [...names];
  }

  /** A PUT passed its checks and its body is being read. */
  uploadStarted(upload: UploadStart): void {
    this.inFlight.delete(upload.id); // a retried id moves to the end (oldest first)
    this.inFlight.set(upload.id, {
      id: upload.id,
      filename: upload.filename ?? this.recentSlots.get(upload.id) ?? null,
      size: upload.size,
      received: 0,
      startedAt: this.now(),
      uploader: upload.uploader,
    });
  }

  /** `bytesSoFar` of the upload's body have arrived. */
  uploadProgress(id: string, bytesSoFar: number): void {
    const u = this.inFlight.get(id);
    if (!u) return;
    this.received(bytesSoFar - u.received);
    u.received = Math.max(u.received, bytesSoFar);
  }

  /** The upload was stored with `bytes` bytes. */
  uploadFinished(id: string, bytes: number): void {
    const u = this.inFlight.get(id);
    this.received(bytes - (u?.received ?? 0));
    this.inFlight.delete(id);
    this.count.uploadsCompleted++;
    this.rate.uploads.add();
  }

  /** The upload did not get stored; `reason` is a short word (see reasons.ts). */
  uploadFailed(id: string, reason: string): void {
    this.inFlight.delete(id);
    bump(this.count.uploadsFailed, reason);
  }

  private received(delta: number): void {
    if (!(delta > 0)) return;
    this.count.bytesReceived += delta;
    this.rate.bytesIn.add(delta);
  }

  /** `n` body bytes were sent to a downloader. */
  bytesOut(n: number): void {
    if (!(n > 0)) return;
    this.count.bytesSent += n;
    this.rate.bytesOut.add(n);
  }

  /** An upload was scanned for malware; `verdict` is one of SCAN_VERDICTS (reasons.ts). */
  scanned(verdict: string): void {
    bump(this.count.scans, verdict);
  }

  /** A purge run finished. */
  purgeRun(run: { deleted: number; bytes: number; failed: number; durationMs: number }): void {
    this.count.purgeRuns++;
    this.count.purgeDeleted += run.deleted;
    this.count.purgeDeletedBytes += run.bytes;
    this.count.purgeFailed += run.failed;
    this.lastPurge = {
      at: this.now(),
      deleted: run.deleted,
      bytes: run.bytes,
      failed: run.failed,
      durationMs: run.durationMs,
    };
  }

  /** Something went wrong that an operator should see; the latest few are kept. */
  error(message: string): void {
    this.count.errors++;
    const text = message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH - 1)}…` : message;
    this.errorRing.push({ at: this.now(), message: text });
    if (this.errorRing.length > this.errorCapacity) this.errorRing.shift();
  }

  /** The repository's latest measurements (serve sets them now and then); omitted fields stay unknown. */
  repoStats(stats: { bytes?: number; files?: number; freeBytes?: number; totalBytes?: number }): void {
    this.repoFigures = {
      bytes: stats.bytes ?? null,
      files: stats.files ?? null,
      freeBytes: stats.freeBytes ?? null,
      totalBytes: stats.totalBytes ?? null,
      updatedAt: this.now(),
    };
  }

  /** Replaces the limits shown (after a SIGHUP re-read, say); omitted fields keep their value. */
  setThresholds(t: Partial<Thresholds>): void {
    this.thresholdValues = { ...this.thresholdValues, ...t };
  }

  /**
   * Reads a listener's connection figures at each snapshot; several sources under one name add
   * up (two admin listeners). Returns the function that stops it (the listener closed).
   *
   * @example
   * const unwatch = live.watchConnections('http', () => http.connections());
   */
  watchConnections(listener: string, figures: () => ConnectionFigures): () => void {
    const source = { listener, figures };
    this.connectionSources.add(source);
    return () => this.connectionSources.delete(source);
  }

  /** The connection figures by listener (see watchConnections). */
  connections(): Record<string, ConnectionFigures> {
    const result: Record<string, ConnectionFigures> = {};
    for (const { listener, figures } of this.connectionSources) {
      const f = figures();
      const sum = result[listener];
      if (!sum) {
        result[listener] = { ...f, refused: { ...f.refused } };
        continue;
      }
      sum.open += f.open;
      sum.max = sum.max === null || f.max === null ? null : sum.max + f.max;
      sum.perAddressMax =
        sum.perAddressMax === null || f.perAddressMax === null ? null : Math.max(sum.perAddressMax, f.perAddressMax);
      sum.evicted += f.evicted;
      for (const reason of Object.keys(f.refused) as RefusalReason[]) sum.refused[reason] += f.refused[reason];
    }
    return result;
  }

  /** Counters since start (live views: do not keep them across calls). */
  get counters(): Readonly<LiveCounters> {
    return this.count;
  }

  /** The connection state. */
  get xmppStatus(): Readonly<{ state: XmppState; since: number; detail: string | null }> {
    return this.xmpp;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get repo(): Readonly<RepoFigures> {
    return this.repoFigures;
  }

  get thresholds(): Readonly<Thresholds> {
    return this.thresholdValues;
  }

  /**
   * The whole state as the `/status` document.
   *
   * @example
   * JSON.stringify(live.snapshot());
   */
  snapshot(): StatusSnapshot {
    const now = this.now();
    const points = Math.floor(this.windowSeconds / this.historyStep);
    const listed: InFlightUpload[] = [];
    for (const u of this.inFlight.values()) {
      if (listed.length >= MAX_LISTED_IN_FLIGHT) break;
      listed.push({ ...u });
    }
    const c = this.count;
    const recentInternalErrors = this.internalErrorWindow.sum(INTERNAL_ERROR_WINDOW_SECONDS);
    const where = Object.fromEntries(Object.entries(this.where).filter(([, v]) => v !== undefined));
    return {
      schema: STATUS_SCHEMA,
      version: this.version,
      node: this.node,
      pid: process.pid,
      now,
      startedAt: this.startedAt,
      uptimeSeconds: Math.max(0, Math.floor((now - this.startedAt) / 1000)),
      xmpp: { ...this.xmpp, reconnects: c.xmppReconnects },
      rates: {
        windowSeconds: this.averageSeconds,
        slotsPerSecond: this.rate.slots.perSecond(this.averageSeconds),
        uploadsPerSecond: this.rate.uploads.perSecond(this.averageSeconds),
        bytesInPerSecond: this.rate.bytesIn.perSecond(this.averageSeconds),
        bytesOutPerSecond: this.rate.bytesOut.perSecond(this.averageSeconds),
        history: {
          stepSeconds: this.historyStep,
          slots: this.rate.slots.history(this.historyStep, points),
          uploads: this.rate.uploads.history(this.historyStep, points),
          bytesIn: this.rate.bytesIn.history(this.historyStep, points),
          bytesOut: this.rate.bytesOut.history(this.historyStep, points),
        },
      },
      uploadDetails: true,
      inFlight: listed,
      inFlightCount: this.inFlight.size,
      totals: {
        slotsIssued: c.slotsIssued,
        slotsRefused: Object.fromEntries(c.slotsRefused),
        uploadsCompleted: c.uploadsCompleted,
        uploadsFailed: Object.fromEntries(c.uploadsFailed),
        bytesReceived: c.bytesReceived,
        bytesSent: c.bytesSent,
        errors: c.errors,
      },
      repo: { ...this.repoFigures },
      thresholds: { ...this.thresholdValues },
      purge: {
        runs: c.purgeRuns,
        deleted: c.purgeDeleted,
        deletedBytes: c.purgeDeletedBytes,
        failed: c.purgeFailed,
        lastRun: this.lastPurge ? { ...this.lastPurge } : null,
      },
      errors: this.errorRing.map((e) => ({ ...e })),
      cluster: this.clusterFigures ? { ...this.clusterFigures } : null,
      connections: this.connections(),
      ...where,
      internalErrors: { total: this.internalErrorTotal, lastFiveMinutes: recentInternalErrors },
      restartPending: [...this.pendingRestart],
      health: healthOf({ xmpp: this.xmpp, recentInternalErrors, restartPending: this.pendingRestart }),
    };
  }
}
