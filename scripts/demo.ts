/**
 * `npm run demo`: fileupload working in one command on a Debian machine. Starts a throw-away
 * Prosody on loopback with two accounts, writes a configuration with `fileupload config set`,
 * starts `fileupload serve` connected to it, runs `fileupload doctor --as alice@localhost`
 * (the whole path a client takes) and prints what to try next. Ctrl-C (or SIGTERM) stops
 * everything and removes every temporary file.
 *
 *   scripts/node24 scripts/demo.ts [--exit-after-check] [--bin PATH] [--web-port N] [--admin-port N]
 *
 * --exit-after-check  stop after the doctor run and exit with its code (CI, tests; needs no stdin)
 * --bin PATH          the fileupload to run (default dist/fileupload when built and fresh, else bin/fileupload)
 * --web-port N        serve's HTTP port (default: a free one), so a client can be pointed at a known port
 * --admin-port N      serve's admin port (/metrics; default: a free one)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { binaryIsStale } from './build/freshness.ts';
import { startProsody } from './testservers/prosody.ts';
import {
  freePort,
  portAccepts,
  removeDir,
  run,
  spawnGroup,
  trackDir,
  waitFor,
  type GroupProcess,
} from './testservers/processes.ts';
import type { XmppTestServer } from './testservers/server.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOMAIN = 'localhost';
const COMPONENT = `upload.${DOMAIN}`;

const USAGE = `usage: scripts/node24 scripts/demo.ts [--exit-after-check] [--bin PATH] [--web-port N] [--admin-port N]

Starts Prosody (loopback, two accounts) and fileupload serve, runs fileupload doctor --as,
then keeps running until Ctrl-C. --exit-after-check stops after the check and exits with the
doctor's exit code. serve listens on free ports of 127.0.0.1 unless --web-port (HTTP) or
--admin-port (/metrics) name them.`;

/** A port given on the command line, or undefined when absent; throws for anything but 1–65535. */
export function portOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new Error(`--${name}: "${value}" is not a port (1-65535)`);
  return port;
}

/**
 * The fileupload to demonstrate: the single binary when it is built and up to date with the
 * sources, else the sources themselves (bin/fileupload).
 *
 * @example
 * defaultBin(); // '/src/fileupload/bin/fileupload'
 */
export function defaultBin(root = ROOT): string {
  const built = join(root, 'dist', 'fileupload');
  return existsSync(built) && !binaryIsStale(built) ? built : join(root, 'bin', 'fileupload');
}

