/**
 * A minimal XMPP client session for `doctor --as`: TCP, STARTTLS when offered, SASL
 * (SCRAM-SHA-1, else PLAIN), resource binding, then IQs one at a time. Enough to walk the path a
 * user's client takes to an upload slot, and nothing more.
 */
import { randomBytes } from 'node:crypto';
import { xml } from '@xmpp/component';
import type { Element } from '../xmpp/xml.ts';
import { connectTcp, NS_STREAMS, StreamError, XmppStream } from './xmpp-stream.ts';
import { plainMessage, scramSha1 } from './sasl.ts';
import { describeError, errorCode } from './result.ts';

export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** Where a login failed. */
export type LoginStep = 'connect' | 'stream' | 'starttls' | 'auth' | 'bind';

/**
 * The login failed at `step`; `condition` is the SASL/stream condition when there was one.
 *
 * @example
 * catch (err) { if (err instanceof LoginError && err.step === 'auth') console.log(err.condition); }
 */
export class LoginError extends Error {
  readonly step: LoginStep;
  readonly condition: string | undefined;
  readonly code: string | undefined;
  constructor(step: LoginStep, message: string, options: { condition?: string; code?: string } = {}) {
    super(message);
    this.name = 'LoginError';
    this.step = step;
    this.condition = options.condition;
    this.code = options.code;
  }
}

export interface LoginOptions {
  /** Local part and domain of the bare JID. */
  local: string;
  domain: string;
  password: string;
  /** Where to connect (c2s). */
  host: string;
  port: number;
  timeoutMs: number;
  /** Verify the server's certificate after STARTTLS (default true). */
  verifyTls?: boolean;
}

/** An IQ answer: result, or error with its type and condition. */
export type IqAnswer =
  | { type: 'result'; stanza: Element }
  | { type: 'error'; stanza: Element; errorType: string; condition: string; text: string | undefined };

/** A logged-in session. */
export interface C2sSession {
  /** The bound full JID. */
  jid: string;
  /** How it logged in, e.g. "SCRAM-SHA-1 over TLS". */
  how: string;
  /** Sends an IQ and waits for its answer. */
  iq(type: 'get' | 'set', to: string, payload: Element): Promise<IqAnswer>;
  close(): void;
}

/**
 * Reads a stanza error's type and condition.
 *
 * @example
 * stanzaError(iq).condition; // 'forbidden'
 */
export function stanzaError(stanza: Element): { errorType: string; condition: string; text: string | undefined } {
  const error = stanza.getChild('error');
  const children = error?.getChildElements() ?? [];
  const condition =
    children.find((c) => c.getName() !== 'text' && c.attrs.xmlns === NS_STANZAS)?.getName() ?? 'undefined-condition';
  const text = children.find((c) => c.getName() === 'text')?.getText();
  return { errorType: error?.attrs.type ?? '', condition, text };
}

function header(domain: string): string {
  return `<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAMS}' to='${xml.escapeXML(domain)}' version='1.0' xml:lang='en'>`;
}

async function step<T>(name: LoginStep, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof LoginError) throw err;
    if (err instanceof StreamError) throw new LoginError(name, err.message, { condition: err.condition });
    throw new LoginError(name, describeError(err), { code: errorCode(err) });
  }
}

/**
 * Logs in as local@domain and binds a resource.
 *
 * @example
 * const s = await loginC2s({ local: 'alice', domain: 'example.org', password: 'pw', host: 'example.org', port: 5222, timeoutMs: 4000 });
 * const items = await s.iq('get', 'example.org', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }));
 * s.close();
 */
