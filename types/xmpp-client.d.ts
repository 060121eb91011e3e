// @xmpp/client ships no TypeScript types; this covers what test/support/xmpp-client.ts uses.
// Self-contained on purpose (its own element type): types/xmpp.d.ts declares @xmpp/component,
// @xmpp/xml and @xmpp/jid, and a module may be declared only once.
declare module '@xmpp/client' {
  /** An ltx element as @xmpp/xml builds and parses them. */
  export interface XmppClientElement {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<XmppClientElement | string>;
    getChild(name: string, xmlns?: string): XmppClientElement | undefined;
    getChildren(name: string, xmlns?: string): XmppClientElement[];
    getChildElements(): XmppClientElement[];
    getChildText(name: string, xmlns?: string): string | null;
    /** Concatenated text children. */
    text(): string;
    getText(): string;
    is(name: string, xmlns?: string): boolean;
    append(...children: Array<XmppClientElement | string>): XmppClientElement;
    toString(): string;
  }

  /**
   * Builds an element.
   *
   * @example
   * xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }))
   */
  export function xml(
    name: string,
    attrs?: Record<string, string | number | undefined> | null,
    ...children: Array<XmppClientElement | string | undefined | null>
  ): XmppClientElement;

  export interface XmppClientJid {
    local: string;
    domain: string;
    resource: string;
    toString(): string;
    bare(): XmppClientJid;
  }

  export interface XmppClientOptions {
    /** e.g. xmpp://127.0.0.1:5222 */
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
  }

  export interface XmppClient {
    jid: XmppClientJid | null;
    status: string;
    start(): Promise<XmppClientJid>;
    stop(): Promise<void>;
    send(...elements: XmppClientElement[]): Promise<void>;
    on(event: 'stanza', listener: (stanza: XmppClientElement) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'offline' | 'online' | 'status', listener: (...args: unknown[]) => void): this;
    on(event: 'input' | 'output', listener: (data: string) => void): this;
    off(event: string, listener: (...args: never[]) => void): this;
    removeListener(event: string, listener: (...args: never[]) => void): this;
    reconnect: { stop(): void };
  }

  /**
   * A c2s client (TCP when `service` is xmpp://).
   *
   * @example
   * const c = client({ service: 'xmpp://127.0.0.1:5222', domain: 'localhost', username: 'alice', password: 'pw' });
   * await c.start();
   */
  export function client(options: XmppClientOptions): XmppClient;
}
