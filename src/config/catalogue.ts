/**
 * The one catalogue of configuration properties. Validation, defaults, `config list`, the README
 * reference and the man page all come from here; a property that is not in this file does not
 * exist. Names follow the Openfire plugin: `plugin.httpfileupload.<short>`.
 */
import type { Settings } from './settings.ts';
import { PURPOSES, type Purpose } from '../slots/slot.ts';
import {
  addressBlockType,
  bareJidType,
  booleanType,
  domainOrStarType,
  domainType,
  durationType,
  enumType,
  hostType,
  integerType,
  countLimitType,
  isDomainName,
  parentDomain,
  listType,
  millisecondsType,
  originType,
  pathType,
  portType,
  sizeType,
  stringType,
  urlPathType,
  InvalidValue,
  type PropertyType,
  type ValueType,
} from './types.ts';

/** Every general property's full name starts with this. */
export const GENERAL_PREFIX = 'plugin.httpfileupload.';
/** A node's own override of a property: this prefix + the short name. */
export const SERVER_SPECIFIC_PREFIX = 'plugin.httpfileupload.serverspecific.';

/** A property's short name (`maxFileSize`): the keys of {@link Settings}. */
export type PropertyKey = keyof Settings;

/** What a computed default may look at. */
export interface DefaultContext {
  /** The effective text value of another property (after precedence), undefined when unset. */
  value(short: PropertyKey): string | undefined;
  /** This machine's host name. */
  hostname(): string;
  /** Openfire's FQDN (`<fqdn>` at the top of the configuration file), undefined when it has none. */
  fqdn?(): string | undefined;
}

/**
 * One configuration property.
 *
 * @example
 * const p: Property<number> = catalogue.maxFileSize;
 * p.parse('50M'); // 52428800
 */
export interface Property<T = unknown> {
  /** Short name, e.g. `maxFileSize`; accepted everywhere as an alias of the full name. */
  readonly short: PropertyKey;
  /** Full general name, e.g. `plugin.httpfileupload.maxFileSize`. */
  readonly name: string;
  readonly type: PropertyType;
  /** The default as text (parsed like any configured value), possibly computed from other values. */
  readonly default: (ctx: DefaultContext) => string | undefined;
  /** The default in words, for documentation (computed defaults say how). */
  readonly defaultText: string;
  /** The validation rule in words. */
  readonly rule: string;
  /** One line of help. */
  readonly help: string;
  /** True when a running serve must be restarted to apply a change (false: SIGHUP re-reads it). */
  readonly restart: boolean;
  /** Masked in `config get`/`config list` unless --show-secrets. */
  readonly secret: boolean;
  /**
   * Bootstrap: read from this node's own file only, never from the cluster layer (it says where
   * the shared configuration is, or what this node is called), and `config set` writes it there.
   */
  readonly local: boolean;
  /** Allowed words of an enum property. */
  readonly values?: readonly string[];
  /**
   * Other names of the property: options of the component library the Openfire plugin embeds
   * (guusdk/httpfileuploadcomponent) that mean the same. Accepted wherever a name is, and read
   * from the file when the property's own element is absent (see src/config/compat.ts).
   */
  readonly aliases: readonly string[];
  /** Checks and converts a trimmed, non-empty text (throws InvalidValue). */
  readonly parse: (text: string) => T;
  /** The typed value when no layer and no default gives one. */
  readonly unset: T;
}

interface Spec<T> {
  value: ValueType<T>;
  default?: string | ((ctx: DefaultContext) => string | undefined);
  defaultText?: string;
  /** Extra words appended to the type's rule. */
  ruleNote?: string;
  help: string;
  restart: boolean;
  secret?: boolean;
  /** See {@link Property.local}; default false. */
  local?: boolean;
  values?: readonly string[];
  /** See {@link Property.aliases}. */
  aliases?: readonly string[];
  unset?: T;
}

