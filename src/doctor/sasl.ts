/**
 * SASL client mechanisms for doctor's c2s login: SCRAM-SHA-1 (RFC 5802; preferred, the password
 * never crosses the wire) and PLAIN (RFC 4616). Pure functions over strings; base64 is the
 * caller's business.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The PLAIN message: authzid (empty) NUL authcid NUL password.
 *
 * @example
 * plainMessage('alice', 'pw'); // '\0alice\0pw'
 */
export function plainMessage(user: string, password: string): string {
  return `\0${user}\0${password}`;
}

/** SCRAM's escaping of a user name (RFC 5802 §5.1). */
function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function attrs(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** The client side of one SCRAM-SHA-1 exchange. */
export interface ScramClient {
  /** client-first-message (send as the initial response). */
  first: string;
  /** client-final-message for the server's challenge; throws on a malformed or unsafe challenge. */
  final(serverFirst: string): string;
  /** Checks the server's signature in its final message (the server proves it knows the password too). */
  verify(serverFinal: string): boolean;
}

/**
 * Starts a SCRAM-SHA-1 exchange (no channel binding).
 *
 * @example
 * const scram = scramSha1('alice', 'pw');
 * send(scram.first); const reply = scram.final(challenge); send(reply); scram.verify(successData);
 */
export function scramSha1(
  user: string,
  password: string,
  clientNonce = randomBytes(18).toString('base64'),
): ScramClient {
  const firstBare = `n=${saslName(user)},r=${clientNonce}`;
  const gs2 = 'n,,';
  let serverSignature: Buffer | undefined;
  const hmac = (key: Buffer, text: string) => createHmac('sha1', key).update(text).digest();
  return {
    first: gs2 + firstBare,
    final(serverFirst: string): string {
      const a = attrs(serverFirst);
      const nonce = a.get('r');
      const salt = a.get('s');
      const iterations = Number(a.get('i'));
      if (nonce === undefined || salt === undefined || !Number.isSafeInteger(iterations))
        throw new Error('malformed SCRAM challenge');
      if (!nonce.startsWith(clientNonce)) throw new Error('SCRAM challenge does not extend our nonce');
      if (iterations < 1 || iterations > 1_000_000) throw new Error(`SCRAM iteration count ${iterations} refused`);
      const salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), iterations, 20, 'sha1');
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash('sha1').update(clientKey).digest();
      const finalBare = `c=${Buffer.from(gs2).toString('base64')},r=${nonce}`;
      const authMessage = `${firstBare},${serverFirst},${finalBare}`;
      const clientSignature = hmac(storedKey, authMessage);
      const proof = Buffer.alloc(clientKey.length);
      for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
      serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      return `${finalBare},p=${proof.toString('base64')}`;
    },
    verify(serverFinal: string): boolean {
      const v = attrs(serverFinal).get('v');
      if (v === undefined || serverSignature === undefined) return false;
      const given = Buffer.from(v, 'base64');
      return given.length === serverSignature.length && timingSafeEqual(given, serverSignature);
    },
  };
}
