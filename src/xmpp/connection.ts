/**
 * The component's connection to its XMPP server (XEP-0114), supervised: one @xmpp/component
 * entity per attempt, reconnected with capped exponential backoff and jitter; TCP keepalive (and an
 * optional XEP-0199 ping) notice a server that vanished; a shouldConnect hook keeps a node standing
 * by while another one serves (failover). Every IQ get/set addressed to the component is handed to
 * `answer`: what the component says is service.ts's business, this module only carries it.
 *
 * Each attempt reads the connection settings again: a corrected sharedSecret applies at the next
 * retry.
 */
import { domainToASCII } from 'node:url';
import { component as xmppComponent, type Component } from '@xmpp/component';
import type { Settings } from '../config/settings.ts';
import { parentDomain } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { xml } from './xml.ts';
import { NS_PING } from './namespaces.ts';
import type { IqAnswer, IqRequest } from './iq-router.ts';
import { boundedErrorReply, stanzaError } from './stanza-error.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { describeFailure, type ConnectionFailure, type ConnectionTarget } from './connection-failure.ts';

/**
 * idle: not started · connecting: an attempt is under way · online: handshake done, serving ·
 * offline / auth-failed / conflict: the last attempt failed (or the connection dropped) for that
 * reason, a retry is scheduled · standby: shouldConnect said no (failover), asking again soon ·
 * stopped: stop() was called.
 */
export type ComponentState =
  'idle' | 'connecting' | 'online' | 'offline' | 'auth-failed' | 'conflict' | 'standby' | 'stopped';

export interface ConnectionStats {
  /** Connection attempts made. */
  attempts: number;
  /** Times the component went online. */
  connects: number;
  /** Times it went online again after the first time. */
  reconnects: number;
  /** Attempts that failed. */
  failures: number;
  /** Online connections that ended without stop(). */
  disconnects: number;
  /** ms since epoch, while online. */
  onlineSince?: number;
  /** ms since epoch of the next attempt, while one is scheduled. */
  nextAttemptAt?: number;
  lastFailure?: ConnectionFailure & { at: number };
}

export interface ConnectionEvents {
  state: [state: ComponentState, previous: ComponentState];
  online: [];
  /** A failed attempt or a dropped connection; a retry is scheduled. */
  offline: [failure: ConnectionFailure];
}

/** How the connection is supervised; every field has a default. */
export interface ConnectionTuning {
  backoff?: Partial<BackoffOptions>;
  /** How long one attempt (TCP connect + stream + handshake) may take (ms); default 10 s. */
  connectTimeout?: number;
  /** An online connection that lasted this long resets the backoff (ms); default 60 s. */
  stableAfter?: number;
  /**
   * How often to ask shouldConnect again while standing by, and the longest wait between
   * attempts while another connection holds the component (conflict) (ms); default 5 s.
   */
  standbyInterval?: number;
  /**
   * TCP keepalive idle time (ms) on the component socket, so a server that vanished without
   * closing the connection (host down, network cut, a firewall dropping the idle flow) is noticed
   * about this long + 10 s later, and idle flows stay open. Default 30 s; 0 = off.
   */
  tcpKeepAlive?: number;
  /**
   * Optional XEP-0199 ping to the server while online (a hung server process is noticed too);
   * any answer, result or error, counts as alive. Off by default: ejabberd accepts several
   * connections for one component and balances stanzas — replies included — among them, so with
   * more than one node connected a node would miss its own answers and reconnect for nothing.
   */
  pingKeepalive?: {
    interval: number;
    timeout: number;
    /** Default: the parent domain. */
    to?: string;
  };
  now?: () => number;
  random?: () => number;
}