export async function loginC2s(o: LoginOptions): Promise<C2sSession> {
  const socket = await step('connect', () => connectTcp(o.host, o.port, o.timeoutMs));
  const stream = new XmppStream(socket, o.timeoutMs);
  try {
    let features = await step('stream', async () => {
      await stream.open(header(o.domain));
      return stream.next('stream features');
    });
    if (features.getChild('starttls', NS_TLS)) {
      features = await step('starttls', async () => {
        stream.send(xml('starttls', { xmlns: NS_TLS }));
        const answer = await stream.next('the STARTTLS answer');
        if (answer.getName() !== 'proceed') throw new Error(`the server answered STARTTLS with <${answer.getName()}/>`);
        await stream.startTls(o.domain, o.verifyTls ?? true);
        await stream.open(header(o.domain));
        return stream.next('stream features');
      });
    }
    const mechanism = await step('auth', async () => {
      const offered = (features.getChild('mechanisms', NS_SASL)?.getChildren('mechanism') ?? []).map((m) =>
        m.getText().trim(),
      );
      const choice = offered.includes('SCRAM-SHA-1') ? 'SCRAM-SHA-1' : offered.includes('PLAIN') ? 'PLAIN' : undefined;
      if (choice === undefined) {
        throw new LoginError(
          'auth',
          `the server offers no mechanism doctor speaks (offered: ${offered.join(', ') || 'none'}; doctor speaks SCRAM-SHA-1 and PLAIN)${stream.encrypted ? '' : '; servers usually offer more after STARTTLS'}`,
        );
      }
      const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
      const unb64 = (el: Element) => Buffer.from(el.getText(), 'base64').toString('utf8');
      const failure = (el: Element): never => {
        const condition =
          el
            .getChildElements()
            .find((c) => c.getName() !== 'text')
            ?.getName() ?? 'failure';
        const text = el.getChildText('text') ?? undefined;
        throw new LoginError('auth', `authentication failed: ${condition}${text ? ` (${text})` : ''}`, { condition });
      };
      if (choice === 'PLAIN') {
        stream.send(xml('auth', { xmlns: NS_SASL, mechanism: 'PLAIN' }, b64(plainMessage(o.local, o.password))));
        const answer = await stream.next('the authentication answer');
        if (answer.getName() !== 'success') failure(answer);
        return choice;
      }
      const scram = scramSha1(o.local, o.password);
      stream.send(xml('auth', { xmlns: NS_SASL, mechanism: 'SCRAM-SHA-1' }, b64(scram.first)));
      const challenge = await stream.next('the SCRAM challenge');
      if (challenge.getName() !== 'challenge') failure(challenge);
      stream.send(xml('response', { xmlns: NS_SASL }, b64(scram.final(unb64(challenge)))));
      let answer = await stream.next('the authentication answer');
      // Some servers send the server-final message as a challenge, then success.
      if (answer.getName() === 'challenge') {
        const serverFinal = unb64(answer);
        stream.send(xml('response', { xmlns: NS_SASL }));
        answer = await stream.next('the authentication answer');
        if (answer.getName() === 'success' && !scram.verify(serverFinal))
          throw new LoginError('auth', 'the server could not prove it knows the password (SCRAM signature mismatch)');
      } else if (answer.getName() === 'success' && answer.getText() !== '' && !scram.verify(unb64(answer))) {
        throw new LoginError('auth', 'the server could not prove it knows the password (SCRAM signature mismatch)');
      }
      if (answer.getName() !== 'success') failure(answer);
      return choice;
    });

    let n = 0;
    const nextId = () => `doctor-${++n}-${randomBytes(3).toString('hex')}`;
    const iq = async (type: 'get' | 'set', to: string | undefined, payload: Element): Promise<IqAnswer> => {
      const id = nextId();
      stream.send(xml('iq', { type, id, ...(to !== undefined ? { to } : {}) }, payload));
      const answer = await stream.nextMatching(
        `the answer to <${payload.getName()} xmlns='${payload.attrs.xmlns ?? ''}'/>${to ? ` sent to ${to}` : ''}`,
        (el) =>
          el.getName() === 'iq' && el.attrs.id === id && (el.attrs.type === 'result' || el.attrs.type === 'error'),
        (el) => {
          // Be a polite client: IQs addressed to us get an error, not silence.
          if (el.getName() === 'iq' && (el.attrs.type === 'get' || el.attrs.type === 'set')) {
            stream.send(
              xml(
                'iq',
                { type: 'error', id: el.attrs.id, to: el.attrs.from },
                xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: NS_STANZAS })),
              ),
            );
          }
        },
      );
      if (answer.attrs.type === 'result') return { type: 'result', stanza: answer };
      return { type: 'error', stanza: answer, ...stanzaError(answer) };
    };

    const jid = await step('bind', async () => {
      await stream.open(header(o.domain));
      const f = await stream.next('stream features');
      if (!f.getChild('bind', NS_BIND)) throw new LoginError('bind', 'the server offers no resource binding');
      const bound = await iq(
        'set',
        undefined,
        xml('bind', { xmlns: NS_BIND }, xml('resource', {}, `doctor-${randomBytes(4).toString('hex')}`)),
      );
      if (bound.type === 'error')
        throw new LoginError('bind', `resource binding failed: ${bound.condition}`, { condition: bound.condition });
      const full = bound.stanza.getChild('bind', NS_BIND)?.getChildText('jid');
      if (!full) throw new LoginError('bind', 'the server bound no JID');
      const session = f.getChild('session', NS_SESSION);
      if (session && !session.getChild('optional')) {
        const s = await iq('set', undefined, xml('session', { xmlns: NS_SESSION }));
        if (s.type === 'error')
          throw new LoginError('bind', `session establishment failed: ${s.condition}`, { condition: s.condition });
      }
      return full;
    });

    return {
      jid,
      how: `${mechanism}${stream.encrypted ? ' over TLS' : ' without TLS'}`,
      iq: (type, to, payload) => iq(type, to, payload),
      close: () => stream.close(),
    };
  } catch (err) {
    stream.close();
    throw err;
  }
}
