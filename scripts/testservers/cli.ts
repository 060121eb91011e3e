/**
 * `scripts/node24 scripts/testservers/<prosody|ejabberd>.ts up|down` for humans: `up` starts a
 * throw-away server that keeps running after the command returns and prints where it listens;
 * `down` stops it and removes its files. The state lives in a small JSON file in the temp dir.
 */
import { existsSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TestServerOptions, TestUser, XmppTestServer } from './server.ts';
import { groupAlive } from './processes.ts';

interface UpState {
  kind: string;
  pid: number;
  dataDir: string;
  host: string;
  c2sPort: number;
  componentPort: number;
  componentDomain: string;
  componentSecret: string;
  users: Required<TestUser>[];
}

const USAGE = (kind: string) => `usage: scripts/node24 scripts/testservers/${kind}.ts up [options] | down

up    start a throw-away ${kind} on 127.0.0.1 (free ports) and print its ports and accounts
      --user NAME:PASSWORD   account to create (repeatable; default alice:alice-password)
      --domain JID           component domain (default upload.localhost)
      --secret SECRET        component secret (default random)
      --json                 print the details as JSON
down  stop it and remove its files`;

function stateFile(kind: string): string {
  return join(tmpdir(), `fileupload-testserver-${kind}.json`);
}

/**
 * Runs the up/down CLI for one server kind and returns the exit code.
 *
 * @example
 * if (import.meta.main) void runTestServerCli('prosody', startProsody, process.argv.slice(2));
 */
export async function runTestServerCli(
  kind: string,
  start: (options: TestServerOptions) => Promise<XmppTestServer>,
  argv: string[],
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        user: { type: 'string', multiple: true },
        domain: { type: 'string' },
        secret: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE(kind)}\n`);
    return 2;
  }
  const [action] = parsed.positionals;
  const file = stateFile(kind);
  if (parsed.values.help || (action !== 'up' && action !== 'down')) {
    process.stdout.write(`${USAGE(kind)}\n`);
    return parsed.values.help ? 0 : 2;
  }

  if (action === 'down') {
    if (!existsSync(file)) {
      process.stderr.write(`no ${kind} test server is up (${file} does not exist)\n`);
      return 1;
    }
    const state = JSON.parse(readFileSync(file, 'utf8')) as UpState;
    if (groupAlive(state.pid)) {
      process.kill(-state.pid, 'SIGTERM');
      for (let i = 0; i < 50 && groupAlive(state.pid); i++) await new Promise((r) => setTimeout(r, 100));
      try {
        process.kill(-state.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(state.dataDir, { recursive: true, force: true });
    unlinkSync(file);
    process.stdout.write(`${kind} stopped, ${state.dataDir} removed\n`);
    return 0;
  }

  if (existsSync(file)) {
    const old = JSON.parse(readFileSync(file, 'utf8')) as UpState;
    if (groupAlive(old.pid)) {
      process.stderr.write(`a ${kind} test server is already up (pid ${old.pid}); run down first\n`);
      return 1;
    }
  }
  const users: TestUser[] = [];
  for (const spec of parsed.values.user ?? []) {
    const colon = spec.indexOf(':');
    if (colon <= 0) {
      process.stderr.write(`--user wants NAME:PASSWORD, got ${JSON.stringify(spec)}\n`);
      return 2;
    }
    users.push({ user: spec.slice(0, colon), password: spec.slice(colon + 1) });
  }
  const options: TestServerOptions = { keep: true };
  if (users.length > 0) options.users = users;
  if (parsed.values.domain) options.componentDomain = parsed.values.domain;
  if (parsed.values.secret) options.componentSecret = parsed.values.secret;
  const server = await start(options);
  const state: UpState = {
    kind,
    pid: server.pid(),
    dataDir: server.dataDir,
    host: server.host,
    c2sPort: server.c2sPort,
    componentPort: server.componentPort,
    componentDomain: server.componentDomain,
    componentSecret: server.componentSecret,
    users: server.users,
  };
  writeFileSync(file, JSON.stringify(state, null, 2));
  if (parsed.values.json) {
    process.stdout.write(`${JSON.stringify(state)}\n`);
  } else {
    process.stdout.write(
      [
        `${kind} is up (pid ${state.pid}, files in ${state.dataDir})`,
        `  c2s        127.0.0.1:${state.c2sPort}  (no TLS, PLAIN allowed)`,
        `  component  127.0.0.1:${state.componentPort}  domain ${state.componentDomain}  secret ${state.componentSecret}`,
        ...state.users.map((u) => `  user       ${u.user}@${u.host}  password ${u.password}`),
        `stop it with: scripts/node24 scripts/testservers/${kind}.ts down`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}
