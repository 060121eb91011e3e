import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import type { HttpApp } from './app.ts';
import {
  ConnectionGuard,
  connectionLimits,
  openFileLimit,
  DESCRIPTORS_PER_CONNECTION,
  RESERVED_DESCRIPTORS,
  type ConnectionFigures,
} from './connection-limit.ts';

/** A running endpoint. */
export interface HttpServer {
  readonly server: Server | HttpsServer;
  /** True when serving HTTPS (tlsCertificate + tlsKey set). */
  readonly tls: boolean;
  /** Where it listens, e.g. http://127.0.0.1:12121 (IPv6 in brackets). */
  readonly url: string;
  address(): AddressInfo;
  /**
   * Re-reads tlsCertificate/tlsKey (for SIGHUP after a renewal). New connections get the new
   * certificate; a bad pair is logged and the current one kept. Resolves whether it changed.
   */
  reloadTls(): Promise<boolean>;
  /** Applies a reloaded idleTimeout to the listener and to every open connection. */
  reloadTimeouts(): void;
  /** Open connections, caps and refusals (see connection-limit.ts). */
  connections(): ConnectionFigures;
  /**
   * Graceful stop: refuse new uploads (503) and new connections, let running requests finish
   * within `timeoutMs`, then abort what is left (aborted uploads leave nothing) and close.
   * Resolves true when everything finished in time.
   */
  drain(timeoutMs: number): Promise<boolean>;
  /** Immediate stop (tests): drain with no grace period. */
  close(): Promise<void>;
}

/**
 * A socket that moves no byte either way for idleTimeout plus this is closed. The upload path
 * answers a stalled upload with 408 at idleTimeout itself; the socket's own timeout comes later,
 * so it is the backstop for everything else and never cuts an upload before that answer.
 */
export const SOCKET_IDLE_GRACE_MS = 5_000;
/** Socket/request buffering (see serverOptions). */
const REQUEST_HIGH_WATER_MARK = 16 * 1024;
/** After an aborting drain, how long aborted uploads get to remove their temp files. */
const SETTLE_MS = 2_000;

/**
 * Listens on settings.webHost:webPort, plain HTTP or HTTPS when tlsCertificate and tlsKey are
 * set. Rejects (before listening) on an unreadable or mismatched certificate/key and on a port
 * that is taken.
 *
 * @example
 * const server = await startHttpServer(createHttpApp({ settings, store, logger }), settings);
 * logger.info('listening', { url: server.url });
 */
export async function startHttpServer(
  app: HttpApp,
  settings: Pick<
    Settings,
    | 'webHost'
    | 'webPort'
    | 'tlsCertificate'
    | 'tlsKey'
    | 'idleTimeout'
    | 'maxConnections'
    | 'maxConnectionsPerAddress'
    | 'trustedProxies'
  >,
  options: {
    logger?: Logger;
    /** The open-file limit the default caps derive from (tests); default this process's. */ openFiles?: number;
  } = {},
): Promise<HttpServer> {
  const logger = options.logger ?? app.logger;
  const { tlsCertificate, tlsKey } = settings;
  if ((tlsCertificate === undefined) !== (tlsKey === undefined)) {
    throw new Error('plugin.httpfileupload.tlsCertificate and tlsKey must be set together');
  }
  const openFiles = options.openFiles ?? openFileLimit();
  const startLimits = connectionLimits(settings, openFiles);
  if (openFiles !== undefined && startLimits.max * DESCRIPTORS_PER_CONNECTION + RESERVED_DESCRIPTORS > openFiles) {
    logger.warn(
      'maxConnections allows more connections than the open-file limit can serve: a flood can make serve run out of descriptors',
      {
        maxConnections: Number.isFinite(startLimits.max) ? startLimits.max : null,
        openFiles,
        safe: Math.max(0, Math.floor((openFiles - RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION)),
      },
    );
  }
  const guard = new ConnectionGuard({
    listener: 'http',
    // Read at each new connection: a reload applies to the next one.
    limits: () => connectionLimits(settings, openFiles),
    trustedProxies: () => settings.trustedProxies,
    tls: tlsCertificate !== undefined,
    logger,
  });
  const serve = app.serve;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (!guard.request(req, res)) serve(req, res);
  };
  const serverOptions = {
    // What a request body may buffer before its socket stops being read (Node's default is
    // 64 KiB): with hundreds of uploads running, backlog waits in the kernel, not in the heap.
    highWaterMark: REQUEST_HIGH_WATER_MARK,
    // A 1 GiB upload over a slow link takes long: no total request time limit, only idleness.
    requestTimeout: 0,
    headersTimeout: 30_000,
    keepAliveTimeout: 5_000,
  };
  let server: Server | HttpsServer;
  let tls = false;
  if (tlsCertificate !== undefined && tlsKey !== undefined) {
    const pair = await readTlsPair(tlsCertificate, tlsKey);
    server = createHttps({ ...serverOptions, ...pair }, listener);
    tls = true;
  } else {
    server = createHttp(serverOptions, listener);
  }
  guard.attach(server);
  server.setTimeout(settings.idleTimeout + SOCKET_IDLE_GRACE_MS);
  // Answer Expect: 100-continue ourselves: the PUT handler sends 100 only after its checks,
  // so a refused upload is never transmitted.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.webPort, settings.webHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${addr.port}`;

  let draining: Promise<boolean> | undefined;
  const drain = (timeoutMs: number): Promise<boolean> =>
    (draining ??= (async () => {
      server.close();
      const clean = await app.gate.drain(timeoutMs);
      if (!clean) {
        logger.warn('shutdown timeout: aborting requests still running', {
          uploads: app.gate.activeUploads,
          requests: app.gate.activeRequests,
        });
        await app.gate.settle(SETTLE_MS);
      }
      // Every answer is out (or the bound passed): whatever connection is left goes now.
      server.closeAllConnections();
      await closed;
      guard.stop();
      return clean;
    })());

  return {
    server,
    tls,
    url,
    address: () => addr,
    async reloadTls() {
      if (!tls || tlsCertificate === undefined || tlsKey === undefined) return false;
      try {
        const pair = await readTlsPair(tlsCertificate, tlsKey);
        (server as HttpsServer).setSecureContext(pair);
        logger.info('tls certificate reloaded', certificateInfo(pair.cert));
        return true;
      } catch (err) {
        logger.error('tls reload failed; keeping the current certificate', { err });
        return false;
      }
    },
    reloadTimeouts() {
      const ms = settings.idleTimeout + SOCKET_IDLE_GRACE_MS;
      if (server.timeout === ms) return;
      server.setTimeout(ms);
      guard.forEachSocket((socket) => {
        // A keep-alive between requests runs on keepAliveTimeout until its next request.
        if (socket.timeout !== undefined && socket.timeout > serverOptions.keepAliveTimeout) socket.setTimeout(ms);
      });
    },
    connections: () => guard.figures(),
    drain,
    async close() {
      await drain(0);
    },
  };
}

/** Reads and checks a certificate/key pair (parsable, and the key belongs to the certificate). */
async function readTlsPair(certPath: string, keyPath: string): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`TLS certificate ${certPath} / key ${keyPath} unusable: ${(err as Error).message}`, { cause: err });
  }
  return { cert, key };
}

function certificateInfo(cert: Buffer): Record<string, unknown> {
  try {
    const x = new X509Certificate(cert);
    return { subject: x.subject, validTo: x.validTo, fingerprint256: x.fingerprint256 };
  } catch {
    return {};
  }
}