export interface ConnectionOptions extends ConnectionTuning {
  /** Where to connect and as whom; read at every attempt. */
  settings: () => Pick<Settings, 'domain' | 'sharedSecret' | 'xmppHost' | 'xmppPort'>;
  /** Answers an IQ get/set addressed to the component; a throw is answered wait/internal-server-error. */
  answer: (iq: IqRequest) => Promise<IqAnswer>;
  /** Asked before every attempt; false → state 'standby', ask again after standbyInterval. */
  shouldConnect?: () => boolean | Promise<boolean>;
  /** Reports the connection's events; a listener's failure is the caller's to contain. */
  emit: <K extends keyof ConnectionEvents>(event: K, ...args: ConnectionEvents[K]) => void;
  log: Logger;
}

export interface ComponentConnection {
  readonly state: ComponentState;
  /** A snapshot of the counters. */
  readonly stats: ConnectionStats;
  /** Starts connecting (and keeps reconnecting) in the background; no-op when running. */
  start(): void;
  /** Closes the connection, cancels retries; resolves when closed (bounded wait). */
  stop(): Promise<void>;
  /** Resolves when online (at once if already); rejects after `timeoutMs` or on stop(). */
  online(timeoutMs?: number): Promise<void>;
}

const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

/** The socket host: raw IPv6 literal, IDN names in ASCII. */
function socketHost(host: string): string {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return h.includes(':') ? h : domainToASCII(h) || h;
}

/**
 * Connects, opens the stream and waits for the handshake; rejects with the first error (a
 * StreamError such as not-authorized, a socket error, TimeoutError, ConnectionClosed).
 */
function connectAndAuthenticate(e: Component, domain: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      e.off('online', onOnline);
      e.off('error', finish);
      e.off('disconnect', onDisconnect);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onOnline = () => finish();
    const onDisconnect = () => finish(named('ConnectionClosed', 'the server closed the connection'));
    const timer = setTimeout(() => finish(named('TimeoutError', `no handshake within ${timeoutMs} ms`)), timeoutMs);
    e.on('online', onOnline);
    e.on('error', finish);
    e.on('disconnect', onDisconnect);
    e.connect('xmpp://component')
      .then(() => e.open({ domain, timeout: timeoutMs }))
      .catch((err: unknown) => finish(err ?? new Error('connection failed')));
  });
}

/** Drops a connection for good; late events of it are ignored (an error listener stays). */
function destroy(e: Component): void {
  try {
    e.socket?.destroy();
  } catch {
    // Already gone.
  }
}

/**
 * Creates the supervised connection. Nothing happens until start().
 *
 * @example
 * const connection = createComponentConnection({
 *   settings: () => settings,
 *   answer: (iq) => route(iq),
 *   emit: (event, ...args) => events.emit(event, ...args),
 *   log,
 * });
 * connection.start();
 * await connection.online(10_000);
 */