function define<K extends PropertyKey>(short: K, spec: Spec<Settings[K]>): Property<Settings[K]> {
  const d = spec.default;
  const fixed = typeof d === 'string' ? d : undefined;
  return {
    short,
    name: GENERAL_PREFIX + short,
    type: spec.value.type,
    default: typeof d === 'function' ? d : () => fixed,
    defaultText: spec.defaultText ?? fixed ?? 'none',
    rule: spec.ruleNote ? `${spec.value.rule}; ${spec.ruleNote}` : spec.value.rule,
    help: spec.help,
    restart: spec.restart,
    secret: spec.secret ?? false,
    local: spec.local ?? false,
    ...(spec.values ? { values: spec.values } : {}),
    aliases: spec.aliases ?? [],
    parse: spec.value.parse,
    unset: spec.unset as Settings[K],
  };
}

const PROTOCOLS = ['http', 'https'] as const;
const STORAGES = ['fs', 's3'] as const;
const S3_UPLOAD_MODES = ['proxy', 'direct'] as const;
const CLAMAV_TOO_LARGE = ['refuse', 'publish-unscanned'] as const;

/**
 * Every property, keyed by short name, in documentation order (the Openfire plugin's six first).
 *
 * @example
 * catalogue.maxFileSize.parse('50M'); // 52428800
 */
