/**
 * Check `xmpp`: the XMPP server is reachable on xmppHost:xmppPort and accepts the component
 * name and secret — by a real XEP-0114 handshake when serve is not running. When serve runs,
 * a second connection for the same component would be refused or would kick serve's, so its
 * live state (admin API) is reported instead, or only the stream is opened (no handshake).
 */
import { createHash } from 'node:crypto';
import { xml } from '@xmpp/component';
import { connectTcp, NS_STREAMS, StreamError, StreamTimeoutError, XmppStream } from './xmpp-stream.ts';
import { describeError, errorCode, fail, pass, warn, type CheckResult } from './result.ts';
import type { LiveXmpp } from './admin.ts';

/** This check's id in the report. */
export const CHECK = 'xmpp';

/** What one probe of the component port found. */
export type ComponentProbe =
  | { kind: 'accepted' }
  /** The stream was opened and no handshake was sent (serve is running). */
  | { kind: 'opened' }
  /** A stream error: at stream open (`stage: 'open'`) or in answer to the handshake. */
  | { kind: 'stream-error'; stage: 'open' | 'handshake'; condition: string; text: string | undefined }
  /** The port answered as a client (c2s) or server-to-server port: its stream namespace. */
  | { kind: 'not-component-port'; namespace: string }
  | { kind: 'unreachable'; code: string | undefined; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'unexpected'; message: string };

export interface ComponentTarget {
  host: string;
  port: number;
  domain: string;
}

/**
 * The XEP-0114 handshake value: hex SHA-1 of the stream id followed by the secret.
 *
 * @example
 * handshakeDigest('3BF96D32', 'secret'); // 40 hex digits
 */
export function handshakeDigest(streamId: string, secret: string): string {
  return createHash('sha1')
    .update(streamId + secret)
    .digest('hex');
}

/**
 * Connects to the component port, opens a `jabber:component:accept` stream for `domain` and,
 * with a secret, performs the handshake; then closes. Never throws.
 *
 * @example
 * const probe = await probeComponent({ host: 'localhost', port: 5275, domain: 'upload.example.org' }, 'secret', 3000);
 */
export async function probeComponent(
  target: ComponentTarget,
  secret: string | undefined,
  timeoutMs: number,
): Promise<ComponentProbe> {
  let stream: XmppStream | undefined;
  let stage: 'open' | 'handshake' = 'open';
  try {
    stream = new XmppStream(await connectTcp(target.host, target.port, timeoutMs), timeoutMs);
    const header = await stream.open(
      `<stream:stream xmlns='jabber:component:accept' xmlns:stream='${NS_STREAMS}' to='${xml.escapeXML(target.domain)}'>`,
    );
    // A c2s or s2s port opens its own kind of stream (and would then say it does not serve
    // the domain, which reads as an undeclared component).
    const namespace = header.attrs.xmlns;
    if (namespace === 'jabber:client' || namespace === 'jabber:server')
      return { kind: 'not-component-port', namespace };
    const id = header.attrs.id;
    if (id === undefined || id === '') {
      // Servers that refuse the domain open the stream without an id and send the error next.
      await stream.next('a stream error').catch((err: unknown) => {
        if (!(err instanceof StreamTimeoutError)) throw err;
      });
      return {
        kind: 'unexpected',
        message: 'the server opened the stream without an id: is this really a component port (XEP-0114)?',
      };
    }
    if (secret === undefined) return { kind: 'opened' };
    stage = 'handshake';
    stream.send(xml('handshake', {}, handshakeDigest(id, secret)));
    const answer = await stream.next('the handshake answer');
    if (answer.getName() === 'handshake') return { kind: 'accepted' };
    return { kind: 'unexpected', message: `the server answered the handshake with <${answer.getName()}/>` };
  } catch (err) {
    if (err instanceof StreamError) return { kind: 'stream-error', stage, condition: err.condition, text: err.text };
    if (err instanceof StreamTimeoutError) return { kind: 'timeout', message: err.message };
    const code = errorCode(err);
    if (stream !== undefined && code === undefined) return { kind: 'unexpected', message: describeError(err) };
    return { kind: 'unreachable', code, message: describeError(err) };
  } finally {
    stream?.close();
  }
}

const where = (t: ComponentTarget) => `${t.host}:${t.port}`;

/**
 * The verdict on a probe. Pure.
 *
 * @example
 * componentVerdict({ kind: 'stream-error', stage: 'handshake', condition: 'not-authorized', text: undefined }, target).status; // 'fail'
 */