/** Quotes a word for a POSIX shell when it needs it (for the commands the demo prints). */
function sh(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const say = (text: string) => process.stdout.write(`${text}\n`);

interface Running {
  prosody: XmppTestServer | undefined;
  serve: GroupProcess | undefined;
  dir: string | undefined;
}

async function stopAll(r: Running): Promise<void> {
  await r.serve?.stop('SIGTERM', 10_000);
  await r.prosody?.stop();
  if (r.dir !== undefined) removeDir(r.dir);
}

/**
 * Runs the demo; resolves with the exit code.
 *
 * @example
 * process.exitCode = await demo({ exitAfterCheck: true, bin: defaultBin() });
 */
export async function demo(options: {
  exitAfterCheck: boolean;
  bin: string;
  webPort?: number;
  adminPort?: number;
}): Promise<number> {
  const { bin } = options;
  if (options.webPort !== undefined && options.webPort === options.adminPort) {
    say(`fileupload demo: --web-port and --admin-port are both ${options.webPort}; give two different ports`);
    return 2;
  }
  // Checked before anything starts, so a busy port costs no Prosody start and leaves nothing behind.
  for (const [flag, port] of [
    ['--web-port', options.webPort],
    ['--admin-port', options.adminPort],
  ] as const) {
    if (port !== undefined && (await portAccepts(port))) {
      say(
        `fileupload demo: 127.0.0.1:${port} (${flag}) is in use; give another port, or leave ${flag} out for a free one`,
      );
      return 1;
    }
  }
  const running: Running = { prosody: undefined, serve: undefined, dir: undefined };
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping serve and Prosody, removing the temporary files…`);
    void stopAll(running).then(() => {
      say('stopped.');
      process.exit(0);
    });
  };
  const dir = mkdtempSync(join(tmpdir(), 'fileupload-demo-'));
  running.dir = dir;
  trackDir(dir);
  // The test-server helpers kill everything with SIGKILL on a signal (a safety net for tests,
  // installed by trackDir above); the demo stops serve gracefully instead. Their exit hook stays.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(signal)) process.removeListener(signal, l);
    process.on(signal, onSignal);
  }

  try {
    const configFile = join(dir, 'openfire.xml');
    const repo = join(dir, 'repository');
    mkdirSync(repo);
    const cli = `${sh(bin)} --config ${sh(configFile)}`;

    // 1. Prosody with two accounts.
    const users = [
      { user: 'alice', password: `alice-${randomBytes(4).toString('hex')}` },
      { user: 'bob', password: `bob-${randomBytes(4).toString('hex')}` },
    ];
    say('Starting Prosody on 127.0.0.1 …');
    try {
      running.prosody = await startProsody({ host: DOMAIN, componentDomain: COMPONENT, users });
    } catch (err) {
      const missing = /ENOENT|spawn prosody|prosodyctl/.test(String(err));
      say(`fileupload demo: could not start Prosody: ${(err as Error).message}`);
      if (missing) say('Install it first: apt-get install prosody');
      return 1;
    }
    const prosody = running.prosody;
    say(`  Prosody: c2s 127.0.0.1:${prosody.c2sPort}, component port ${prosody.componentPort}, component ${COMPONENT}`);
    for (const u of users) say(`  account ${u.user}@${DOMAIN}  password ${u.password}`);

    // 2. The configuration, written the way an administrator would.
    const webPort = options.webPort ?? (await freePort());
    let adminPort = options.adminPort ?? (await freePort());
    while (adminPort === webPort) adminPort = await freePort();
    const settings: [string, string][] = [
      ['domain', COMPONENT],
      ['sharedSecret', prosody.componentSecret],
      ['xmppHost', '127.0.0.1'],
      ['xmppPort', String(prosody.componentPort)],
      ['fileRepo', repo],
      ['webHost', '127.0.0.1'],
      ['webPort', String(webPort)],
      ['announcedWebProtocol', 'http'],
      ['announcedWebHost', '127.0.0.1'],
      ['announcedWebPort', String(webPort)],
      ['adminPort', String(adminPort)],
      ['maxFileSize', '100M'],
    ];
    say(`\nWriting ${configFile} with "fileupload config set" …`);
    for (const [name, value] of settings) {
      const r = await run(bin, ['--config', configFile, 'config', 'set', name, value], {
        cwd: ROOT,
        timeoutMs: 20_000,
      });
      if (r.code !== 0) {
        say(`fileupload demo: config set ${name} failed (exit ${r.code}): ${r.stderr.trim()}`);
        return 1;
      }
      say(`  fileupload config set ${name} ${name === 'sharedSecret' ? '********' : value}`);
    }

    // 3. serve, logging into a file of the demo dir.
    const logFile = join(dir, 'serve.log');
    say('\nStarting fileupload serve …');
    const out = openSync(logFile, 'a');
    try {
      running.serve = spawnGroup(bin, ['--config', configFile, 'serve'], { stdio: ['ignore', out, out], cwd: ROOT });
    } finally {
      closeSync(out);
    }
    const serve = running.serve;
    const logged = (msg: string) =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .some((line) => line.includes(`"msg":"${msg}"`));
    try {
      await waitFor(
        () => {
          if (!serve.running()) throw new Error('serve exited');
          return logged('xmpp online');
        },
        { timeoutMs: 20_000, describe: 'serve to connect to Prosody' },
      );
    } catch (err) {
      say(`fileupload demo: serve did not come up: ${(err as Error).message}\n${readFileSync(logFile, 'utf8')}`);
      return 1;
    }
    say(`  serve is connected to Prosody as ${COMPONENT} and listens on http://127.0.0.1:${webPort}`);

    // 4. The check a user's client would do.
    const alice = users[0]!;
    const doctorArgs = [
      '--config',
      configFile,
      'doctor',
      '--as',
      `alice@${DOMAIN}`,
      '--password',
      alice.password,
      '--xmpp-c2s-host',
      '127.0.0.1',
      '--xmpp-c2s-port',
      String(prosody.c2sPort),
    ];
    say(`\nRunning: fileupload doctor --as alice@${DOMAIN} …\n`);
    const doctor = spawnGroup(bin, doctorArgs, { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT });
    const { code } = await doctor.exited;
    const doctorCode = code ?? 1;

    if (options.exitAfterCheck) {
      say(`\ndoctor exited with ${doctorCode}; stopping (--exit-after-check).`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await stopAll(running);
      return doctorCode;
    }

    const bob = users[1]!;
    say(`
The demo is running. Things to try:

  * Connect an XMPP client (Gajim, Dino, Profanity …) to host 127.0.0.1 port ${prosody.c2sPort}
    as alice@${DOMAIN} (password ${alice.password}) or bob@${DOMAIN} (password ${bob.password}).
    The connection has no TLS: allow plain connections in the account settings.
    Send a file from alice to bob: the client discovers ${COMPONENT} and uploads to
    http://127.0.0.1:${webPort}/httpfileupload/… (clients that insist on https, like Gajim,
    refuse plain http upload URLs; put TLS in front for those).
  * Watch serve live:            ${cli} status
  * Uploads and pending slots:   ${cli} slots ls
  * Check again, as bob:         ${cli} doctor --as bob@${DOMAIN} --password ${bob.password} --xmpp-c2s-host 127.0.0.1 --xmpp-c2s-port ${prosody.c2sPort}
  * Metrics:                     curl -s http://127.0.0.1:${adminPort}/metrics | grep '^fileupload'
  * An upload's headers:         curl -sI http://127.0.0.1:${webPort}/httpfileupload/ID/NAME   (ids: slots ls)
  * serve's log:                 tail -f ${sh(logFile)}
  * The configuration:           ${cli} config list

Press Ctrl-C to stop everything; the temporary files under ${dir} are removed.`);
    // Keep running until a signal; the handlers above exit.
    await new Promise<never>(() => {
      setInterval(() => {}, 1 << 30);
    });
    return 0;
  } catch (err) {
    say(`fileupload demo: ${(err as Error).stack ?? String(err)}`);
    await stopAll(running);
    return 1;
  }
}

if (import.meta.main) {
  let parsed;
  let webPort: number | undefined;
  let adminPort: number | undefined;
  try {
    parsed = parseArgs({
      options: {
        'exit-after-check': { type: 'boolean' },
        bin: { type: 'string' },
        'web-port': { type: 'string' },
        'admin-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    webPort = portOption('web-port', parsed.values['web-port']);
    adminPort = portOption('admin-port', parsed.values['admin-port']);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
  } else {
    void demo({
      exitAfterCheck: parsed.values['exit-after-check'] === true,
      bin: resolve(parsed.values.bin ?? defaultBin()),
      webPort,
      adminPort,
    }).then((code) => {
      process.exitCode = code;
    });
  }
}
