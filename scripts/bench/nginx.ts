/**
 * nginx as the reference peer: the Debian binary with a config of our own in a temp dir (one
 * worker, WebDAV PUT, no access log, sendfile), never the system config, pid or log paths.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnTracked, stopTracked } from './cleanup.ts';
import { childPids } from './proc.ts';
import { freePort, waitForPort } from './ports.ts';

export const NGINX_BIN = '/usr/sbin/nginx';

/** A self-signed certificate and its key for 127.0.0.1 (PEM files), made by benchTls. */
export interface BenchTls {
  cert: string;
  key: string;
}

/**
 * Makes a self-signed P-256 certificate for 127.0.0.1 in `dir` with openssl (valid one day).
 *
 * @example
 * const tls = benchTls(dir); // { cert: dir/cert.pem, key: dir/key.pem }
 */
export function benchTls(dir: string): BenchTls {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 },
  );
  return { cert, key };
}

export interface NginxServer {
  port: number;
  /** The HTTPS port, when started with a certificate. */
  tlsPort?: number;
  /** Master first, then the worker(s). */
  pids(): number[];
  /** Where PUT bodies land (the document root). */
  root: string;
  /** Spawn → accepting connections (ms). */
  readyMs: number;
  stop(): Promise<void>;
}

/**
 * The nginx.conf the benchmark runs with; every path inside `dir`.
 *
 * @example
 * writeFileSync(conf, nginxConfig({ dir, root, port: 8081, asRoot: false }));
 */
export function nginxConfig(opts: {
  dir: string;
  root: string;
  port: number;
  asRoot: boolean;
  /** A second, HTTPS listener with this certificate (the TLS phase). */
  tls?: BenchTls & { port: number };
}): string {
  const d = opts.dir;
  // As root, nginx would drop its worker to "nobody", which cannot write into our 0700 temp dirs.
  return `# fileupload bench: reference nginx (generated, temporary)
${opts.asRoot ? 'user root root;\n' : ''}daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 8192;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${d}/client_body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  server {
    listen 127.0.0.1:${opts.port};
${opts.tls ? `    listen 127.0.0.1:${opts.tls.port} ssl;\n    ssl_certificate ${opts.tls.cert};\n    ssl_certificate_key ${opts.tls.key};\n` : ''}    root ${opts.root};
    location / {
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
      dav_access user:rw group:r all:r;
    }
  }
}
`;
}

/**
 * Starts nginx on a free loopback port with its document root `root` (same filesystem as the
 * other server's repository) and its own files in `dir`.
 *
 * @example
 * const nginx = await startNginx({ dir, root }); … await nginx.stop();
 */
export async function startNginx(opts: { dir: string; root: string; tls?: BenchTls }): Promise<NginxServer> {
  mkdirSync(opts.dir, { recursive: true });
  mkdirSync(opts.root, { recursive: true });
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  const conf = join(opts.dir, 'nginx.conf');
  writeFileSync(
    conf,
    nginxConfig({
      dir: opts.dir,
      root: opts.root,
      port,
      asRoot: process.getuid?.() === 0,
      ...(opts.tls && tlsPort ? { tls: { ...opts.tls, port: tlsPort } } : {}),
    }),
  );
  const t0 = performance.now();
  // -e: the error log before the config is read (else /var/log/nginx); -p: prefix for relative paths.
  const child = spawnTracked(NGINX_BIN, ['-c', conf, '-p', opts.dir, '-e', join(opts.dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    await waitForPort(port, 5000, () => child.exitCode === null);
  } catch (e) {
    let log = '';
    try {
      log = readFileSync(join(opts.dir, 'error.log'), 'utf8');
    } catch {
      // no log
    }
    await stopTracked(child, 500);
    throw new Error(`nginx did not start: ${(e as Error).message}\n${stderr}${log}`);
  }
  const readyMs = performance.now() - t0;
  const master = child.pid!;
  let workers: number[] = [];
  for (let i = 0; i < 100 && workers.length === 0; i++) {
    workers = childPids(master);
    if (workers.length === 0) await new Promise((r) => setTimeout(r, 10));
  }
  return {
    port,
    ...(tlsPort ? { tlsPort } : {}),
    root: opts.root,
    readyMs,
    pids: () => [master, ...workers],
    stop: () => stopTracked(child, 3000),
  };
}
