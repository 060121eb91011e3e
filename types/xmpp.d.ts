// xmpp.js 0.13 ships no TypeScript types. These cover what src/xmpp uses of @xmpp/component and
// of the two packages it re-exports (@xmpp/xml, @xmpp/jid). @xmpp/client is declared on its own
// in types/xmpp-client.d.ts (a module may be declared only once).

declare module '@xmpp/xml' {
  import { EventEmitter } from 'node:events';

  type Attrs = Record<string, string | number | null | undefined>;
  type Child = xml.Element | string | number | boolean | null | undefined;

  /**
   * Builds an element (ltx createElement): attributes that are null/undefined are left out,
   * children that are null/undefined/''/booleans are skipped, arrays are flattened.
   *
   * @example
   * xml('iq', { type: 'result', id: '1' }, xml('query', { xmlns: 'jabber:iq:version' }))
   */
  function xml(name: string, attrs?: Attrs | null, ...children: Array<Child | Child[]>): xml.Element;

  namespace xml {
    /** An ltx element: attribute values read back are strings. */
    class Element {
      constructor(name: string, attrs?: Attrs);
      name: string;
      attrs: Record<string, string | undefined>;
      children: Array<Element | string>;
      parent: Element | null;
      /** Name (without prefix) and, when given, namespace (inherited from ancestors) match. */
      is(name: string, xmlns?: string): boolean;
      getName(): string;
      getNS(): string | undefined;
      getAttr(name: string, xmlns?: string): string | undefined;
      getChild(name: string, xmlns?: string): Element | undefined;
      getChildren(name: string, xmlns?: string): Element[];
      getChildElements(): Element[];
      getChildText(name: string, xmlns?: string): string | null;
      /** Concatenated text children. */
      getText(): string;
      text(): string;
      append(...nodes: Array<Element | string>): Element;
      c(name: string, attrs?: Attrs): Element;
      t(text: string): Element;
      up(): Element;
      toString(): string;
    }

    /** The stream parser: 'start' with the root, 'element' for each complete child of the root. */
    class Parser extends EventEmitter {
      write(data: string): void;
      end(data?: string): void;
    }

    function escapeXML(s: string): string;
    function escapeXMLText(s: string): string;
  }

  export = xml;
}

declare module '@xmpp/jid' {
  /**
   * Parses a JID (or builds one from parts). Note: the localpart is lower-cased and XEP-0106
   * escaped when it contains characters that need it.
   *
   * @example
   * jid('alice@example.org/phone').bare().toString() // 'alice@example.org'
   */
  function jid(address: string): jid.JID;
  function jid(local: string | null | undefined, domain: string, resource?: string): jid.JID;

  namespace jid {
    class JID {
      constructor(local: string | null | undefined, domain: string, resource?: string);
      local: string;
      domain: string;
      resource: string;
      bare(): JID;
      equals(other: JID): boolean;
      toString(unescape?: boolean): string;
    }
    function parse(address: string): JID;
    function equal(a: JID, b: JID): boolean;
  }

  export = jid;
}

declare module '@xmpp/component' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';
  import type xmlModule from '@xmpp/xml';
  import type jidModule from '@xmpp/jid';

  type Element = xmlModule.Element;
  type JID = jidModule.JID;

  export const xml: typeof xmlModule;
  export const jid: typeof jidModule;

  export interface ComponentOptions {
    /** e.g. xmpp://127.0.0.1:5347 */
    service: string;
    /** The component's JID. */
    domain: string;
    /** The XEP-0114 shared secret. */
    password: string;
  }

  /** What a middleware sees of an incoming stanza (@xmpp/middleware IncomingContext). */
  export interface IncomingContext {
    stanza: Element;
    entity: Component;
    /** iq, message or presence. */
    name: string;
    id: string;
    type: string;
    from: JID | null;
    to: JID | null;
    local: string;
    domain: string;
    resource: string;
    /** For IQ get/set (set by @xmpp/iq/callee): the single payload child. */
    element?: Element;
  }

  /**
   * An incoming middleware. After @xmpp/iq/callee, for IQ get/set: return an Element to answer a
   * result with it as payload, an `<error/>` Element to answer an error, `true` for an empty
   * result, undefined for service-unavailable.
   */
  export type Middleware = (ctx: IncomingContext, next: () => Promise<unknown>) => unknown;

  export interface Component extends EventEmitter {
    /** offline, connecting, connect, opening, open, online, closing, close, disconnecting, disconnect. */
    status: string;
    jid: JID | null;
    socket: Socket | null;
    /** Default timeout (ms) of open/close/sendReceive. */
    timeout: number;
    options: ComponentOptions;
    start(): Promise<JID>;
    stop(): Promise<Element | undefined>;
    connect(service: string): Promise<void>;
    open(options: { domain: string; lang?: string; timeout?: number }): Promise<Element>;
    disconnect(timeout?: number): Promise<void>;
    send(element: Element): Promise<void>;
    write(data: string): Promise<void>;
    /** Where connect(service) opens its socket; may be replaced per instance. */
    socketParameters(service: string): { host: string; port: number } | undefined;
    reconnect: EventEmitter & { delay: number; start(): void; stop(): void };
    middleware: { use(fn: Middleware): Middleware; filter(fn: Middleware): Middleware };
    iqCaller: {
      /** Resolves with the result stanza; rejects with a StanzaError (error reply) or TimeoutError. */
      request(stanza: Element, timeout?: number): Promise<Element>;
      get(payload: Element, to?: string, timeout?: number): Promise<Element>;
      set(payload: Element, to?: string, timeout?: number): Promise<Element>;
    };
    iqCallee: {
      get(ns: string, name: string, handler: Middleware): void;
      set(ns: string, name: string, handler: Middleware): void;
    };
  }

  /**
   * An XEP-0114 component: connection + handshake, middleware, IQ caller/callee and a fixed 1 s
   * reconnect (stop it with `reconnect.stop()` to drive reconnection yourself).
   *
   * @example
   * const c = component({ service: 'xmpp://127.0.0.1:5347', domain: 'upload.example.org', password: 'secret' });
   * c.on('error', console.error);
   * await c.start();
   */
  export function component(options: ComponentOptions): Component;
}
