/**
 * Answers every IQ get/set addressed to the component: disco#info/#items, ping, version, time, last
 * activity (uptime), slot requests and XEP-0050 ad-hoc commands (the only IQ set); anything else gets cancel/feature-not-implemented (clients treat it like
 * RFC 6120's service-unavailable).
 */
import type { Element } from './xml.ts';
import { NS_COMMANDS, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_LAST, NS_PING, NS_TIME, NS_VERSION } from './namespaces.ts';
import { stanzaError } from './stanza-error.ts';
import { isSlotRequest } from './slot-request.ts';
import { discoItems } from './disco.ts';
import { lastActivityQuery, timeQuery, versionQuery, type SoftwareVersion } from './entity-info.ts';
import { parseJid } from './jid.ts';
import type { Commands } from './commands.ts';

export interface IqRequest {
  /** get or set (results and errors are not requests). */
  type: string;
  from: string | undefined;
  to: string | undefined;
  /** The single payload child. */
  payload: Element;
}

/** A result with an optional payload, or an error with its <error/> element. */
export type IqAnswer = { type: 'result'; payload?: Element } | { type: 'error'; error: Element };

export interface IqRouterOptions {
  /** The disco#info <query/> (asked per request: the limit may change at run time). */
  discoInfo: () => Element;
  version: SoftwareVersion;
  now?: () => Date;
  /** When the service started (ms since epoch), for jabber:iq:last; default: when the router is made. */
  startedAt?: number;
  /** Answers a slot request in any upload namespace. */
  slotRequest: (payload: Element, from: string | undefined) => Promise<IqAnswer>;
  /** The ad-hoc commands (their disco nodes and IQ sets); none when absent. */
  commands?: Pick<Commands, 'items' | 'info' | 'execute'>;
}

const notImplemented = (): IqAnswer => ({
  type: 'error',
  error: stanzaError('cancel', 'feature-not-implemented', 'Not supported by this upload service'),
});

/**
 * Creates the router.
 *
 * @example
 * const route = createIqRouter({ discoInfo: () => discoInfo({ maxFileSize }), version, slotRequest });
 * const answer = await route({ type: 'get', from, to, payload });
 */
export function createIqRouter(options: IqRouterOptions): (iq: IqRequest) => Promise<IqAnswer> {
  const now = options.now ?? (() => new Date());
  const startedAt = options.startedAt ?? now().getTime();
  return async ({ type, from, to, payload }) => {
    // The component is one entity: nobody lives at user@upload.example.org (RFC 6120 §10.5.3.1).
    if (to !== undefined && (parseJid(to)?.local ?? '') !== '') {
      return { type: 'error', error: stanzaError('cancel', 'service-unavailable') };
    }
    const name = payload.getName();
    const ns = payload.getNS();
    const commands = options.commands;
    if (type === 'set' && name === 'command' && ns === NS_COMMANDS && commands) return commands.execute(payload, from);
    if (type !== 'get') return notImplemented();
    if (name === 'query' && (ns === NS_DISCO_INFO || ns === NS_DISCO_ITEMS)) {
      // The only nodes are the ad-hoc commands' (no caps are published, no other hierarchy).
      const node = payload.attrs.node;
      if (node !== undefined) {
        const found =
          commands === undefined
            ? undefined
            : ns === NS_DISCO_ITEMS
              ? node === NS_COMMANDS
                ? commands.items(from)
                : undefined
              : commands.info(String(node));
        if (found === undefined) return { type: 'error', error: stanzaError('cancel', 'item-not-found') };
        return { type: 'result', payload: found };
      }
      return { type: 'result', payload: ns === NS_DISCO_INFO ? options.discoInfo() : discoItems() };
    }
    if (name === 'ping' && ns === NS_PING) return { type: 'result' };
    if (name === 'query' && ns === NS_VERSION) return { type: 'result', payload: versionQuery(options.version) };
    if (name === 'time' && ns === NS_TIME) return { type: 'result', payload: timeQuery(now()) };
    if (name === 'query' && ns === NS_LAST)
      return { type: 'result', payload: lastActivityQuery(startedAt, now().getTime()) };
    if (isSlotRequest(payload)) return options.slotRequest(payload, from);
    return notImplemented();
  };
}