export function componentVerdict(
  probe: ComponentProbe,
  target: ComponentTarget,
  configCli = 'fileupload',
): CheckResult {
  const at = where(target);
  switch (probe.kind) {
    case 'accepted':
      return pass(CHECK, `${at} accepted the handshake of component ${target.domain}`);
    case 'opened':
      return warn(
        CHECK,
        `${at} answers as a component port, but the secret was not tested: serve seems to be running and its admin API did not answer (a second handshake would disturb it)`,
        "enable serve's admin API (adminPort) so doctor can read its live connection state, or stop serve and run doctor again",
      );
    case 'not-component-port':
      return fail(
        CHECK,
        `${at} is the XMPP server's ${probe.namespace === 'jabber:client' ? 'client (c2s)' : 'server-to-server'} port, not its component port`,
        `set the component port (Prosody: component_ports, 5347 unless changed; ejabberd: the ejabberd_service listener): ${configCli} config set xmppPort PORT`,
      );
    case 'stream-error': {
      const text = probe.text ? ` (${probe.text})` : '';
      if (probe.condition === 'not-authorized') {
        return fail(
          CHECK,
          `${at} refused the component secret for ${target.domain}${text}`,
          `set the secret configured on the XMPP server: ${configCli} config set sharedSecret SECRET`,
        );
      }
      if (probe.condition === 'host-unknown' || probe.condition === 'improper-addressing') {
        return fail(
          CHECK,
          `${at} does not know a component named ${target.domain}${text}`,
          `declare it on the XMPP server (Prosody: Component "${target.domain}" with component_secret; ejabberd: ejabberd_service with hosts: ${target.domain}), or correct domain`,
        );
      }
      if (probe.condition === 'conflict') {
        return warn(
          CHECK,
          `${at} accepted the secret but another component is already connected as ${target.domain}${text}`,
          `stop the other component (another serve, or the XMPP server's own upload module on ${target.domain})`,
        );
      }
      return fail(
        CHECK,
        `${at} closed the ${probe.stage === 'open' ? 'stream' : 'handshake'} with ${probe.condition}${text}`,
        "look at the XMPP server's log for why it refused the component",
      );
    }
    case 'unreachable': {
      if (probe.code === 'ECONNREFUSED') {
        return fail(
          CHECK,
          `nothing listens on ${at} (connection refused)`,
          `start the XMPP server, or correct xmppHost/xmppPort (Prosody: component_ports, component_interfaces; ejabberd: an ejabberd_service listener)`,
        );
      }
      if (probe.code === 'ENOTFOUND' || probe.code === 'EAI_AGAIN') {
        return fail(
          CHECK,
          `${target.host} does not resolve (${probe.code})`,
          `correct xmppHost: ${configCli} config set xmppHost HOST`,
        );
      }
      return fail(
        CHECK,
        `cannot connect to ${at}: ${probe.message}`,
        'check xmppHost/xmppPort and any firewall in between',
      );
    }
    case 'timeout':
      return fail(
        CHECK,
        `${at}: ${probe.message}`,
        'check xmppHost/xmppPort, that the port is the component port (not c2s/s2s), and any firewall dropping packets',
      );
    case 'unexpected':
      return fail(
        CHECK,
        `${at}: ${probe.message}`,
        "check that xmppPort is the XMPP server's component (XEP-0114) port",
      );
  }
}

/**
 * The verdict from serve's live state (states as in src/status/snapshot.ts); `probe` (a stream
 * open without handshake) adds whether the server is reachable at all when serve is not
 * connected. Pure.
 *
 * @example
 * liveVerdict({ state: 'online' }, undefined, target).status; // 'pass'
 */
export function liveVerdict(
  live: LiveXmpp,
  probe: ComponentProbe | undefined,
  target: ComponentTarget,
  configCli = 'fileupload',
): CheckResult {
  const at = where(target);
  const why = live.lastError ? ` (${live.lastError})` : '';
  switch (live.state) {
    case 'online':
      return pass(CHECK, `serve is connected to ${at} as ${target.domain} (live state from serve)`);
    case 'standby':
      return pass(CHECK, `serve is on standby: another node holds the component connection for ${target.domain}${why}`);
    case 'auth-failed':
      return fail(
        CHECK,
        `serve's handshake with ${at} as ${target.domain} was refused${why}`,
        `set the secret configured on the XMPP server: ${configCli} config set sharedSecret SECRET, then restart serve`,
      );
    case 'conflict':
      return fail(
        CHECK,
        `${at} refused serve: another component is already connected as ${target.domain}${why}`,
        `stop the other component (another serve, or the XMPP server's own upload module on ${target.domain})`,
      );
  }
  const base = `serve is not connected to the XMPP server (state ${live.state}${why})`;
  if (probe !== undefined && probe.kind !== 'opened') {
    const v = componentVerdict(probe, target, configCli);
    return fail(CHECK, `${base}; ${v.message}`, v.fix ?? "look at serve's log");
  }
  return fail(
    CHECK,
    `${base}; ${at} answers as a component port`,
    "look at serve's log (journalctl -u fileupload) for why it cannot connect; serve keeps retrying",
  );
}
