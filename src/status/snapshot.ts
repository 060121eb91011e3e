/**
 * The JSON document `GET /status` answers and `fileupload status --json` prints: the live state of
 * one `serve` process. This file is its specification; scripts may depend on it. Fields are only
 * ever added (a removal or change of meaning bumps `schema`). Times are ms since the epoch, sizes
 * and byte counts are bytes; `null` means unknown or not configured.
 */
import type { ConnectionFigures } from '../http/connection-limit.ts';

/** One listener's connections (see CONNECTION LIMITS in fileupload-serve(1)); defined where they are counted. */
export type { ConnectionFigures };

/** The verdict for monitoring, healthy or degraded with one sentence per reason (see src/status/health.ts). */
export interface Health {
  status: 'healthy' | 'degraded';
  reasons: string[];
}

/** The component connection's state (see src/xmpp): `standby` = another node holds the JID. */
export const XMPP_STATES = ['connecting', 'online', 'offline', 'auth-failed', 'conflict', 'standby'] as const;
export type XmppState = (typeof XMPP_STATES)[number];

/** Version of the document's shape. */
export const STATUS_SCHEMA = 1;

/**
 * One upload whose body is being received. `id`, `filename` and `uploader` identify it (with
 * them one could build its download URL): they are absent when the reader gave no admin
 * credential (see `uploadDetails`).
 */
export interface InFlightUpload {
  /** The slot id (absent without the admin credential). */
  id?: string;
  /** The file name, when serve was told; null otherwise (absent without the admin credential). */
  filename?: string | null;
  /** Declared size (the slot's). */
  size: number;
  /** Body bytes received so far. */
  received: number;
  startedAt: number;
  /** Bare JID of the uploader (absent without the admin credential). */
  uploader?: string;
}

/** Per-second figures of the recent past. */
export interface Rates {
  /** The averages below cover this many of the latest complete seconds. */
  windowSeconds: number;
  slotsPerSecond: number;
  /** Completed uploads per second. */
  uploadsPerSecond: number;
  /** Upload bodies received. */
  bytesInPerSecond: number;
  /** Download bodies sent. */
  bytesOutPerSecond: number;
  /** The last minutes: per-second averages of consecutive `stepSeconds` steps, oldest first. */
  history: {
    stepSeconds: number;
    slots: number[];
    uploads: number[];
    bytesIn: number[];
    bytesOut: number[];
  };
}

/** Counters since serve started. */
export interface Totals {
  slotsIssued: number;
  /** Refused slot requests by reason (too-large, bad-request, forbidden, quota, rate, pending-slots, not-implemented, internal-error…). */
  slotsRefused: Record<string, number>;
  uploadsCompleted: number;
  /** Failed uploads by reason (FAILURE_REASONS in reasons.ts, or http-NNN). */
  uploadsFailed: Record<string, number>;
  bytesReceived: number;
  bytesSent: number;
  /** Errors recorded (the latest are in `errors`). */
  errors: number;
}

/** The repository, as serve last measured it. */
export interface RepoFigures {
  /** Bytes of stored uploads. */
  bytes: number | null;
  /** Number of stored uploads. */
  files: number | null;
  /** Free bytes of the repository's filesystem (null: not a filesystem, e.g. S3). */
  freeBytes: number | null;
  /** Size of that filesystem. */
  totalBytes: number | null;
  /** When these figures were taken. */
  updatedAt: number | null;
}

/** Configured limits (null = none). */
export interface Thresholds {
  maxFileSize: number | null;
  maxRepoSize: number | null;
  globalQuota: number | null;
  userQuota: number | null;
  dailyQuota: number | null;
  /** How often serve purges (ms); null = never (cron runs `fileupload purge`). */
  purgeInterval: number | null;
}

/** One purge run. */
export interface PurgeRunFigures {
  /** When it finished. */
  at: number;
  deleted: number;
  bytes: number;
  failed: number;
  durationMs: number;
}

/**
 * Who holds the XMPP component connection of a cluster, as this node sees it (cluster nodes only;
 * see src/cluster/component-lease.ts).
 */
export interface ClusterFigures {
  /** The holder's node name; null while nobody holds it (or it is unknown). */
  holder: string | null;
  /** True when this node holds it. */
  holding: boolean;
  /** When the holder took it; null when unknown. */
  holderSince: number | null;
}

