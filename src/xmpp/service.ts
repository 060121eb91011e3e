/**
 * The upload service as an XEP-0114 external component: what it answers — disco#info/#items,
 * ping, version, time, slot requests issued through the policy chain (access, size, purpose,
 * then the caller's), and the ad-hoc commands when given their operations — over the supervised
 * connection of connection.ts.
 *
 * Settings may be given as a function: each connection attempt reads the connection properties
 * again (a corrected sharedSecret applies at the next retry) and each request reads the limits,
 * access list and announced URL again (dynamic properties apply without a restart).
 */
import { EventEmitter } from 'node:events';
import type { Settings } from '../config/settings.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Purpose, Slot } from '../slots/slot.ts';
import { announcedEndpoint } from '../slots/urls.ts';
import { appVersion } from '../version.ts';
import { accessPolicy, accessRule, isDomainAllowed } from './access.ts';
import { createCommands, type CommandOperations } from './commands.ts';
import { purposePolicy, sizePolicy, type Requester, type SlotPolicy, type SlotRequestContext } from './policy.ts';
import type { SlotRefusal } from './refusal.ts';
import { issueSlot } from './issue-slot.ts';
import { createSlotHandler } from './slot-handler.ts';
import { createIqRouter, type IqAnswer } from './iq-router.ts';
import { discoInfo } from './disco.ts';
import { NS_COMMANDS } from './namespaces.ts';
import {
  createComponentConnection,
  type ComponentConnection,
  type ConnectionEvents,
  type ConnectionOptions,
  type ConnectionStats,
  type ConnectionTuning,
} from './connection.ts';

export interface ComponentStats extends ConnectionStats {
  slotsIssued: number;
  slotsRefused: number;
}

export interface UploadComponentEvents extends ConnectionEvents {
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
   * Failover: the connection's shouldConnect (asked before every attempt; false → 'standby').
   * Servers accept one connection per component JID, so nodes that lose the race get `conflict`
   * anyway; this hook lets a lease decide instead.
   */
  shouldConnect?: () => boolean | Promise<boolean>;
  /**
   * Direct-to-storage uploads: a URL that replaces the slot's PUT URL (a presigned S3
   * PUT), or undefined to keep serve's own. Awaited before onSlotIssued; throwing refuses the
   * request with wait/internal-server-error. The GET URL stays serve's.
   */
  putUrlFor?: (slot: Slot) => string | undefined | Promise<string | undefined>;
  /**
   * The operations behind the XEP-0050 ad-hoc commands (users' uploads, statistics): with them
   * the component announces and answers the commands (commands.ts), else it has none.
   */
  commands?: CommandOperations;
}

export interface UploadComponentOptions extends ConnectionTuning {
  settings: Settings | (() => Settings);
  logger?: Logger;
  hooks?: UploadComponentHooks;
  /** Purposes accepted and advertised; default ['message'] (the meaning of no purpose). */
  purposes?: readonly Purpose[];
  /** More disco#info features. */
  extraFeatures?: readonly string[];
}

/** The connection's lifecycle (start, stop, online), with the slot counters and events added. */
export interface UploadComponent extends ComponentConnection {
  /** A snapshot of the counters. */
  readonly stats: ComponentStats;
  on<K extends keyof UploadComponentEvents>(
    event: K,
    listener: (...args: UploadComponentEvents[K]) => void,
  ): UploadComponent;
  off<K extends keyof UploadComponentEvents>(
    event: K,
    listener: (...args: UploadComponentEvents[K]) => void,
  ): UploadComponent;
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
  const { settings: settingsOption, logger, hooks = {}, purposes = ['message'], extraFeatures, ...tuning } = options;
  const getSettings: () => Settings = typeof settingsOption === 'function' ? settingsOption : () => settingsOption;
  {
    const s = getSettings();
    const missing = (['domain', 'sharedSecret', 'slotSecret'] as const).filter((k) => !s[k]);
    if (missing.length > 0)
      throw new TypeError(`the upload component needs ${missing.map((k) => `plugin.httpfileupload.${k}`).join(', ')}`);
  }
  const log = (logger ?? createLogger()).child({ component: 'xmpp' });
  const now = tuning.now ?? Date.now;

  const events = new EventEmitter<UploadComponentEvents>();
  const emit = <K extends keyof UploadComponentEvents>(event: K, ...args: UploadComponentEvents[K]) => {
    try {
      (events.emit as (e: K, ...a: UploadComponentEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      // A broken listener (metrics, status) must not break the service.
      log.error('component event listener failed', { event, err });
    }
  };
  let slotsIssued = 0;
  let slotsRefused = 0;

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

  const commands = hooks.commands
    ? createCommands({
        operations: hooks.commands,
        domain: () => getSettings().domain,
        mayUpload: (_bare, domain) => {
          const s = getSettings();
          return isDomainAllowed(accessRule(s.domain, s.allowedDomains), domain);
        },
        adminJids: () => getSettings().adminJids ?? [],
        now,
        log,
      })
    : undefined;
  const features = [...(commands ? [NS_COMMANDS] : []), ...(extraFeatures ?? [])];

  const route = createIqRouter({
    discoInfo: () =>
      discoInfo({
        maxFileSize: getSettings().maxFileSize,
        purposes,
        ...(features.length > 0 ? { extraFeatures: features } : {}),
      }),
    ...(commands ? { commands } : {}),
    version: { name: 'fileupload', version: appVersion },
    now: () => new Date(now()),
    slotRequest: async (payload, from): Promise<IqAnswer> => {
      const outcome = await slotHandler(payload, from);
      if (outcome.ok) {
        slotsIssued++;
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
      slotsRefused++;
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

  const connection = createComponentConnection({
    ...tuning,
    settings: getSettings,
    answer: route,
    ...(hooks.shouldConnect ? { shouldConnect: hooks.shouldConnect } : {}),
    emit: emit as ConnectionOptions['emit'], // the connection's events are a part of the component's
    log,
  });

  const api: UploadComponent = {
    get state() {
      return connection.state;
    },
    get stats() {
      return { ...connection.stats, slotsIssued, slotsRefused };
    },
    start: () => connection.start(),
    stop: () => connection.stop(),
    online: (timeoutMs) => connection.online(timeoutMs),
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