export const catalogue: { readonly [K in PropertyKey]: Property<Settings[K]> } = {
  fileRepo: define('fileRepo', {
    value: pathType(),
    defaultText: 'none (serve uses a private temporary folder, deleted at exit)',
    ruleNote: 'serve checks at start that the folder exists and is writable',
    help: 'Folder that holds the uploaded files.',
    restart: true,
    local: true,
    unset: undefined,
  }),
  maxFileSize: define('maxFileSize', {
    value: sizeType({ unlimited: true }),
    default: '52428800',
    defaultText: '52428800 (50 MiB)',
    help: 'Largest file a client may upload, announced to clients in disco. Unlimited is announced as 9007199254740991 (2^53 - 1) rather than left out, as XEP-0363 would allow: Dino before 0.5 (fixed upstream in November 2023) refuses an upload service that announces no max-file-size.',
    restart: false,
  }),
  announcedWebProtocol: define('announcedWebProtocol', {
    value: enumType(PROTOCOLS),
    values: PROTOCOLS,
    default: 'https',
    help: 'Scheme of the URLs handed to clients.',
    restart: false,
  }),
  announcedWebHost: define('announcedWebHost', {
    value: hostType(),
    // The Openfire plugin announces Openfire's FQDN, which Openfire keeps in openfire.xml.
    default: (ctx) => ctx.fqdn?.() ?? ctx.hostname(),
    defaultText:
      "the <fqdn> of the configuration file (Openfire's FQDN, as the Openfire plugin announces), else this machine's host name",
    help: 'Host name in the URLs handed to clients (IDN names are sent in ASCII form).',
    restart: false,
  }),
  announcedWebPort: define('announcedWebPort', {
    value: portType(),
    default: (ctx) => (ctx.value('announcedWebProtocol') === 'http' ? '7070' : '7443'),
    defaultText: '7443 (7070 when announcedWebProtocol is http)',
    help: 'Port in the URLs handed to clients; always written in the URL.',
    restart: false,
  }),
  announcedWebContextRoot: define('announcedWebContextRoot', {
    value: urlPathType(),
    default: '/httpfileupload',
    help: 'Path prefix of the URLs handed to clients and served by the HTTP endpoint.',
    aliases: ['webContextRoot'],
    // The HTTP routes are built once at start.
    restart: true,
  }),
  xmppHost: define('xmppHost', {
    value: hostType(),
    default: 'localhost',
    help: 'XMPP server to connect to as an external component (XEP-0114).',
    restart: true,
  }),
  xmppPort: define('xmppPort', {
    value: portType(),
    default: '5275',
    help: "The XMPP server's component port.",
    restart: true,
  }),
  domain: define('domain', {
    value: domainType(),
    defaultText: 'none (serve requires it)',
    help: "The component's JID, e.g. upload.example.org, as configured on the XMPP server.",
    restart: true,
    unset: '',
  }),
  sharedSecret: define('sharedSecret', {
    value: stringType(),
    defaultText: 'none (serve requires it)',
    help: 'Component handshake secret, as configured on the XMPP server.',
    restart: true,
    secret: true,
    unset: undefined,
  }),
  webHost: define('webHost', {
    value: hostType(),
    default: '0.0.0.0',
    help: 'Address the HTTP endpoint listens on (:: for every IPv6 and IPv4 address).',
    restart: true,
  }),
  webPort: define('webPort', {
    value: portType(),
    default: (ctx) => ctx.value('announcedWebPort'),
    defaultText: 'the effective announcedWebPort',
    help: 'Port the HTTP endpoint listens on (differs from announcedWebPort behind a reverse proxy).',
    restart: true,
  }),
  allowedDomains: define('allowedDomains', {
    value: listType(domainOrStarType()),
    default: (ctx) => {
      const d = ctx.value('domain');
      return d !== undefined && isDomainName(d) ? parentDomain(d) : undefined;
    },
    defaultText: 'the parent domain of domain (upload.example.org gives example.org)',
    help: 'Domains whose users may request upload slots; * lets anyone.',
    restart: false,
    unset: [],
  }),
  slotSecret: define('slotSecret', {
    value: stringType(),
    ruleNote: 'every node serving the same files needs the same value',
    defaultText: 'none (serve generates one into the configuration on first start)',
    help: 'Key that signs upload slots (HMAC), so that any node can verify them.',
    restart: true,
    secret: true,
    unset: undefined,
  }),
  slotLifetime: define('slotLifetime', {
    value: durationType({ min: 1000 }),
    default: '300s',
    help: 'How long the upload (PUT) URL of a slot stays valid.',
    restart: false,
  }),
  minUploadRate: define('minUploadRate', {
    value: sizeType({ unlimited: true }),
    default: '4K',
    defaultText: '4K (4 KiB per second)',
    ruleNote: 'bytes per second',
    help: 'Slowest average upload rate accepted: an upload must end within max(60 s, slot size ÷ this rate), or it is cut off (408) and its temp file removed.',
    restart: false,
  }),
  idleTimeout: define('idleTimeout', {
    value: durationType({ min: 1000, max: 86_400_000 }),
    default: '60s',
    help: 'A connection or upload that moves no byte for this long is closed (an upload gets 408 first).',
    restart: false,
  }),
  corsOrigins: define('corsOrigins', {
    value: listType(originType()),
    default: '*',
    help: 'Web origins allowed to upload and download (CORS); * allows any.',
    restart: false,
  }),
  maxConnections: define('maxConnections', {
    value: countLimitType(1_000_000),
    defaultText:
      'derived from the open-file limit: (limit - 256) / 4, from 16 to 16384 (an upload holds up to 4 descriptors; 256 stay for the repository, index, XMPP and admin API)',
    help: 'Most HTTP connections open at once; near it the longest-idle connections are closed, beyond it new connections get 503 with Retry-After (or are closed).',
    restart: false,
    unset: undefined,
  }),
  maxConnectionsPerAddress: define('maxConnectionsPerAddress', {
    value: countLimitType(1_000_000),
    defaultText: 'a quarter of maxConnections (of its derived value when that is unlimited), at most 256',
    help: 'Most HTTP connections open at once from one client address (an IPv6 client: its /64; behind trustedProxies: requests in progress per forwarded address); beyond it 503 with Retry-After.',
    restart: false,
    unset: undefined,
  }),
  trustedProxies: define('trustedProxies', {
    value: listType(addressBlockType()),
    defaultText: 'none: every client is the address it connects from',
    help: 'Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For / Forwarded header names the real client, for the per-address connection limit and the log.',
    restart: false,
    unset: [],
  }),
  tlsCertificate: define('tlsCertificate', {
    value: pathType(),
    defaultText: 'none (plain HTTP; TLS terminated elsewhere)',
    ruleNote: 'set together with tlsKey',
    help: 'PEM certificate chain for built-in HTTPS; re-read on SIGHUP (turning TLS on or off needs a restart).',
    restart: false,
    unset: undefined,
  }),
  tlsKey: define('tlsKey', {
    value: pathType(),
    defaultText: 'none',
    ruleNote: 'set together with tlsCertificate',
    help: 'PEM private key for built-in HTTPS; re-read on SIGHUP (turning TLS on or off needs a restart).',
    restart: false,
    unset: undefined,
  }),
  shutdownTimeout: define('shutdownTimeout', {
    // A day is plenty, and keeps the drain timer far from Node's 2^31 ms limit.
    value: durationType({ max: 86_400_000 }),
    default: '30s',
    help: 'How long SIGTERM waits for running uploads before serve exits.',
    restart: false,
  }),
  purgeInterval: define('purgeInterval', {
    // Below a second purge would run back to back; 0 turns it off.
    value: durationType({ min: 1000, allowZero: true }),
    default: '5m',
    ruleNote: '0 = serve never purges (run fileupload purge from cron instead)',
    help: 'How often serve runs the purge (expired uploads, abandoned temp files, age and size limits).',
    restart: false,
  }),
  maxAge: define('maxAge', {
    value: durationType({ min: 1000 }),
    defaultText: 'unset: no age limit',
    help: 'Purge deletes uploads stored longer ago than this (only the purposes in maxAgePurposes).',
    restart: false,
    unset: undefined,
  }),
  maxAgePurposes: define('maxAgePurposes', {
    value: listType(enumType(PURPOSES)) as ValueType<Purpose[]>,
    default: 'message,ephemeral',
    help: 'Upload purposes (XEP-0363) that maxAge applies to; profile and permanent uploads are kept unless listed.',
    restart: false,
  }),
  maxRepoSize: define('maxRepoSize', {
    value: sizeType({ unlimited: true }),
    defaultText: 'unset: no cap',
    help: 'Cap on the bytes of all stored uploads; purge deletes uploads to stay within it: of the users holding the most bytes, message and ephemeral ones first, oldest first (see fileupload-purge(1)).',
    restart: false,
    unset: undefined,
  }),
  userQuota: define('userQuota', {
    value: sizeType({ unlimited: true }),
    defaultText: 'unset: no quota',
    help: 'Bytes one user (bare JID) may have stored; beyond it slots are refused (wait, resource-constraint). A slot counts from its request until its upload can no longer be running (slotLifetime plus the minUploadRate deadline). Uploads stored while no per-user quota was set count once purge has run (it indexes them).',
    restart: false,
    unset: undefined,
  }),
  dailyQuota: define('dailyQuota', {
    value: sizeType({ unlimited: true }),
    default: (ctx) => {
      const max = ctx.value('maxFileSize');
      let limit = 52_428_800;
      try {
        if (max !== undefined) limit = sizeType({ unlimited: true }).parse(max);
      } catch {
        // an invalid maxFileSize is reported on its own
      }
      return limit < 0 ? '1G' : String(limit * 10);
    },
    defaultText: '10 × maxFileSize (1G when maxFileSize is unlimited); 0 or less = no quota',
    help: 'Bytes one user (bare JID) may upload in any 24 hours; the refusal says when to retry. A slot counts from its request until its upload can no longer be running (slotLifetime plus the minUploadRate deadline). Uploads stored while no per-user quota was set count once purge has run (it indexes them).',
    restart: false,
    unset: undefined,
  }),
  globalQuota: define('globalQuota', {
    value: sizeType({ unlimited: true }),
    defaultText: 'unset: no quota',
    help: 'Bytes the whole repository may hold; beyond it slots are refused until purge makes room.',
    restart: false,
    unset: undefined,
  }),
  slotRequestRate: define('slotRequestRate', {
    value: countLimitType(1_000_000),
    default: '60',
    ruleNote: 'slot requests per minute',
    help: 'Slot requests one user (bare JID) may make per minute on average, counted in memory by the node holding the XMPP component; beyond it they are refused (wait, resource-constraint) with a retry time, before any disk access.',
    restart: false,
  }),
  slotRequestBurst: define('slotRequestBurst', {
    value: integerType(1, 1_000_000),
    default: '20',
    help: 'Slot requests one user may make at once before slotRequestRate applies (a client sending many pictures).',
    restart: false,
  }),
  maxPendingSlots: define('maxPendingSlots', {
    value: countLimitType(1_000_000),
    default: '50',
    help: 'Slots one user may hold unused (issued, not yet uploaded, within slotLifetime), counted in memory by the node holding the XMPP component; beyond it requests are refused (wait, resource-constraint) until the oldest expires.',
    restart: false,
  }),
  adminPort: define('adminPort', {
    value: {
      ...portType(),
      rule: 'a port number from 0 to 65535',
      parse: (t: string) => (t === '0' ? 0 : portType().parse(t)),
    },
    default: '7444',
    ruleNote:
      '0 = no TCP listener; serve listens on 127.0.0.1 only; file names and uploaders need the admin token derived from slotSecret (see fileupload-status(1))',
    help: 'Loopback port of the admin API: Prometheus /metrics and the /status that fileupload status shows.',
    restart: true,
  }),
  adminSocket: define('adminSocket', {
    value: pathType(),
    defaultText: 'none',
    ruleNote: 'created with mode 0600 (the service user and root); fileupload status prefers it over adminPort',
    help: 'Unix socket for the admin API, in addition to adminPort (set adminPort to 0 for the socket only).',
    restart: true,
    unset: undefined,
  }),
  adminJids: define('adminJids', {
    value: listType(bareJidType()),
    defaultText: 'none (no admin commands are offered)',
    ruleNote: 'the JID the XMPP server stamps on the request counts, so only its own users can be admins',
    help: 'Bare JIDs of the service admins: their XMPP clients get the ad-hoc commands Uploads of a user, Delete all uploads of a user, Statistics and Take down by URL (see fileupload-serve(1), AD-HOC COMMANDS).',
    restart: false,
    unset: [],
  }),
  cluster: define('cluster', {
    value: booleanType(),
    default: 'false',
    ruleNote: 'needs fileRepo (the shared folder), or storage s3 (the bucket)',
    help: 'Cluster node: general properties come from {fileRepo}/cluster/openfire.xml (storage s3: {s3Prefix}cluster/openfire.xml in the bucket), shared by every node, and only one node at a time holds the XMPP component connection (failover).',
    restart: true,
    local: true,
  }),
  nodeName: define('nodeName', {
    value: {
      type: 'string',
      rule: 'letters, digits and . _ : @ -, at most 255 characters',
      parse: (t: string) => {
        if (!/^[A-Za-z0-9._:@-]{1,255}$/.test(t))
          throw new InvalidValue(`"${t}" is not letters, digits and . _ : @ - (at most 255)`);
        return t;
      },
    },
    default: (ctx) => `${ctx.hostname()}:${ctx.value('webPort') ?? ''}`,
    defaultText: 'host name:webPort',
    help: "This node's name in status, metrics and the cluster's component lease; unique per node.",
    restart: true,
    local: true,
  }),
  // S3. The connection properties are local (bootstrap): they say where shared state is.
  storage: define('storage', {
    value: enumType(STORAGES),
    values: STORAGES,
    default: 'fs',
    help: 'Where uploads live: fs = the folder fileRepo (local or shared: NFS, CephFS); s3 = an S3-compatible object store (s3Bucket).',
    restart: true,
    local: true,
  }),
  s3Endpoint: define('s3Endpoint', {
    value: {
      type: 'string',
      rule: 'an http:// or https:// URL without path, query or credentials',
      parse: (t: string) => {
        let u: URL;
        try {
          u = new URL(t);
        } catch {
          throw new InvalidValue(`"${t}" is not a URL`);
        }
        if (u.protocol !== 'http:' && u.protocol !== 'https:')
          throw new InvalidValue(`"${t}" is not an http:// or https:// URL`);
        if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) {
          throw new InvalidValue(`"${t}" must be scheme://host[:port] only`);
        }
        return `${u.protocol}//${u.host}`;
      },
    },
    defaultText: "none: AWS S3's endpoint for s3Region",
    ruleNote: 'direct mode: clients upload to this address, so it must be reachable by them',
    help: 'S3 endpoint, e.g. https://s3.example.org or http://127.0.0.1:7480 for a local radosgw.',
    restart: true,
    local: true,
    unset: undefined,
  }),
  s3Bucket: define('s3Bucket', {
    value: {
      type: 'string',
      rule: '3 to 63 characters: lower-case letters, digits, dots and hyphens',
      parse: (t: string) => {
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(t)) throw new InvalidValue(`"${t}" is not a valid bucket name`);
        return t;
      },
    },
    defaultText: 'none (storage s3 requires it)',
    ruleNote: 'the bucket must exist',
    help: 'Bucket that holds the uploads when storage is s3.',
    restart: true,
    local: true,
    unset: undefined,
  }),
  s3Region: define('s3Region', {
    value: stringType('a region name, e.g. eu-central-1'),
    default: 'us-east-1',
    help: 'Region of the bucket (part of every signature; radosgw accepts its zonegroup name or us-east-1).',
    restart: true,
    local: true,
  }),
  s3Prefix: define('s3Prefix', {
    value: {
      type: 'string',
      rule: 'a key prefix such as fileupload/ (no leading /, no . or .. segments)',
      parse: (t: string) => {
        const p = t.replace(/\/+$/, '');
        if (
          p === '' ||
          p.startsWith('/') ||
          /[\x00-\x1f\x7f\\]/.test(p) ||
          p.split('/').some((s) => s === '' || s === '.' || s === '..')
        ) {
          throw new InvalidValue(`"${t}" is not a usable key prefix`);
        }
        return `${p}/`;
      },
    },
    defaultText: 'none: the top of the bucket',
    help: 'Key prefix ("folder") of everything fileupload keeps in the bucket, so a bucket can be shared.',
    restart: true,
    local: true,
    unset: '',
  }),
  s3AccessKey: define('s3AccessKey', {
    value: stringType(),
    defaultText: "none: the AWS SDK's default credentials (environment, profile, instance role)",
    ruleNote: 'set together with s3SecretKey',
    help: 'S3 access key id.',
    restart: true,
    local: true,
    unset: undefined,
  }),
  s3SecretKey: define('s3SecretKey', {
    value: stringType(),
    defaultText: 'none',
    ruleNote: 'set together with s3AccessKey',
    help: 'S3 secret access key.',
    restart: true,
    secret: true,
    local: true,
    unset: undefined,
  }),
  s3ForcePathStyle: define('s3ForcePathStyle', {
    value: booleanType(),
    default: (ctx) => (ctx.value('s3Endpoint') !== undefined ? 'true' : 'false'),
    defaultText: 'true when s3Endpoint is set, else false',
    help: 'Path-style addressing (endpoint/bucket/key) instead of bucket.endpoint/key; radosgw and most self-hosted stores need it.',
    restart: true,
    local: true,
  }),
  s3UploadMode: define('s3UploadMode', {
    value: enumType(S3_UPLOAD_MODES),
    values: S3_UPLOAD_MODES,
    default: 'proxy',
    help: 'proxy: clients PUT to serve, which streams to S3; direct: the slot PUT URL is a presigned S3 URL and upload bytes never pass through serve.',
    restart: false,
  }),
  // Malware scanning with clamd: the Openfire plugin's four properties (its names and defaults), then fileupload's own.
  clamavEnabled: define('clamavEnabled', {
    value: booleanType(),
    default: 'false',
    ruleNote: 'not with s3UploadMode direct (serve never sees those bytes)',
    help: 'Scan every upload with clamd (ClamAV) before it is published; an infected upload is refused (422) and never stored.',
    restart: false,
  }),
  clamavHost: define('clamavHost', {
    value: hostType(),
    default: '127.0.0.1',
    help: 'Host of clamd (its TCPAddr); the bytes are sent with INSTREAM, so clamd needs no access to the repository.',
    restart: false,
  }),
  clamavPort: define('clamavPort', {
    value: portType(),
    default: '3310',
    help: "clamd's TCP port (its TCPSocket).",
    restart: false,
  }),
  clamavConnectionTimeout: define('clamavConnectionTimeout', {
    value: millisecondsType(durationType({ min: 100, max: 600_000 })),
    default: '3000',
    defaultText: '3000 (3 s)',
    ruleNote: 'a plain number is milliseconds, as in the Openfire plugin',
    help: 'How long to wait for clamd to accept a connection; past it the scan counts as failed (see clamavFailOpen).',
    restart: false,
  }),
  clamavScanTimeout: define('clamavScanTimeout', {
    value: durationType({ min: 1000, max: 86_400_000 }),
    default: '150s',
    help: "A scan that makes no progress for this long (clamd taking no bytes or not answering), or waits this long for its turn, counts as failed (see clamavFailOpen); above clamd's MaxScanTime (120 s by default).",
    restart: false,
  }),
  clamavMaxConcurrentScans: define('clamavMaxConcurrentScans', {
    value: integerType(1, 1000),
    default: '4',
    ruleNote: "keep it below clamd's MaxThreads (10, or 12 in Debian's clamd.conf)",
    help: 'Scans sent to clamd at once; further finished uploads wait for a turn (on S3 their bodies wait too).',
    restart: false,
  }),
  clamavFailOpen: define('clamavFailOpen', {
    value: booleanType(),
    default: 'false',
    help: 'When clamd cannot scan an upload (down, timed out, busy): false refuses it (503 with Retry-After); true publishes it unscanned, logged.',
    restart: false,
  }),
  clamavTooLarge: define('clamavTooLarge', {
    value: enumType(CLAMAV_TOO_LARGE),
    values: CLAMAV_TOO_LARGE,
    default: 'refuse',
    help: 'An upload larger than clamavStreamMaxLength cannot be scanned: refuse it (413), or publish-unscanned; logged either way.',
    restart: false,
  }),
  clamavStreamMaxLength: define('clamavStreamMaxLength', {
    value: sizeType({ min: 1 }),
    default: '25M',
    defaultText: "25M (Debian's clamd.conf)",
    ruleNote: "set it to clamd's StreamMaxLength (doctor checks it)",
    help: 'Largest upload clamd scans; larger ones follow clamavTooLarge.',
    restart: false,
  }),
};

