import { releaseDir, removeDir, type GroupProcess } from './processes.ts';

/**
 * What a throw-away XMPP test server (Prosody or ejabberd) looks like to tests, the demo and the
 * `up`/`down` CLI: both implementations return this shape.
 */

/** An account to create before the server starts. `host` defaults to the server's main host. */
export interface TestUser {
  user: string;
  password: string;
  host?: string;
}

export interface TestServerOptions {
  /** Accounts to create; default one: alice / alice-password on `host`. */
  users?: TestUser[];
  /** The main virtual host; default `localhost`. Extra hosts come from `users[].host`. */
  host?: string;
  /** The external component's JID; default `upload.localhost`. */
  componentDomain?: string;
  /** The XEP-0114 secret; default a random string. */
  componentSecret?: string;
  /** Appended verbatim to the generated config (Prosody: global Lua section; ejabberd: top-level YAML keys not otherwise set). */
  extraConfig?: string;
  /** Leave the server running after this process exits (the CLI's `up`); stop it with `down`. */
  keep?: boolean;
}

export interface XmppTestServer {
  kind: 'prosody' | 'ejabberd';
  /** The main virtual host (users' default domain). */
  host: string;
  /** Every virtual host served (the main one first). */
  hosts: string[];
  /** c2s port on 127.0.0.1 (no TLS; PLAIN allowed). */
  c2sPort: number;
  /** XEP-0114 component port on 127.0.0.1. */
  componentPort: number;
  componentDomain: string;
  componentSecret: string;
  /** The accounts created, each with its host filled in. */
  users: Required<TestUser>[];
  /** The temp dir holding config, data, logs (removed by stop()). */
  dataDir: string;
  /** Process group leader of the running server. */
  pid(): number;
  /** Stops the server (whole process group) and removes dataDir. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops and starts the server again on the same ports with the same data (accounts kept). */
  restart(): Promise<void>;
  /** Stops the server but keeps its data, for tests of an XMPP server that went away; restart() brings it back. */
  pause(): Promise<void>;
  /** Everything the server logged so far (log files and stdout/stderr). */
  logs(): string;
}

/** The default account when a test does not ask for any. */
export const DEFAULT_USERS: TestUser[] = [{ user: 'alice', password: 'alice-password' }];

/**
 * Fills in the user hosts and lists every virtual host the server must serve.
 *
 * @example
 * const { users, hosts } = resolveUsers('localhost', [{ user: 'a', password: 'p', host: 'other.localhost' }]);
 */
export function resolveUsers(host: string, users: TestUser[]): { users: Required<TestUser>[]; hosts: string[] } {
  const resolved = users.map((u) => ({ user: u.user, password: u.password, host: u.host ?? host }));
  const hosts = [host, ...new Set(resolved.map((u) => u.host).filter((h) => h !== host))];
  return { users: resolved, hosts };
}

/**
 * Rejects values that would need quoting rules beyond plain ASCII in a generated config.
 *
 * @example
 * assertPlain('componentSecret', secret);
 */
export function assertPlain(name: string, value: string): void {
  if (!/^[A-Za-z0-9._@+=-]+$/.test(value)) {
    throw new Error(`${name} must be plain ASCII (letters, digits, . _ @ + = -): ${JSON.stringify(value)}`);
  }
}

/** What a started server's handle needs from its starter (prosody.ts, ejabberd.ts). */
export interface HandleSpec extends Omit<XmppTestServer, 'pid' | 'stop' | 'restart' | 'pause'> {
  /** The running process group (reassigned by launch()). */
  proc(): GroupProcess | undefined;
  /** Starts the server again with the same config and ports. */
  launch(): Promise<string>;
  /** How long a graceful stop (pause) may take before SIGKILL. */
  pauseGraceMs: number;
  /** Leave the process and its dir running when the test process exits (the `up` CLI). */
  keep?: boolean;
}

/**
 * The handle both test servers return: pause/restart keep the data, stop throws it away.
 *
 * @example
 * return serverHandle({ kind: 'prosody', …, proc: () => proc, launch, pauseGraceMs: 3000 });
 */
export function serverHandle(spec: HandleSpec): XmppTestServer {
  const { proc, launch, pauseGraceMs, keep, ...info } = spec;
  if (keep) {
    proc()?.release();
    releaseDir(info.dataDir);
  }
  let stopped = false;
  // A graceful stop: the server flushes its data, so accounts survive a restart.
  const pause = async () => {
    await proc()?.stop('SIGTERM', pauseGraceMs);
  };
  return {
    ...info,
    pid: () => proc()?.pid ?? 0,
    pause,
    async restart() {
      if (stopped) throw new Error(`${info.kind} was stopped; start a new one`);
      await pause();
      // Same config and ports, so clients and components reconnect to the same place.
      const state = await launch();
      if (state !== 'ok') throw new Error(`${info.kind} could not listen again on its ports:\n${info.logs()}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // The data is thrown away: no need for a clean shutdown.
      await proc()?.stop('SIGKILL');
      removeDir(info.dataDir);
    },
  };
}
