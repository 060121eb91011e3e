/**
 * The upload service as an XEP-0114 external component: one supervised @xmpp/component
 * connection (fresh per attempt, reconnected with capped exponential backoff and jitter), IQs
 * routed to disco/ping/version/time and slot requests, slots issued through the policy chain.
 *
 * Settings may be given as a function: each connection attempt reads the connection properties
 * again (a corrected sharedSecret applies at the next retry) and each request reads the limits,
 * access list and announced URL again (dynamic properties apply without a restart).
 */
import { EventEmitter } from 'node:events';
import { domainToASCII } from 'node:url';
import { component as xmppComponent, type Component } from '@xmpp/component';
import type { Settings } from '../config/settings.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Purpose, Slot } from '../slots/slot.ts';
import { appVersion } from '../version.ts';
import { xml } from './xml.ts';
import { NS_PING } from './namespaces.ts';
import { parentDomain } from '../config/types.ts';
import { accessPolicy } from './access.ts';
import { purposePolicy, sizePolicy, type Requester, type SlotPolicy, type SlotRequestContext } from './policy.ts';
import type { SlotRefusal } from './refusal.ts';
import { issueSlot } from './issue-slot.ts';
import { announcedEndpoint } from '../slots/urls.ts';
import { createSlotHandler } from './slot-handler.ts';
import { createIqRouter, type IqAnswer } from './iq-router.ts';
import { boundedErrorReply, stanzaError } from './stanza-error.ts';
import { discoInfo } from './disco.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { describeFailure, type ConnectionFailure, type ConnectionTarget } from './connection-failure.ts';

/**
 * idle: not started · connecting: an attempt is under way · online: handshake done, serving ·
 * offline / auth-failed / conflict: the last attempt failed (or the connection dropped) for that
 * reason, a retry is scheduled · standby: hooks.shouldConnect said no (failover), asking again
 * soon · stopped: stop() was called.
 */
export type ComponentState =
  'idle' | 'connecting' | 'online' | 'offline' | 'auth-failed' | 'conflict' | 'standby' | 'stopped';

export interface ComponentStats {
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
  slotsIssued: number;
  slotsRefused: number;
  /** ms since epoch, while online. */
  onlineSince?: number;
  /** ms since epoch of the next attempt, while one is scheduled. */
  nextAttemptAt?: number;
  lastFailure?: ConnectionFailure & { at: number };
}

export interface UploadComponentEvents {
  state: [state: ComponentState, previous: ComponentState];
  online: [];
  /** A failed attempt or a dropped connection; a retry is scheduled. */
  offline: [failure: ConnectionFailure];
  slot: [slot: Slot, ctx: SlotRequestContext];
  refused: [refusal: SlotRefusal, requester: Requester | undefined];
}

export interface UploadComponentHooks {
  /** Run after the built-in access, size and purpose policies (quota, rate limits…). */
  policies?: readonly SlotPolicy[];
  /**
   * Awaited after a slot is signed and before it is answered (record pending slots, count).
   * Throwing refuses the request with wait/internal-server-error.
   */
  onSlotIssued?: (slot: Slot, ctx: SlotRequestContext) => void | Promise<void>;
  /**
   * Failover: asked before every attempt; false → state 'standby', ask again after
   * `standbyInterval`. Servers accept one connection per component JID, so nodes that lose the
   * race get `conflict` anyway; this hook lets a lease decide instead.
   */
  shouldConnect?: () => boolean | Promise<boolean>;
  /**
   * Direct-to-storage uploads: a URL that replaces the slot's PUT URL (a presigned S3
   * PUT), or undefined to keep serve's own. Awaited before onSlotIssued; throwing refuses the
   * request with wait/internal-server-error. The GET URL stays serve's.
   */
  putUrlFor?: (slot: Slot) => string | undefined | Promise<string | undefined>;
}

export interface UploadComponentOptions {
  settings: Settings | (() => Settings);
  logger?: Logger;
  hooks?: UploadComponentHooks;
  /** Purposes accepted and advertised; default ['message'] (the meaning of no purpose). */
  purposes?: readonly Purpose[];
  /** More disco#info features. */
  extraFeatures?: readonly string[];
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
  pingKeepalive?: { interval: number; timeout: number; /** default: the parent domain */ to?: string };
  now?: () => number;
  random?: () => number;
}

