/**
 * A real XMPP user for end-to-end tests, on @xmpp/client over plain c2s: log in, walk
 * disco#items → disco#info to the upload service as clients do, and send slot requests of any
 * namespace and shape — including malformed ones — returning the parsed slot or stanza error.
 */
import { createRequire } from 'node:module';
import { client, xml, type XmppClient, type XmppClientElement } from '@xmpp/client';

export type Element = XmppClientElement;

/** XEP-0363 namespaces: current, legacy (≤ 0.2), and the Conversations one. */
export const NS_UPLOAD_0 = 'urn:xmpp:http:upload:0';
export const NS_UPLOAD_LEGACY = 'urn:xmpp:http:upload';
export const NS_UPLOAD_SIACS = 'eu:siacs:conversations:http:upload';
export const UPLOAD_NAMESPACES = [NS_UPLOAD_0, NS_UPLOAD_LEGACY, NS_UPLOAD_SIACS] as const;
/** Other namespaces the tests look at. */
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_DATA = 'jabber:x:data';

// @xmpp/client 0.13.6 with sasl-scram-sha-1 1.4 (whose response() became async) sends an empty
// SCRAM response and the server answers malformed-request. Renaming the mechanism makes the
// client skip it and log in with PLAIN, which the test servers allow on loopback.
{
  const requireFromSasl = createRequire(createRequire(import.meta.url).resolve('@xmpp/sasl-scram-sha-1'));
  const scram = requireFromSasl('sasl-scram-sha-1') as { prototype: { name: string } };
  scram.prototype.name = 'X-SCRAM-SHA-1-UNUSABLE';
}

/** A stanza error as a test wants to look at it. */
export interface StanzaErrorInfo {
  /** error/@type: cancel, modify, auth, wait, continue. */
  type: string;
  /** The RFC 6120 condition element's name, e.g. bad-request. */
  condition: string;
  text: string | undefined;
  /** Application-specific children (neither the condition nor <text/>). */
  extra: Element[];
  /** From <file-too-large><max-file-size> (any upload namespace). */
  maxFileSize: number | undefined;
  /** From <retry stamp='…'/>. */
  retryStamp: string | undefined;
}

export type IqAnswer = { type: 'result'; stanza: Element } | { type: 'error'; stanza: Element; error: StanzaErrorInfo };

export interface DiscoInfo {
  identities: Array<{ category: string; type: string; name: string | undefined }>;
  features: string[];
  /** XEP-0128 forms by FORM_TYPE: field var → values. */
  forms: Map<string, Map<string, string[]>>;
}

export interface SlotRequestSpec {
  /** Any namespace, also unknown ones. */
  namespace: string;
  /** Attributes on <request/> (XEP-0363 :0) or child elements (legacy). */
  shape: 'attributes' | 'children';
  /** Left out of the request when undefined. */
  filename?: string;
  size?: number | string;
  contentType?: string;
  /** XEP-0363 1.2 purpose child. */
  purpose?: { name: string; expireBefore?: string };
  /** IQ type; slot requests are get. */
  iqType?: 'get' | 'set';
  /** Element name instead of request (legacy draft versions used others). */
  elementName?: string;
}

export type SlotOutcome =
  | {
      ok: true;
      put: string;
      get: string;
      /** <header name=…> children of <put> (XEP-0363 :0 only). */
      headers: Record<string, string>;
      /** How the answer carried the URLs: url attributes (:0) or element text (legacy). */
      answerShape: 'attributes' | 'text';
      /** The <slot> element's namespace. */
      namespace: string;
      stanza: Element;
    }
  | { ok: false; error: StanzaErrorInfo; stanza: Element };

/**
 * Reads the error child of an IQ error.
 *
 * @example
 * const info = parseStanzaError(stanza.getChild('error')!);
 */
export function parseStanzaError(error: Element): StanzaErrorInfo {
  const children = error.getChildElements();
  const condition = children.find((c) => c.attrs.xmlns === NS_STANZAS && c.name !== 'text');
  const text = children.find((c) => c.attrs.xmlns === NS_STANZAS && c.name === 'text');
  const extra = children.filter((c) => c.attrs.xmlns !== NS_STANZAS);
  let maxFileSize: number | undefined;
  let retryStamp: string | undefined;
  for (const el of extra) {
    if (el.name === 'file-too-large') {
      const max = el.getChildElements().find((c) => c.name === 'max-file-size');
      if (max) maxFileSize = Number(max.text());
    }
    if (el.name === 'retry') retryStamp = el.attrs.stamp;
  }
  return {
    type: error.attrs.type ?? '',
    condition: condition?.name ?? '',
    text: text?.text(),
    extra,
    maxFileSize,
    retryStamp,
  };
}

