/**
 * nginx (the Debian package, /usr/sbin/nginx) as the load balancer in front of several `serve`
 * nodes, with its own config, pid, logs and temp folders in a temp dir — never the system's. The
 * proxy settings are those the deployment docs recommend.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portAccepts, spawnGroup, trackDir, waitFor } from '../../scripts/testservers/processes.ts';

export const NGINX = '/usr/sbin/nginx';

/**
 * The `upstream` and `location` of a load balancer for fileupload nodes: what the docs show.
 * `maxFileSize` in bytes (-1: unlimited) sets client_max_body_size to match.
 *
 * @example
 * loadBalancerBlocks({ upstreams: ['10.0.0.1:12121', '10.0.0.2:12121'], contextRoot: '/httpfileupload', maxFileSize: 52428800 });
 */
export function loadBalancerBlocks(opts: { upstreams: string[]; contextRoot: string; maxFileSize: number }): {
  upstream: string;
  location: string;
} {
  const servers = opts.upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=5s;`).join('\n');
  const upstream = `  upstream fileupload {\n${servers}\n    keepalive 16;\n  }`;
  const location = `    location ${opts.contextRoot}/ {
      proxy_pass http://fileupload;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      # PUT bodies stream through to the node; nginx neither stores nor limits them below maxFileSize.
      client_max_body_size ${opts.maxFileSize < 0 ? 0 : opts.maxFileSize};
      proxy_request_buffering off;
      proxy_buffering off;
      # A node that is down: try the next one (a PUT whose body has started cannot be retried by nginx).
      proxy_next_upstream error timeout http_502;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 2s;
      proxy_send_timeout 300s;
      proxy_read_timeout 300s;
      client_body_timeout 300s;
      send_timeout 300s;
    }`;
  return { upstream, location };
}

export interface NginxLoadBalancer {
  port: number;
  origin: string;
  /** Lines of the access log: "METHOD STATUS UPSTREAM_ADDR UPSTREAM_STATUS URI". */
  accessLog(): string[];
  stop(): Promise<void>;
}

/**
 * Starts nginx on a free loopback port, balancing over `upstreams` (host:port).
 *
 * @example
 * const lb = await startLoadBalancer({ upstreams: nodes.map((n) => `127.0.0.1:${n.webPort}`), contextRoot: '/httpfileupload', maxFileSize: 10 << 20 });
 */
export async function startLoadBalancer(opts: {
  upstreams: string[];
  contextRoot: string;
  maxFileSize: number;
  port?: number;
}): Promise<NginxLoadBalancer> {
  const dir = mkdtempSync(join(tmpdir(), 'fileupload-nginx-'));
  trackDir(dir);
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const port = opts.port ?? (await freePort());
  const { upstream, location } = loadBalancerBlocks(opts);
  // As root, nginx would run its worker as "nobody", which cannot enter our 0700 temp dir.
  const conf = `${process.getuid?.() === 0 ? 'user root root;\n' : ''}daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  log_format upstreams '$request_method $status $upstream_addr $upstream_status $request_uri';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${upstream}
  server {
    listen 127.0.0.1:${port};
${location}
  }
}
`;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const proc = spawnGroup(NGINX, ['-c', file, '-p', dir, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    background: true,
  });
  let stderr = '';
  proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  try {
    await waitFor(async () => proc.running() && (await portAccepts(port)), {
      timeoutMs: 5000,
      describe: 'nginx listening',
    });
  } catch (err) {
    await proc.stop('SIGKILL');
    throw new Error(`nginx did not start: ${(err as Error).message}\n${stderr}${log('error.log')}`);
  }
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    accessLog: () =>
      log('access.log')
        .split('\n')
        .filter((l) => l !== ''),
    async stop() {
      await proc.stop('SIGQUIT', 3000);
    },
  };
}
