/**
 * Check `web-port`: serve can listen on webHost:webPort — either the port is free (serve not
 * running) or serve itself is the one listening on it. Also tells the round-trip check whether
 * serve is running.
 */
import { createServer } from 'node:net';
import { errorCode, describeError, fail, pass, warn, type CheckResult } from './result.ts';
import { probeHttp } from './http-probe.ts';

/** This check's id in the report. */
export const CHECK = 'web-port';

export type BindOutcome =
  | { kind: 'free' }
  | { kind: 'in-use' }
  | { kind: 'denied' }
  | { kind: 'not-local' }
  | { kind: 'error'; message: string };

/**
 * Tries to listen on host:port for a moment.
 *
 * @example
 * await tryBind('0.0.0.0', 7443); // { kind: 'in-use' } while serve runs
 */
export function tryBind(host: string, port: number): Promise<BindOutcome> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err) => {
      const code = errorCode(err);
      if (code === 'EADDRINUSE') resolve({ kind: 'in-use' });
      else if (code === 'EACCES' || code === 'EPERM') resolve({ kind: 'denied' });
      else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') resolve({ kind: 'not-local' });
      else resolve({ kind: 'error', message: describeError(err) });
    });
    // exclusive: a cluster-style shared handle must not make a busy port look free.
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve({ kind: 'free' })));
  });
}

/**
 * The address to reach a listener on `webHost` from this machine.
 *
 * @example
 * localAddressFor('0.0.0.0'); // '127.0.0.1'
 */
export function localAddressFor(webHost: string): string {
  if (webHost === '0.0.0.0') return '127.0.0.1';
  if (webHost === '::') return '::1';
  return webHost;
}

/**
 * True when the HTTP listener on host:port answers like serve: every serve response, errors
 * included, carries nosniff and a sandboxing Content-Security-Policy.
 *
 * @example
 * await answersLikeServe('127.0.0.1', 7443, false, '/httpfileupload', 2000); // true while serve runs
 */
export async function answersLikeServe(
  host: string,
  port: number,
  tls: boolean,
  contextRoot: string,
  timeoutMs: number,
): Promise<boolean> {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  try {
    const r = await probeHttp(`${tls ? 'https' : 'http'}://${hostPart}:${port}${contextRoot}/`, {
      method: 'GET',
      timeoutMs,
      rejectUnauthorized: false,
    });
    const csp = String(r.headers['content-security-policy'] ?? '');
    return r.headers['x-content-type-options'] === 'nosniff' && csp.includes('sandbox');
  } catch {
    return false;
  }
}

export interface WebPortInput {
  host: string;
  port: number;
  bind: BindOutcome;
  /** The listener on the port answers like serve. */
  serveAnswers: boolean;
  /** serve's admin API answered. */
  serveRunning: boolean;
}

/**
 * The verdict on webHost:webPort. Pure.
 *
 * @example
 * webPortVerdict({ host: '0.0.0.0', port: 7443, bind: { kind: 'in-use' }, serveAnswers: false, serveRunning: false }).status; // 'fail'
 */
export function webPortVerdict(input: WebPortInput, configCli = 'fileupload'): CheckResult {
  const at = `${input.host.includes(':') ? `[${input.host}]` : input.host}:${input.port}`;
  switch (input.bind.kind) {
    case 'free':
      if (input.serveRunning) {
        return warn(
          CHECK,
          `serve is running but not listening on ${at}: it was started with another webHost/webPort (or another configuration)`,
          'restart serve to apply the configuration (systemctl restart fileupload)',
        );
      }
      return pass(CHECK, `${at} is free for serve to listen on (serve is not running)`);
    case 'in-use':
      if (input.serveAnswers || input.serveRunning) return pass(CHECK, `serve is listening on ${at}`);
      return fail(
        CHECK,
        `${at} is in use by another program (it does not answer like serve)`,
        `find it with: ss -ltnp 'sport = :${input.port}'; stop it, or move serve: ${configCli} config set webPort PORT (and keep the reverse proxy or announcedWebPort in step)`,
      );
    case 'denied':
      return fail(
        CHECK,
        `not allowed to listen on ${at}: ports below 1024 need privileges`,
        'give serve the capability (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE), or listen on a port ≥ 1024 behind a reverse proxy',
      );
    case 'not-local':
      return fail(
        CHECK,
        `${input.host} is not an address of this machine`,
        `${configCli} config set webHost 0.0.0.0 (every address), or one of this machine's addresses`,
      );
    case 'error':
      return fail(CHECK, `cannot listen on ${at}: ${input.bind.message}`, 'check webHost and webPort');
  }
}