/**
 * Reads a disco#info <query/>.
 *
 * @example
 * const info = parseDiscoInfo(answer.stanza.getChild('query', NS_DISCO_INFO)!);
 */
export function parseDiscoInfo(query: Element): DiscoInfo {
  const identities = query.getChildren('identity').map((i) => ({
    category: i.attrs.category ?? '',
    type: i.attrs.type ?? '',
    name: i.attrs.name,
  }));
  const features = query.getChildren('feature').map((f) => f.attrs.var ?? '');
  const forms = new Map<string, Map<string, string[]>>();
  for (const x of query.getChildren('x', NS_DATA)) {
    const fields = new Map<string, string[]>();
    for (const field of x.getChildren('field')) {
      fields.set(
        field.attrs.var ?? '',
        field.getChildren('value').map((v) => v.text()),
      );
    }
    forms.set(fields.get('FORM_TYPE')?.[0] ?? '', fields);
  }
  return { identities, features, forms };
}

/**
 * Builds a slot request payload (well-formed or not: fields left undefined are left out).
 *
 * @example
 * slotRequestElement({ namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a.txt', size: 5 })
 */
export function slotRequestElement(spec: SlotRequestSpec): Element {
  const name = spec.elementName ?? 'request';
  const purpose = spec.purpose
    ? xml(
        'purpose',
        { xmlns: 'urn:xmpp:http:upload:purpose:0' },
        xml(spec.purpose.name, { 'expire-before': spec.purpose.expireBefore }),
      )
    : undefined;
  if (spec.shape === 'attributes') {
    return xml(
      name,
      {
        xmlns: spec.namespace,
        filename: spec.filename,
        size: spec.size === undefined ? undefined : String(spec.size),
        'content-type': spec.contentType,
      },
      purpose,
    );
  }
  return xml(
    name,
    { xmlns: spec.namespace },
    spec.filename === undefined ? undefined : xml('filename', {}, spec.filename),
    spec.size === undefined ? undefined : xml('size', {}, String(spec.size)),
    spec.contentType === undefined ? undefined : xml('content-type', {}, spec.contentType),
    purpose,
  );
}

/**
 * Reads a slot answer in whatever shape it came: <put url=…/> (:0) or <put>URL</put> (legacy).
 * Returns undefined when the result carries no slot.
 *
 * @example
 * const slot = parseSlot(answer.stanza);
 */
export function parseSlot(stanza: Element): Extract<SlotOutcome, { ok: true }> | undefined {
  const slot = stanza.getChildElements().find((c) => c.name === 'slot');
  if (!slot) return undefined;
  const put = slot.getChild('put');
  const get = slot.getChild('get');
  if (!put || !get) return undefined;
  const byAttr = put.attrs.url !== undefined && get.attrs.url !== undefined;
  const headers: Record<string, string> = {};
  for (const h of put.getChildren('header')) headers[h.attrs.name ?? ''] = h.text();
  return {
    ok: true,
    put: byAttr ? (put.attrs.url ?? '') : put.text().trim(),
    get: byAttr ? (get.attrs.url ?? '') : get.text().trim(),
    headers,
    answerShape: byAttr ? 'attributes' : 'text',
    namespace: slot.attrs.xmlns ?? '',
    stanza,
  };
}

export interface ConnectOptions {
  /** c2s port on 127.0.0.1. */
  port: number;
  /** The user's domain (virtual host). */
  domain: string;
  username: string;
  password: string;
  resource?: string;
  /** Where to connect; default 127.0.0.1. */
  address?: string;
  /** Login timeout; default 15 s. */
  timeoutMs?: number;
}

/** A logged-in user. */
export interface UserSession {
  /** Full JID after resource binding. */
  jid: string;
  /** The underlying @xmpp/client instance. */
  raw: XmppClient;
  /** Sends an IQ and resolves with its result or error (rejects only on timeout or disconnect). */
  iq(to: string, type: 'get' | 'set', payload: Element, timeoutMs?: number): Promise<IqAnswer>;
  discoItems(to: string): Promise<string[]>;
  discoInfo(to: string): Promise<DiscoInfo>;
  /** Walks disco#items of the user's server → disco#info of each item, as clients do. */
  findUploadService(): Promise<UploadService | undefined>;
  requestSlot(to: string, spec: SlotRequestSpec, timeoutMs?: number): Promise<SlotOutcome>;
  close(): Promise<void>;
}

export interface UploadService {
  jid: string;
  info: DiscoInfo;
  /** max-file-size of the urn:xmpp:http:upload:0 form, if announced. */
  maxFileSize: number | undefined;
}

/**
 * Logs a user in over plain c2s (no TLS; PLAIN, see the SCRAM note above).
 *
 * @example
 * const alice = await connectUser({ port: prosody.c2sPort, domain: 'localhost', username: 'alice', password: 'pw' });
 * after(() => alice.close());
 * const service = await alice.findUploadService();
 * const slot = await alice.requestSlot(service!.jid, { namespace: NS_UPLOAD_0, shape: 'attributes', filename: 'a.bin', size: 3 });
 */
