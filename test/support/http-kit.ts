import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import type { Settings } from '../../src/config/settings.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { FsStore } from '../../src/storage/fs/index.ts';
import { createHttpApp, startHttpServer, type HttpApp, type HttpHooks, type HttpServer } from '../../src/http/index.ts';
import { newSlotId } from '../../src/slots/id.ts';
import { signSlot } from '../../src/slots/sign.ts';
import { encodePathSegment } from '../../src/slots/urls.ts';
import type { Slot } from '../../src/slots/slot.ts';
import type { SlotClaims } from '../../src/lock/slot-claims.ts';

/**
 * Test kit for the HTTP endpoint: a real server on 127.0.0.1:0 over a real fs store in a temp
 * directory, slot minting, and raw requests for what fetch cannot send.
 *
 * @example
 * const kit = await startKit();
 * const slot = kit.slot({ size: 5 });
 * const res = await fetch(slot.put, { method: 'PUT', body: 'hello' });
 * await kit.stop();
 */

/** The slot secret the kit's endpoint verifies with (tests sign slots with it). */
export const SECRET = 'test-slot-secret-0123456789abcdef';

/**
 * Complete Settings for tests: loopback, port 0, the test slot secret; override what matters.
 *
 * @example
 * const settings = testSettings({ maxFileSize: 1024 });
 */
export function testSettings(over: Partial<Settings> = {}): Settings {
  return {
    fileRepo: undefined,
    maxFileSize: 50 * 1024 * 1024,
    announcedWebProtocol: 'https',
    announcedWebHost: 'upload.example.org',
    announcedWebPort: 7443,
    announcedWebContextRoot: '/httpfileupload',
    xmppHost: '127.0.0.1',
    xmppPort: 5275,
    domain: 'upload.example.org',
    sharedSecret: 'x',
    webHost: '127.0.0.1',
    webPort: 0,
    allowedDomains: ['example.org'],
    slotSecret: SECRET,
    slotLifetime: 300_000,
    minUploadRate: 4096,
    idleTimeout: 60_000,
    corsOrigins: ['*'],
    maxConnections: undefined,
    maxConnectionsPerAddress: undefined,
    trustedProxies: [],
    tlsCertificate: undefined,
    tlsKey: undefined,
    shutdownTimeout: 5_000,
    purgeInterval: 300_000,
    maxAge: undefined,
    maxAgePurposes: ['message', 'ephemeral'],
    maxRepoSize: undefined,
    userQuota: undefined,
    dailyQuota: undefined,
    globalQuota: undefined,
    slotRequestRate: 60,
    slotRequestBurst: 20,
    maxPendingSlots: 50,
    adminPort: 0,
    adminSocket: undefined,
    adminJids: [],
    cluster: false,
    nodeName: 'test-node',
    storage: 'fs',
    s3Endpoint: undefined,
    s3Bucket: undefined,
    s3Region: 'us-east-1',
    s3Prefix: '',
    s3AccessKey: undefined,
    s3SecretKey: undefined,
    s3ForcePathStyle: false,
    s3UploadMode: 'proxy',
    clamavEnabled: false,
    clamavHost: '127.0.0.1',
    clamavPort: 3310,
    clamavConnectionTimeout: 3000,
    clamavScanTimeout: 150_000,
    clamavMaxConcurrentScans: 4,
    clamavFailOpen: false,
    clamavTooLarge: 'refuse',
    clamavStreamMaxLength: 25 * 1024 * 1024,
    ...over,
  };
}

/** A running endpoint with its store, for one test file. */
export interface Kit {
  dir: string;
  store: FsStore;
  app: HttpApp;
  server: HttpServer;
  settings: Settings;
  /** JSON log records the endpoint wrote. */
  logs: Record<string, unknown>[];
  /** Server origin, e.g. http://127.0.0.1:34567 */
  origin: string;
  /** Mints a signed slot; put/get are URLs on this server (path + token as a client would get). */
  slot(over?: Partial<Slot>): Slot & { put: string; get: string; path: string; token: string };
  stop(): Promise<void>;
}

/**
 * Starts a real endpoint (fs store in a temp directory, server on 127.0.0.1:0).
 *
 * @example
 * const kit = await startKit({ settings: { corsOrigins: ['https://chat.example'] } });
 */
export async function startKit(
  options: {
    settings?: Partial<Settings>;
    hooks?: HttpHooks;
    now?: () => number;
    logger?: Logger;
    /** Use this repository (kept on stop) instead of a fresh temp directory. */
    dir?: string;
    /** Cluster slot claims (src/lock/slot-claims.ts); default none, as on a single node. */
    claims?: SlotClaims;
  } = {},
): Promise<Kit> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'fileupload-http-')));
  const store = new FsStore(dir);
  const settings = testSettings({ fileRepo: dir, ...options.settings });
  const logs: Record<string, unknown>[] = [];
  const logger =
    options.logger ?? createLogger({ component: 'http' }, { level: 'debug', write: (l) => logs.push(JSON.parse(l)) });
  let app: HttpApp;
  let server: HttpServer;
  try {
    await store.open();
    app = createHttpApp({
      settings,
      store,
      logger,
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.claims ? { claims: options.claims } : {}),
    });
    server = await startHttpServer(app, settings);
  } catch (err) {
    // A refused start (bad certificate…) must not leave the temp repository behind.
    await store.close();
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const origin = server.url;
  const now = options.now ?? Date.now;
  return {
    dir,
    store,
    app,
    server,
    settings,
    logs,
    origin,
    slot(over = {}) {
      const t = now();
      const slot: Slot = {
        id: newSlotId(),
        filename: 'file.bin',
        size: 5,
        uploader: 'alice@example.org',
        issuedAt: t,
        expiresAt: t + 300_000,
        purpose: 'message',
        ...over,
      };
      const token = signSlot(SECRET, slot);
      const path = `${settings.announcedWebContextRoot}/${slot.id}/${encodePathSegment(slot.filename)}`;
      return { ...slot, token, path, get: `${origin}${path}`, put: `${origin}${path}?t=${token}` };
    },
    async stop() {
      await server.close();
      await store.close();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A raw HTTP exchange: sends `request` verbatim, returns status, headers and body text once the
 * server closes the connection (so end the request with `Connection: close`).
 *
 * @example
 * const r = await rawRequest(kit.origin, 'GET /httpfileupload/../x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
 */
export async function rawRequest(
  origin: string,
  request: string | Buffer,
  timeoutMs = 5000,
): Promise<{ status: number; headers: Record<string, string>; body: string; raw: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    // The socket is never half-closed by us: a server that waits for a body we do not send
    // shows up as this timeout.
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('raw request timed out')));
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = raw.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: rest.join('\r\n\r\n'), raw });
    });
  });
}
