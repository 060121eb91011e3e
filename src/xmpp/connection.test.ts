/**
 * The connection's supervision without an XMPP server: a loopback port nobody listens on (every
 * attempt is refused), a shouldConnect hook that says no, stop() at every stage. What a real
 * server does (handshake, conflict, drop, keepalive) is tested in service.test.ts against Prosody.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createLogger } from '../log.ts';
import { createComponentConnection, type ConnectionOptions } from './connection.ts';

type Line = Record<string, unknown> & { msg: string; level: string };

/** A loopback port that refuses connections: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/** A connection with its events and log lines recorded, and a way to wait for an event. */
function recorded(overrides: Partial<ConnectionOptions> & { port: number }) {
  const events: unknown[][] = [];
  const lines: Line[] = [];
  const waiters: Array<{ match: (e: unknown[]) => boolean; resolve: () => void }> = [];
  const { port, ...rest } = overrides;
  const connection = createComponentConnection({
    settings: () => ({ domain: 'upload.localhost', sharedSecret: 'secret', xmppHost: '127.0.0.1', xmppPort: port }),
    answer: () => Promise.reject(new Error('no IQ is expected')),
    emit: (...event: unknown[]) => {
      events.push(event);
      for (const w of [...waiters]) {
        if (!w.match(event)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    log: createLogger({}, { level: 'debug', write: (text) => void lines.push(JSON.parse(text) as Line) }),
    backoff: { initialDelay: 20, maxDelay: 1000, jitter: 0.5 },
    random: () => 0,
    now: () => 1_000_000,
    ...rest,
  });
  const next = (match: (e: unknown[]) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such event; got ${JSON.stringify(events)}`)), 10_000);
      waiters.push({ match, resolve: () => (clearTimeout(timer), resolve()) });
    });
  return { connection, events, lines, next };
}

const failureLine = (l: Line) => l.msg === 'xmpp connection failed';

/** Resolves once `condition` holds (checked every 10 ms), for what no event announces. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`still not ${what} after 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('component connection', () => {
  it('a refused attempt is reported (state, offline event, warn line) and retried with growing delays until stop()', async () => {
    const port = await closedPort();
    const { connection, events, lines, next } = recorded({ port });
    const thirdFailure = next(() => lines.filter(failureLine).length === 3);
    connection.start();
    connection.start(); // a no-op while running
    await thirdFailure;
    await connection.stop();

    assert.deepEqual(events.slice(0, 3), [
      ['state', 'connecting', 'idle'],
      ['state', 'offline', 'connecting'],
      ['offline', (events[2] as unknown[])[1]],
    ]);
    const failure = (events[2] as [string, { cause: string; state: string }])[1];
    assert.deepEqual([failure.cause, failure.state], ['refused', 'offline']);
    const failures = lines.filter(failureLine);
    assert.deepEqual(
      failures.slice(0, 3).map((l) => [l.level, l.cause, l.port, l.failuresInRow, l.retryInMs]),
      [
        ['warn', 'refused', port, 1, 20],
        ['warn', 'refused', port, 2, 40],
        ['warn', 'refused', port, 3, 80],
      ],
    );
    assert.deepEqual(
      lines.filter((l) => l.msg === 'xmpp connecting').map((l) => l.attempt),
      [1, 2, 3],
      'one attempt per failure, none twice for the second start()',
    );
    assert.equal(lines.at(-1)?.msg, 'xmpp stopped');
    assert.deepEqual(events.at(-1), ['state', 'stopped', 'offline']);

    const stats = connection.stats;
    assert.equal(connection.state, 'stopped');
    assert.deepEqual([stats.attempts, stats.failures, stats.connects, stats.disconnects], [3, 3, 0, 0]);
    assert.equal(stats.lastFailure?.cause, 'refused');
    assert.equal(stats.lastFailure?.at, 1_000_000);
    assert.equal(stats.nextAttemptAt, undefined, 'no attempt scheduled after stop()');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(connection.stats.attempts, 3, 'no attempts after stop()');
    await assert.rejects(connection.online(), /the upload component was stopped/);
  });

  it('the stats are a snapshot: changing them changes nothing', async () => {
    const { connection, lines, next } = recorded({ port: await closedPort() });
    const failed = next(() => lines.some(failureLine));
    connection.start();
    await failed;
    const stats = connection.stats;
    stats.lastFailure!.cause = 'auth';
    stats.attempts = 99;
    assert.equal(connection.stats.lastFailure?.cause, 'refused');
    assert.equal(connection.stats.attempts, 1);
    assert.equal(connection.stats.nextAttemptAt, 1_000_000 + 20);
    await connection.stop();
  });

  it('shouldConnect=false stands by, asks again every standbyInterval, and never connects', async () => {
    let asked = 0;
    const { connection, events, lines, next } = recorded({
      port: await closedPort(),
      standbyInterval: 30,
      shouldConnect: () => (asked++, false),
    });
    const standingBy = next((e) => e[0] === 'state' && e[1] === 'standby');
    connection.start();
    await standingBy;
    assert.equal(connection.stats.nextAttemptAt, 1_000_000 + 30);
    await assert.rejects(connection.online(50), /not online after 50 ms \(state: standby\)/);
    await until(() => asked >= 3, 'asked three times');
    await connection.stop();
    assert.equal(connection.stats.attempts, 0);
    assert.ok(!lines.some((l) => l.msg === 'xmpp connecting'));
    assert.deepEqual(
      events.map((e) => e.slice(1).join('←')),
      ['standby←idle', 'stopped←standby'],
      'standing by is one state change, not one per question',
    );
  });

  it('a shouldConnect that throws is logged and counts as no', async () => {
    const { connection, lines, next } = recorded({
      port: await closedPort(),
      standbyInterval: 1000,
      shouldConnect: () => {
        throw new Error('lease store unreadable');
      },
    });
    const standingBy = next((e) => e[1] === 'standby');
    connection.start();
    await standingBy;
    const warned = lines.find((l) => l.msg === 'shouldConnect hook failed; standing by');
    assert.equal(warned?.level, 'warn');
    assert.equal(connection.stats.attempts, 0);
    await connection.stop();
  });

  it('stop() while shouldConnect is pending: no attempt follows its answer', async () => {
    let answer: (go: boolean) => void = () => {};
    let asked = false;
    const { connection, lines } = recorded({
      port: await closedPort(),
      shouldConnect: () => ((asked = true), new Promise<boolean>((resolve) => (answer = resolve))),
    });
    connection.start();
    assert.ok(asked);
    const waiting = connection.online(10_000);
    await connection.stop();
    await assert.rejects(waiting, /the upload component was stopped/);
    answer(true);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(connection.stats.attempts, 0);
    assert.equal(connection.state, 'stopped');
    assert.ok(!lines.some((l) => l.msg === 'xmpp stopped'), 'nothing was connecting: nothing to say');
  });

  it('stop() before start(): stopped, silently, and online() rejects at once', async () => {
    const { connection, events, lines } = recorded({ port: await closedPort() });
    assert.equal(connection.state, 'idle');
    await connection.stop();
    assert.equal(connection.state, 'stopped');
    assert.deepEqual(events, [['state', 'stopped', 'idle']]);
    assert.deepEqual(lines, []);
    await assert.rejects(connection.online(), /the upload component was stopped/);
  });
});