export async function connectUser(options: ConnectOptions): Promise<UserSession> {
  const raw = client({
    service: `xmpp://${options.address ?? '127.0.0.1'}:${options.port}`,
    domain: options.domain,
    username: options.username,
    password: options.password,
    resource: options.resource ?? `test-${Math.random().toString(36).slice(2, 8)}`,
  });
  const errors: Error[] = [];
  // Without a listener an 'error' event would crash the test process.
  raw.on('error', (err) => errors.push(err));
  const pending = new Map<string, (stanza: Element) => void>();
  raw.on('stanza', (stanza) => {
    if (stanza.name !== 'iq' || (stanza.attrs.type !== 'result' && stanza.attrs.type !== 'error')) return;
    const id = stanza.attrs.id;
    const resolve = id === undefined ? undefined : pending.get(id);
    if (id !== undefined && resolve) {
      pending.delete(id);
      resolve(stanza);
    }
  });
  let jid;
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = options.timeoutMs ?? 15_000;
  try {
    jid = await Promise.race([
      raw.start(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no session within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    raw.reconnect.stop();
    void raw.stop().catch(() => {});
    throw new Error(`login of ${options.username}@${options.domain} failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  let counter = 0;

  const iq: UserSession['iq'] = async (to, type, payload, timeoutMs = 10_000) => {
    const id = `t${++counter}-${Math.random().toString(36).slice(2, 8)}`;
    const answered = new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`no answer from ${to} within ${timeoutMs} ms to ${payload.toString()}`));
      }, timeoutMs);
      pending.set(id, (stanza) => {
        clearTimeout(timer);
        resolve(stanza);
      });
    });
    await raw.send(xml('iq', { type, to, id }, payload));
    const stanza = await answered;
    if (stanza.attrs.type === 'error') {
      const error = stanza.getChild('error');
      return {
        type: 'error',
        stanza,
        error: error
          ? parseStanzaError(error)
          : { type: '', condition: '', text: undefined, extra: [], maxFileSize: undefined, retryStamp: undefined },
      };
    }
    return { type: 'result', stanza };
  };

  const expectResult = (answer: IqAnswer, what: string): Element => {
    if (answer.type === 'error')
      throw new Error(`${what}: ${answer.error.type}/${answer.error.condition} ${answer.error.text ?? ''}`);
    return answer.stanza;
  };

  const discoItems = async (to: string) => {
    const stanza = expectResult(await iq(to, 'get', xml('query', { xmlns: NS_DISCO_ITEMS })), `disco#items of ${to}`);
    return (
      stanza
        .getChild('query', NS_DISCO_ITEMS)
        ?.getChildren('item')
        .map((i) => i.attrs.jid ?? '') ?? []
    );
  };
  const discoInfo = async (to: string) => {
    const stanza = expectResult(await iq(to, 'get', xml('query', { xmlns: NS_DISCO_INFO })), `disco#info of ${to}`);
    const query = stanza.getChild('query', NS_DISCO_INFO);
    if (!query) throw new Error(`disco#info of ${to}: no query in ${stanza.toString()}`);
    return parseDiscoInfo(query);
  };

  return {
    jid: jid.toString(),
    raw,
    iq,
    discoItems,
    discoInfo,
    async findUploadService() {
      for (const item of await discoItems(options.domain)) {
        // An unreachable item (a component that is not connected) answers an error: skip it.
        let info: DiscoInfo;
        try {
          info = await discoInfo(item);
        } catch {
          continue;
        }
        const isStore = info.identities.some((i) => i.category === 'store' && i.type === 'file');
        if (isStore && UPLOAD_NAMESPACES.some((ns) => info.features.includes(ns))) {
          const max = info.forms.get(NS_UPLOAD_0)?.get('max-file-size')?.[0];
          return { jid: item, info, maxFileSize: max === undefined ? undefined : Number(max) };
        }
      }
      return undefined;
    },
    async requestSlot(to, spec, timeoutMs) {
      const answer = await iq(to, spec.iqType ?? 'get', slotRequestElement(spec), timeoutMs);
      if (answer.type === 'error') return { ok: false, error: answer.error, stanza: answer.stanza };
      const slot = parseSlot(answer.stanza);
      if (!slot) throw new Error(`slot answer without put/get: ${answer.stanza.toString()}`);
      return slot;
    },
    async close() {
      raw.reconnect.stop();
      for (const [, resolve] of pending) resolve(xml('iq', { type: 'error' }));
      pending.clear();
      try {
        await raw.stop();
      } catch {
        // Already disconnected (the server went away).
      }
    },
  };
}