/** One recorded error. */
export interface ErrorEntry {
  at: number;
  message: string;
}

/**
 * The whole `/status` document.
 *
 * @example
 * const s: StatusSnapshot = await (await fetch('http://127.0.0.1:7444/status')).json();
 * console.log(s.xmpp.state, s.inFlight.length);
 */
export interface StatusSnapshot {
  schema: number;
  /** fileupload version of the running serve. */
  version: string;
  /** This node's name (host name unless configured otherwise). */
  node: string;
  pid: number;
  /** When the snapshot was taken. */
  now: number;
  startedAt: number;
  uptimeSeconds: number;
  xmpp: {
    state: XmppState;
    /** When the state was entered. */
    since: number;
    /** Why (for offline, auth-failed, conflict): the operator-facing reason; null when none. */
    detail: string | null;
    /** Reconnections since start. */
    reconnects: number;
  };
  rates: Rates;
  /**
   * True when the in-flight uploads carry `id`, `filename` and `uploader`: the request came over
   * the unix socket or with the admin token (see src/status/admin-auth.ts). False: they are left
   * out. Absent from older serves, which always included them.
   */
  uploadDetails?: boolean;
  /** Uploads being received, oldest first (at most 100 listed; see inFlightCount). */
  inFlight: InFlightUpload[];
  inFlightCount: number;
  totals: Totals;
  repo: RepoFigures;
  thresholds: Thresholds;
  purge: {
    runs: number;
    deleted: number;
    deletedBytes: number;
    failed: number;
    lastRun: PurgeRunFigures | null;
  };
  /** The latest errors, oldest first. */
  errors: ErrorEntry[];
  /** The component holder of a cluster node; null on a single node (absent from older serves). */
  cluster?: ClusterFigures | null;
  /** Connections by listener: `http` (the endpoint) and `admin` (absent from older serves). */
  connections?: Record<string, ConnectionFigures>;
  /** The component's domain, the JID it serves (absent from older serves). */
  domain?: string;
  /** The XMPP server the component connects to, host:port (absent from older serves). */
  xmppServer?: string;
  /** Where uploads are stored: the folder, or the S3 bucket (absent from older serves). */
  repository?: string;
  /**
   * Internal errors: slot requests refused with internal-error and HTTP 500 answers, since start
   * and in the last five minutes (absent from older serves).
   */
  internalErrors?: { total: number; lastFiveMinutes: number };
  /**
   * Properties (full names) changed in the configuration file since serve started that take
   * effect only after a restart; empty when none (absent from older serves).
   */
  restartPending?: string[];
  /**
   * healthy, or degraded with the reasons: the component connection is not online (standby is
   * healthy), internal errors in the last five minutes, a restart pending. `fileupload status`
   * exits 1 when degraded (absent from older serves).
   */
  health?: Health;
}

/**
 * The snapshot without anything that identifies an upload: in-flight uploads keep their size,
 * progress and start, and lose `id`, `filename` and `uploader`. Pure.
 *
 * @example
 * const body = authenticated ? live.snapshot() : withoutUploadDetails(live.snapshot());
 */
export function withoutUploadDetails(snapshot: StatusSnapshot): StatusSnapshot {
  return {
    ...snapshot,
    uploadDetails: false,
    inFlight: snapshot.inFlight.map((u) => ({ size: u.size, received: u.received, startedAt: u.startedAt })),
  };
}

/**
 * True when `value` has the shape of a StatusSnapshot (enough to render it): guards the CLI
 * against something else answering on the admin port.
 *
 * @example
 * if (!isStatusSnapshot(body)) throw new Error('not a fileupload admin API');
 */
export function isStatusSnapshot(value: unknown): value is StatusSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const obj = (k: string) => typeof v[k] === 'object' && v[k] !== null;
  return (
    typeof v.schema === 'number' &&
    typeof v.version === 'string' &&
    typeof v.startedAt === 'number' &&
    obj('xmpp') &&
    obj('rates') &&
    Array.isArray(v.inFlight) &&
    obj('totals') &&
    obj('repo') &&
    obj('thresholds') &&
    obj('purge') &&
    Array.isArray(v.errors)
  );
}
