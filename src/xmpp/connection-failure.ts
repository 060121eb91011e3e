/**
 * Why the component connection failed or dropped, in words an operator can act on: the cause,
 * the state it puts the component in, and what to check. Pure: takes the error xmpp.js reported.
 */

export type FailureCause =
  | 'auth' // the server refused the handshake: wrong secret
  | 'conflict' // another connection holds the component's JID
  | 'unknown-component' // the server has no such component configured
  | 'wrong-port' // the port speaks another XMPP stream (c2s, s2s)
  | 'refused' // nothing listens there
  | 'unreachable' // name does not resolve, network unreachable
  | 'timeout' // no answer in time
  | 'closed' // the server closed the connection
  | 'stream-error' // any other stream error
  | 'error'; // anything else

export interface ConnectionFailure {
  cause: FailureCause;
  /** The state the component is in until the next attempt. */
  state: 'auth-failed' | 'conflict' | 'offline';
  /** One line: what happened. */
  message: string;
  /** What to check. */
  hint: string;
  /** The stream error condition, when there was one. */
  condition?: string;
  /** The server's or system's own words (stream error text, errno code). */
  detail?: string;
}

export interface ConnectionTarget {
  host: string;
  port: number;
  domain: string;
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  condition?: unknown;
  text?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Classifies an error from the connection (socket errors, StreamError, TimeoutError).
 *
 * @example
 * const f = describeFailure(err, { host: '127.0.0.1', port: 5347, domain: 'upload.example.org' });
 * log.error(f.message, { cause: f.cause, hint: f.hint });
 */
export function describeFailure(err: unknown, target: ConnectionTarget): ConnectionFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const where = `${target.host}:${target.port}`;
  const condition = str(e.condition);
  const detail = str(e.text) ?? str(e.code) ?? str(e.message);
  const withDetail = (f: ConnectionFailure): ConnectionFailure => {
    if (condition !== undefined) f.condition = condition;
    if (detail !== undefined) f.detail = detail;
    return f;
  };

  if (e.name === 'StreamError' && condition !== undefined) {
    switch (condition) {
      case 'not-authorized':
        return withDetail({
          cause: 'auth',
          state: 'auth-failed',
          message: `the XMPP server refused the component handshake for ${target.domain} (not-authorized)`,
          hint: `check that sharedSecret matches the secret the XMPP server has for ${target.domain} (Prosody: component_secret; ejabberd: the ejabberd_service listener's password)`,
        });
      case 'conflict':
        return withDetail({
          cause: 'conflict',
          state: 'conflict',
          message: `another connection already holds the component ${target.domain}`,
          hint: 'another fileupload node (or an old process) is connected as this component; this node retries and takes over when it drops',
        });
      case 'host-unknown':
      case 'improper-addressing':
      case 'host-gone':
        return withDetail({
          cause: 'unknown-component',
          state: 'offline',
          message: `the XMPP server at ${where} does not know the component ${target.domain} (${condition})`,
          hint: `configure it on the server (Prosody: Component "${target.domain}"; ejabberd: an ejabberd_service listener with hosts: ${target.domain}) or fix domain`,
        });
      case 'invalid-namespace':
      case 'unsupported-stanza-type':
        return withDetail({
          cause: 'wrong-port',
          state: 'offline',
          message: `${where} is not an XEP-0114 component port (${condition})`,
          hint: "xmppPort must be the server's component port (Prosody: component_ports, default 5347; ejabberd: the ejabberd_service listener), not c2s 5222 or s2s 5269",
        });
      default:
        return withDetail({
          cause: 'stream-error',
          state: 'offline',
          message: `the XMPP server closed the component stream: ${condition}`,
          hint: "see the XMPP server's log",
        });
    }
  }
  switch (e.code) {
    case 'ECONNREFUSED':
      return withDetail({
        cause: 'refused',
        state: 'offline',
        message: `nothing accepts connections at ${where}`,
        hint: 'check that the XMPP server runs and listens for components there (xmppHost, xmppPort)',
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return withDetail({
        cause: 'unreachable',
        state: 'offline',
        message: `cannot reach ${where}`,
        hint: 'check xmppHost (name resolution) and the network path to the XMPP server',
      });
    case 'ECONNRESET':
    case 'EPIPE':
      return withDetail({
        cause: 'closed',
        state: 'offline',
        message: `the connection to ${where} was reset`,
        hint: 'the XMPP server went away or dropped the connection; see its log',
      });
  }
  if (e.name === 'TimeoutError') {
    return withDetail({
      cause: 'timeout',
      state: 'offline',
      message: `no answer from ${where} in time`,
      hint: 'check that xmppPort is the component port and that nothing in between swallows the connection',
    });
  }
  if (e.name === 'ConnectionClosed') {
    return withDetail({
      cause: 'closed',
      state: 'offline',
      message: `the XMPP server at ${where} closed the connection`,
      hint: 'the XMPP server went away or restarted; see its log',
    });
  }
  return withDetail({
    cause: 'error',
    state: 'offline',
    message: `the connection to ${where} failed`,
    hint: 'see detail',
  });
}