export interface UploadComponent {
  readonly state: ComponentState;
  /** A snapshot of the counters. */
  readonly stats: ComponentStats;
  /** Starts connecting (and keeps reconnecting) in the background; no-op when running. */
  start(): void;
  /** Closes the connection, cancels retries; resolves when closed (bounded wait). */
  stop(): Promise<void>;
  /** Resolves when online (at once if already); rejects after `timeoutMs` or on stop(). */
  online(timeoutMs?: number): Promise<void>;
  on<K extends keyof UploadComponentEvents>(
    event: K,
    listener: (...args: UploadComponentEvents[K]) => void,
  ): UploadComponent;
  off<K extends keyof UploadComponentEvents>(
    event: K,
    listener: (...args: UploadComponentEvents[K]) => void,
  ): UploadComponent;
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
 * Creates the upload component. Nothing happens until start().
 *
 * @example
 * const xmpp = createUploadComponent({
 *   settings: () => currentSettings,
 *   logger: log,
 *   purposes: ['message', 'ephemeral'],
 *   hooks: {
 *     policies: [async ({ requester, request }) => {
 *       const d = await guard.check({ uploader: requester.bare, size: request.size });
 *       return d.ok ? allow : refuse(d);
 *     }],
 *     onSlotIssued: (slot) => guard.recordSlotIssued(slot),
 *   },
 * });
 * xmpp.on('state', (state) => metrics.xmppState.set(state));
 * xmpp.start();
 * // on SIGTERM:
 * await xmpp.stop();
 */
export function createUploadComponent(options: UploadComponentOptions): UploadComponent {
  const settingsOption = options.settings;
  const getSettings: () => Settings = typeof settingsOption === 'function' ? settingsOption : () => settingsOption;
  {
    const s = getSettings();
    const missing = (['domain', 'sharedSecret', 'slotSecret'] as const).filter((k) => !s[k]);
    if (missing.length > 0)
      throw new TypeError(`the upload component needs ${missing.map((k) => `plugin.httpfileupload.${k}`).join(', ')}`);
  }
  const log = (options.logger ?? createLogger()).child({ component: 'xmpp' });
  const hooks = options.hooks ?? {};
  const purposes: readonly Purpose[] = options.purposes ?? ['message'];
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const connectTimeout = options.connectTimeout ?? 10_000;
  const stableAfter = options.stableAfter ?? 60_000;
  const standbyInterval = options.standbyInterval ?? 5_000;
  const tcpKeepAlive = options.tcpKeepAlive ?? 30_000;
  const keepalive = options.pingKeepalive;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;

  const events = new EventEmitter<UploadComponentEvents>();
  const emit = <K extends keyof UploadComponentEvents>(event: K, ...args: UploadComponentEvents[K]) => {
    try {
      (events.emit as (e: K, ...a: UploadComponentEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      // A broken listener (metrics, status) must not break the service.
      log.error('component event listener failed', { event, err });
    }
  };

  let state: ComponentState = 'idle';
  const stats: ComponentStats = {
    attempts: 0,
    connects: 0,
    reconnects: 0,
    failures: 0,
    disconnects: 0,
    slotsIssued: 0,
    slotsRefused: 0,
  };
  let running = false;
  let entity: Component | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let keepaliveTimer: NodeJS.Timeout | undefined;
  /** Consecutive failures: the backoff exponent. */
  let failuresInRow = 0;

  const setState = (next: ComponentState) => {
    if (next === state) return;
    const previous = state;
    state = next;
    emit('state', next, previous);
  };

  const slotHandler = createSlotHandler({
    policies: () => {
      const s = getSettings();
      return [
        accessPolicy(s.domain, s.allowedDomains),
        sizePolicy(s.maxFileSize),
        purposePolicy(purposes),
        ...(hooks.policies ?? []),
      ];
    },
    issue: (request, uploader, at) => {
      const s = getSettings();
      const issued = issueSlot(request, uploader, at, {
        secret: s.slotSecret ?? '',
        endpoint: announcedEndpoint(s),
        lifetime: s.slotLifetime,
      });
      const putUrlFor = hooks.putUrlFor;
      if (!putUrlFor) return issued;
      return Promise.resolve(putUrlFor(issued.slot)).then((put) =>
        put === undefined ? issued : { ...issued, urls: { ...issued.urls, put } },
      );
    },
    ...(hooks.onSlotIssued ? { onSlotIssued: hooks.onSlotIssued } : {}),
    now,
    log,
  });

  const route = createIqRouter({
    discoInfo: () =>
      discoInfo({
        maxFileSize: getSettings().maxFileSize,
        purposes,
        ...(options.extraFeatures ? { extraFeatures: options.extraFeatures } : {}),
      }),
    version: { name: 'fileupload', version: appVersion },
    now: () => new Date(now()),
    slotRequest: async (payload, from): Promise<IqAnswer> => {
      const outcome = await slotHandler(payload, from);
      if (outcome.ok) {
        stats.slotsIssued++;
        const { slot } = outcome;
        log.info('slot issued', {
          id: slot.id,
          uploader: slot.uploader,
          size: slot.size,
          purpose: slot.purpose,
          namespace: outcome.ctx.request.namespace,
        });
        emit('slot', slot, outcome.ctx);
        return { type: 'result', payload: outcome.answer };
      }
      stats.slotsRefused++;
      const { refusal } = outcome;
      log.info('slot refused', {
        requester: outcome.requester?.bare ?? from,
        condition: refusal.condition,
        text: refusal.text,
      });
      emit('refused', refusal, outcome.requester);
      return { type: 'error', error: outcome.error };
    },
  });

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
      if (hooks.shouldConnect) {
        let go = false;
        try {
          go = await hooks.shouldConnect();
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
      let answer: IqAnswer;
      try {
        answer = await route({
          type: ctx.type,
          from: ctx.stanza.attrs.from,
          to: ctx.stanza.attrs.to,
          payload: ctx.element,
        });
      } catch (err) {
        // Answered here rather than by xmpp.js, whose 'error' event would read as a connection problem.
        log.error('IQ handling failed', { err, from: ctx.stanza.attrs.from });
        answer = { type: 'error', error: stanzaError('wait', 'internal-server-error') };
      }
      // @xmpp/iq/callee: an <error/> element → error reply, another element → result payload, true → empty result.
      return answer.type === 'error' ? answer.error : (answer.payload ?? true);
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

  const api: UploadComponent = {
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
        const cleanup = () => {
          clearTimeout(timer);
          events.off('online', onOnline);
          events.off('state', onState);
        };
        const onOnline = () => {
          cleanup();
          resolve();
        };
        const onState = (next: ComponentState) => {
          if (next !== 'stopped') return;
          cleanup();
          reject(new Error('the upload component was stopped'));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`the upload component is not online after ${timeoutMs} ms (state: ${state})`));
        }, timeoutMs);
        events.on('online', onOnline);
        events.on('state', onState);
      });
    },
    on(event, listener) {
      events.on(event, listener as never);
      return api;
    },
    off(event, listener) {
      events.off(event, listener as never);
      return api;
    },
  };
  return api;
}