/**
 * All properties in documentation order.
 *
 * @example
 * for (const p of properties) console.log(p.name, p.defaultText);
 */
export const properties: readonly Property[] = Object.values(catalogue) as Property[];

/** Alias → the property it names. */
const byAlias = new Map<string, Property>(properties.flatMap((p) => p.aliases.map((a) => [a, p] as const)));

/**
 * Finds a property by any accepted spelling: short (`maxFileSize`), full
 * (`plugin.httpfileupload.maxFileSize`), serverspecific (`plugin.httpfileupload.serverspecific.maxFileSize`
 * or `serverspecific.maxFileSize`), and each of these with an alias (`webContextRoot`) in place
 * of the short name. `serverSpecific` tells whether the spelling named that layer.
 *
 * @example
 * lookupProperty('serverspecific.maxFileSize'); // { property: catalogue.maxFileSize, serverSpecific: true }
 * lookupProperty('webContextRoot');             // { property: catalogue.announcedWebContextRoot, serverSpecific: false }
 * lookupProperty('nope');                        // undefined
 */
export function lookupProperty(name: string): { property: Property; serverSpecific: boolean } | undefined {
  const forms: [string, boolean][] = [
    [SERVER_SPECIFIC_PREFIX, true],
    ['serverspecific.', true],
    [GENERAL_PREFIX, false],
    ['', false],
  ];
  for (const [prefix, serverSpecific] of forms) {
    if (!name.startsWith(prefix)) continue;
    const short = name.slice(prefix.length);
    if (Object.hasOwn(catalogue, short))
      return { property: catalogue[short as PropertyKey] as Property, serverSpecific };
    const aliased = byAlias.get(short);
    if (aliased) return { property: aliased, serverSpecific };
  }
  return undefined;
}

/**
 * Known short names a misspelt one probably meant: the closest by case-insensitive edit
 * distance if reasonably close, else those that contain it (at most three). Empty when none fits.
 *
 * @example
 * suggestProperty('maxfilesize'); // ['maxFileSize']
 * suggestProperty('port');        // ['announcedWebPort', 'xmppPort', 'webPort']
 */
export function suggestProperty(name: string): string[] {
  const wanted = name.replace(/^plugin\.httpfileupload\.(serverspecific\.)?/i, '').toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const p of properties) {
    const d = editDistance(wanted, p.short.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = p.short;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(wanted.length / 3))) return [best];
  if (wanted.length < 3) return [];
  return properties
    .filter((p) => p.short.toLowerCase().includes(wanted))
    .slice(0, 3)
    .map((p) => p.short);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] ?? Infinity;
}