export function createComponentConnection(options: ConnectionOptions): ComponentConnection {
  const { settings: getSettings, answer, shouldConnect, emit, log } = options;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const connectTimeout = options.connectTimeout ?? 10_000;
  const stableAfter = options.stableAfter ?? 60_000;
  const standbyInterval = options.standbyInterval ?? 5_000;
  const tcpKeepAlive = options.tcpKeepAlive ?? 30_000;
  const keepalive = options.pingKeepalive;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;

  let state: ComponentState = 'idle';
  const stats: ConnectionStats = { attempts: 0, connects: 0, reconnects: 0, failures: 0, disconnects: 0 };
  let running = false;
  let entity: Component | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let keepaliveTimer: NodeJS.Timeout | undefined;
  /** Consecutive failures: the backoff exponent. */
  let failuresInRow = 0;
  /** online() callers, told of every state change. */
  const waiters = new Set<(state: ComponentState) => void>();

  const setState = (next: ComponentState) => {
    if (next === state) return;
    const previous = state;
    state = next;
    emit('state', next, previous);
    for (const waiter of [...waiters]) waiter(next);
  };

  const schedule = (delay: number) => {
    clearTimeout(retryTimer);
    stats.nextAttemptAt = now() + delay;
    retryTimer = setTimeout(() => void attempt(), delay);
  };

  const failed = (failure: ConnectionFailure, target: ConnectionTarget, dropped: boolean) => {
    // A conflict means another node holds the connection: retry at the standby pace, so this node
    // takes over within seconds when that one goes, and say so once, not every time.
    const conflictAgain = failure.cause === 'conflict' && stats.lastFailure?.cause === 'conflict';
    const backoffMs = backoffDelay(failuresInRow, backoff, random);
    const delay = failure.cause === 'conflict' ? Math.min(backoffMs, standbyInterval) : backoffMs;
    failuresInRow++;
    stats.lastFailure = { ...failure, at: now() };
    setState(failure.state);
    const fields = {
      reason: failure.message,
      cause: failure.cause,
      condition: failure.condition,
      detail: failure.detail,
      hint: failure.hint,
      ...target,
      retryInMs: delay,
      failuresInRow,
    };
    if (dropped) log.warn('xmpp offline', fields);
    // A refused handshake needs the operator; everything else may heal by itself.
    else if (failure.cause === 'auth') log.error('xmpp connection failed', fields);
    else if (conflictAgain) log.debug('xmpp connection failed', fields);
    else log.warn('xmpp connection failed', fields);
    emit('offline', failure);
    schedule(delay);
  };

  const attempt = async (): Promise<void> => {
    retryTimer = undefined;
    stats.nextAttemptAt = undefined;
    if (!running) return;
    try {
      if (shouldConnect) {
        let go = false;
        try {
          go = await shouldConnect();
        } catch (err) {
          log.warn('shouldConnect hook failed; standing by', { err });
        }
        if (!running) return;
        if (!go) {
          setState('standby');
          schedule(standbyInterval);
          return;
        }
      }
      await connectOnce();
    } catch (err) {
      // Our own bug, not the server's: keep trying rather than die.
      log.error('xmpp connection attempt crashed', { err });
      if (running) schedule(backoffDelay(failuresInRow++, backoff, random));
    }
  };

  const connectOnce = async (): Promise<void> => {
    const s = getSettings();
    const target: ConnectionTarget = { host: s.xmppHost, port: s.xmppPort, domain: s.domain };
    stats.attempts++;
    setState('connecting');
    log.info('xmpp connecting', { ...target, attempt: stats.attempts });

    const e = xmppComponent({ service: 'xmpp://component', domain: s.domain, password: s.sharedSecret ?? '' });
    // We supervise reconnection ourselves (xmpp.js retries every second, forever, silently).
    e.reconnect.stop();
    e.socketParameters = () => ({ host: socketHost(s.xmppHost), port: s.xmppPort });
    let firstError: unknown;
    let online = false;
    e.on('error', (err: unknown) => {
      firstError ??= err;
      log.debug('xmpp error', { err });
    });
    // Every stanza goes out through here, the error replies @xmpp/iq builds included (they echo
    // the request payload, which may be nested thousands deep or carry thousands of children):
    // the echo is bounded, and a stanza that still cannot be sent is logged where an operator
    // sees it, not only as a debug-level 'xmpp error'.
    const send = e.send.bind(e);
    e.send = async (element) => {
      try {
        await send(boundedErrorReply(element));
      } catch (err) {
        if (entity === e && online)
          log.warn('xmpp stanza not sent', {
            err,
            stanza: element.name,
            type: element.attrs.type,
            id: element.attrs.id,
            to: element.attrs.to,
          });
        throw err;
      }
    };
    e.middleware.use(async (ctx, next) => {
      if (ctx.name !== 'iq' || (ctx.type !== 'get' && ctx.type !== 'set') || !ctx.element) return next();
      let answered: IqAnswer;
      try {
        answered = await answer({
          type: ctx.type,
          from: ctx.stanza.attrs.from,
          to: ctx.stanza.attrs.to,
          payload: ctx.element,
        });
      } catch (err) {
        // Answered here rather than by xmpp.js, whose 'error' event would read as a connection problem.
        log.error('IQ handling failed', { err, from: ctx.stanza.attrs.from });
        answered = { type: 'error', error: stanzaError('wait', 'internal-server-error') };
      }
      // @xmpp/iq/callee: an <error/> element → error reply, another element → result payload, true → empty result.
      return answered.type === 'error' ? answered.error : (answered.payload ?? true);
    });
    e.on('disconnect', () => {
      if (!online || entity !== e) return;
      entity = undefined;
      clearInterval(keepaliveTimer);
      stats.disconnects++;
      const onlineFor = now() - (stats.onlineSince ?? now());
      delete stats.onlineSince;
      if (onlineFor >= stableAfter) failuresInRow = 0;
      failed(describeFailure(firstError ?? named('ConnectionClosed', 'connection closed'), target), target, true);
    });
    entity = e;

    try {
      await connectAndAuthenticate(e, s.domain, connectTimeout);
    } catch (err) {
      if (entity !== e) return; // stop() took it meanwhile
      entity = undefined;
      destroy(e);
      stats.failures++;
      failed(describeFailure(firstError ?? err, target), target, false);
      return;
    }
    if (entity !== e) return;
    if (tcpKeepAlive > 0) e.socket?.setKeepAlive(true, tcpKeepAlive);
    // Slot answers are small stanzas sent while more requests are in flight: Nagle's algorithm
    // would hold each one back until the previous one is acknowledged.
    e.socket?.setNoDelay(true);
    online = true;
    firstError = undefined; // from now on, errors explain a drop
    stats.connects++;
    if (stats.connects > 1) stats.reconnects++;
    stats.onlineSince = now();
    setState('online');
    log.info('xmpp online', { ...target, attempt: stats.attempts, reconnects: stats.reconnects });
    emit('online');

    if (keepalive) {
      const to = keepalive.to ?? parentDomain(s.domain);
      let pinging = false;
      keepaliveTimer = setInterval(() => {
        if (pinging || entity !== e) return;
        pinging = true;
        e.iqCaller
          .request(xml('iq', { type: 'get', to }, xml('ping', { xmlns: NS_PING })), keepalive.timeout)
          .catch((err: unknown) => {
            // An error reply is an answer too: only silence means the server is gone.
            if ((err as { name?: unknown }).name !== 'TimeoutError' || entity !== e) return;
            firstError ??= named('TimeoutError', `no answer to a keepalive ping within ${keepalive.timeout} ms`);
            destroy(e);
          })
          .finally(() => {
            pinging = false;
          });
      }, keepalive.interval);
      keepaliveTimer.unref();
    }
  };

  return {
    get state() {
      return state;
    },
    get stats() {
      return { ...stats, ...(stats.lastFailure ? { lastFailure: { ...stats.lastFailure } } : {}) };
    },
    start() {
      if (running) return;
      running = true;
      failuresInRow = 0;
      void attempt();
    },
    async stop() {
      running = false;
      clearTimeout(retryTimer);
      clearInterval(keepaliveTimer);
      retryTimer = undefined;
      delete stats.nextAttemptAt;
      delete stats.onlineSince;
      const e = entity;
      entity = undefined;
      if (e) {
        // A clean </stream:stream> when possible, but never wait long for a dead server.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([e.stop().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
        destroy(e);
      }
      if (state !== 'idle' && state !== 'stopped') log.info('xmpp stopped', { domain: getSettings().domain });
      setState('stopped');
    },
    online(timeoutMs = 30_000) {
      if (state === 'online') return Promise.resolve();
      if (state === 'stopped') return Promise.reject(new Error('the upload component was stopped'));
      return new Promise((resolve, reject) => {
        const waiter = (next: ComponentState) => {
          if (next !== 'online' && next !== 'stopped') return;
          waiters.delete(waiter);
          clearTimeout(timer);
          if (next === 'online') resolve();
          else reject(new Error('the upload component was stopped'));
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`the upload component is not online after ${timeoutMs} ms (state: ${state})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
