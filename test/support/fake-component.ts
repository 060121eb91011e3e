/**
 * A stand-in upload component on @xmpp/component for testing the test machinery itself (and
 * anything that needs "some component connected" without `serve`): it announces store/file with
 * the :0 feature and a max-file-size form, answers slot requests with fixed URLs, and answers
 * `bad-request` when the filename is missing.
 */
import { xml, type XmppClientElement as Element } from '@xmpp/client';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';

/** The bits of @xmpp/component used here (its declarations live in types/xmpp.d.ts, owned elsewhere). */
interface ComponentLike {
  start(): Promise<unknown>;
  stop(): Promise<void>;
  send(el: Element): Promise<void>;
  on(event: 'stanza', listener: (s: Element) => void): void;
  on(event: 'error', listener: (e: Error) => void): void;
  reconnect: { stop(): void };
}

export interface FakeComponent {
  /** Stanzas received so far. */
  received: Element[];
  stop(): Promise<void>;
}

/**
 * Connects a fake upload component to `server`.
 *
 * @example
 * const fake = await startFakeComponent(prosody, 1000);
 * after(() => fake.stop());
 */
export async function startFakeComponent(server: XmppTestServer, maxFileSize = 1000): Promise<FakeComponent> {
  // A computed specifier: typed here through ComponentLike, independent of the module declaration.
  const specifier: string = '@xmpp/component';
  const mod = (await import(specifier)) as {
    component(o: { service: string; domain: string; password: string }): ComponentLike;
  };
  const c = mod.component({
    service: `xmpp://127.0.0.1:${server.componentPort}`,
    domain: server.componentDomain,
    password: server.componentSecret,
  });
  const received: Element[] = [];
  c.on('error', () => {});
  c.on('stanza', (stanza) => {
    received.push(stanza);
    if (stanza.name !== 'iq' || stanza.attrs.type !== 'get') return;
    const reply = (type: string, ...children: Element[]) =>
      c.send(xml('iq', { type, id: stanza.attrs.id, to: stanza.attrs.from, from: stanza.attrs.to }, ...children));
    const payload = stanza.getChildElements()[0];
    if (payload?.is('query', 'http://jabber.org/protocol/disco#info')) {
      void reply(
        'result',
        xml(
          'query',
          { xmlns: 'http://jabber.org/protocol/disco#info' },
          xml('identity', { category: 'store', type: 'file', name: 'fake' }),
          xml('feature', { var: 'urn:xmpp:http:upload:0' }),
          xml(
            'x',
            { xmlns: 'jabber:x:data', type: 'result' },
            xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'urn:xmpp:http:upload:0')),
            xml('field', { var: 'max-file-size' }, xml('value', {}, String(maxFileSize))),
          ),
        ),
      );
    } else if (payload?.is('request', 'urn:xmpp:http:upload:0') && payload.attrs.filename) {
      void reply(
        'result',
        xml(
          'slot',
          { xmlns: 'urn:xmpp:http:upload:0' },
          xml('put', { url: 'http://127.0.0.1:1/put' }, xml('header', { name: 'Authorization' }, 'Bearer x')),
          xml('get', { url: 'http://127.0.0.1:1/get' }),
        ),
      );
    } else {
      void reply(
        'error',
        payload ?? xml('none'),
        xml(
          'error',
          { type: 'modify' },
          xml('bad-request', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }),
          xml('text', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }, 'fake says no'),
          xml('file-too-large', { xmlns: 'urn:xmpp:http:upload:0' }, xml('max-file-size', {}, String(maxFileSize))),
        ),
      );
    }
  });
  await c.start();
  return {
    received,
    async stop() {
      c.reconnect.stop();
      await c.stop().catch(() => {});
    },
  };
}
