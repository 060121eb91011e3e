import type { Purpose } from '../slots/slot.ts';

/**
 * The effective configuration that `serve` and the other commands run with: every property of the
 * catalogue resolved (serverspecific > general > default), validated and converted.
 * Sizes are bytes; durations are milliseconds.
 */
export interface Settings {
  /** Repository folder; undefined → serve uses a private temporary folder (as in the Openfire plugin). */
  fileRepo: string | undefined;
  /** Largest upload in bytes; -1 = unlimited. */
  maxFileSize: number;
  announcedWebProtocol: 'http' | 'https';
  announcedWebHost: string;
  announcedWebPort: number;
  /** Leading "/", no trailing "/" ("" for the root). */
  announcedWebContextRoot: string;
  xmppHost: string;
  xmppPort: number;
  /** The component's JID, e.g. upload.example.org. */
  domain: string;
  /** XEP-0114 handshake secret; undefined when not configured. */
  sharedSecret: string | undefined;
  /** HTTP listen address. */
  webHost: string;
  /** HTTP listen port. */
  webPort: number;
  /** Domains whose users may request slots; ['*'] = anyone. Default: the parent domain of `domain`. */
  allowedDomains: string[];
  /** HMAC key for slot tokens, shared by all nodes; generated into the config by serve when missing. */
  slotSecret: string | undefined;
  /** How long a slot's PUT URL stays valid (ms). */
  slotLifetime: number;
  /** Slowest average upload rate (bytes/s): an upload's deadline is max(60 s, size ÷ rate); -1 = none. */
  minUploadRate: number;
  /** A connection or upload that moves no byte for this long is closed (ms). */
  idleTimeout: number;
  /** CORS allowed origins; ['*'] = any. */
  corsOrigins: string[];
  /** Most HTTP connections at once; undefined = derived from RLIMIT_NOFILE; ≤ 0 = unlimited. */
  maxConnections: number | undefined;
  /** Most HTTP connections at once from one client address; undefined = derived; ≤ 0 = unlimited. */
  maxConnectionsPerAddress: number | undefined;
  /** Reverse proxies whose forwarded-address headers are believed, as `addr/bits` blocks. */
  trustedProxies: string[];
  /** PEM certificate (chain) path; with tlsKey, the endpoint speaks HTTPS. */
  tlsCertificate: string | undefined;
  /** PEM private key path. */
  tlsKey: string | undefined;
  /** How long SIGTERM waits for running uploads before exiting (ms). */
  shutdownTimeout: number;
  /** How often serve purges (ms); 0 = never (cron runs `fileupload purge`). */
  purgeInterval: number;
  /** Uploads stored longer ago than this are purged (ms); undefined = no age limit. */
  maxAge: number | undefined;
  /** Purposes maxAge applies to (default message, ephemeral). */
  maxAgePurposes: Purpose[];
  /** Cap on the bytes of stored uploads; undefined or -1 = none. */
  maxRepoSize: number | undefined;
  /** Bytes one bare JID may have stored; undefined or -1 = no quota. */
  userQuota: number | undefined;
  /** Bytes one bare JID may upload in a rolling 24 h (default 10 × maxFileSize); undefined or -1 = no quota. */
  dailyQuota: number | undefined;
  /** Bytes the repository may hold (slots refused beyond); undefined or -1 = no quota. */
  globalQuota: number | undefined;
  /** Slot requests per user per minute (token bucket refill); ≤ 0 = unlimited. */
  slotRequestRate: number;
  /** Token bucket size of slotRequestRate. */
  slotRequestBurst: number;
  /** Unused slots one user may hold at once; ≤ 0 = unlimited. */
  maxPendingSlots: number;
  /** Loopback TCP port of the admin API (/metrics, /status); 0 = none. */
  adminPort: number;
  /** Unix socket of the admin API; undefined = none. */
  adminSocket: string | undefined;
  /** Bare JIDs (lower-cased) that may run the admin ad-hoc commands; empty = none. */
  adminJids: string[];
  /** Cluster node: shared general properties in {fileRepo}/cluster/, component failover by lease. */
  cluster: boolean;
  /** This node's name (status, metrics, the component lease). */
  nodeName: string;
  /** Where uploads live: the folder fileRepo, or an S3-compatible object store. */
  storage: 'fs' | 's3';
  /** S3 endpoint (scheme://host[:port]); undefined = AWS for s3Region. */
  s3Endpoint: string | undefined;
  /** Bucket of the uploads; required when storage is s3. */
  s3Bucket: string | undefined;
  s3Region: string;
  /** Key prefix, "" or ending in "/". */
  s3Prefix: string;
  /** With s3SecretKey; undefined = the AWS SDK's default credential chain. */
  s3AccessKey: string | undefined;
  s3SecretKey: string | undefined;
  s3ForcePathStyle: boolean;
  /** proxy: bytes through serve; direct: presigned S3 PUT URLs in slots. */
  s3UploadMode: 'proxy' | 'direct';
  /** Scan every upload with clamd before it is published. */
  clamavEnabled: boolean;
  clamavHost: string;
  clamavPort: number;
  /** To establish the connection to clamd (ms). */
  clamavConnectionTimeout: number;
  /** Without progress, or waiting for a turn, before a scan fails (ms). */
  clamavScanTimeout: number;
  /** Scans sent to clamd at once. */
  clamavMaxConcurrentScans: number;
  /** A scan that fails (clamd down, timed out) publishes unscanned instead of refusing. */
  clamavFailOpen: boolean;
  /** An upload over clamavStreamMaxLength: refused, or published unscanned. */
  clamavTooLarge: 'refuse' | 'publish-unscanned';
  /** clamd's StreamMaxLength in bytes: larger uploads are not scanned. */
  clamavStreamMaxLength: number;
}
