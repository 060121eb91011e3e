/**
 * Check `tls`: built-in HTTPS has a readable certificate and key that belong together, is valid
 * now and for at least two more weeks, and names the announced host. Without built-in TLS it
 * says whether clients will accept the announced URLs at all (Gajim refuses http:// slots).
 * It fails when https is announced for webPort itself while serve has no TLS (plain HTTP there).
 * The files are read by readTlsFiles; tlsVerdict is pure. explainTlsFailure turns the TLS errors
 * of doctor's own connections into words.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { plainHttpsMismatch, PLAIN_HTTPS_FIX } from '../config/plain-https.ts';
import { describeError, fail, pass, skip, warn, type CheckResult } from './result.ts';

/** This check's id in the report. */
export const CHECK = 'tls';

/** Warn when the certificate expires within this many days. */
export const EXPIRY_WARN_DAYS = 14;
const DAY_MS = 86_400_000;

/** The contents of one configured PEM file, or why it could not be read. */
export type PemFile = { path: string; text: string } | { path: string; error: string };

export interface TlsInput {
  protocol: 'http' | 'https';
  /** announcedWebHost. */
  host: string;
  /** announcedWebPort. */
  port: number;
  /** The port serve listens on. */
  webPort: number;
  /** Undefined when built-in TLS is off. */
  certificate: PemFile | undefined;
  key: PemFile | undefined;
  /** ms since epoch. */
  now: number;
}

/**
 * Reads the configured certificate and key files (a missing or unreadable file is recorded, not thrown).
 *
 * @example
 * const files = await readTlsFiles(settings.tlsCertificate, settings.tlsKey);
 */
export async function readTlsFiles(
  certificatePath: string | undefined,
  keyPath: string | undefined,
): Promise<{ certificate: PemFile | undefined; key: PemFile | undefined }> {
  const read = async (path: string | undefined): Promise<PemFile | undefined> => {
    if (path === undefined) return undefined;
    try {
      return { path, text: await readFile(path, 'utf8') };
    } catch (err) {
      return { path, error: describeError(err) };
    }
  };
  const [certificate, key] = await Promise.all([read(certificatePath), read(keyPath)]);
  return { certificate, key };
}

/**
 * The verdict on built-in TLS. Pure (given the file contents and the time).
 *
 * @example
 * tlsVerdict({ protocol: 'https', host: 'upload.example.org', port: 443, webPort: 7443, certificate, key, now: Date.now() });
 */
export function tlsVerdict(input: TlsInput): CheckResult {
  const { certificate, key, host, now } = input;
  if (certificate === undefined || key === undefined) {
    if (input.protocol === 'http') {
      return warn(
        CHECK,
        'slot URLs are announced as plain http://: XEP-0363 requires TLS and clients such as Gajim refuse them',
        'terminate TLS in a reverse proxy and set announcedWebProtocol https (with its announcedWebPort), or set tlsCertificate and tlsKey',
      );
    }
    const mismatch = plainHttpsMismatch({
      announcedWebProtocol: input.protocol,
      announcedWebHost: host,
      announcedWebPort: input.port,
      webPort: input.webPort,
      tlsCertificate: certificate?.path,
      tlsKey: key?.path,
    });
    if (mismatch !== undefined) return fail(CHECK, mismatch, PLAIN_HTTPS_FIX);
    return skip(
      CHECK,
      'built-in TLS is off: https is expected to be terminated by a reverse proxy (the announced-url check goes through it)',
    );
  }
  const reload = 'then reload serve (systemctl reload fileupload, or kill -HUP its pid): it re-reads both files';
  if ('error' in certificate)
    return fail(
      CHECK,
      `cannot read tlsCertificate ${certificate.path}: ${certificate.error}`,
      `make it readable by the user serve runs as, ${reload}`,
    );
  if ('error' in key)
    return fail(
      CHECK,
      `cannot read tlsKey ${key.path}: ${key.error}`,
      `make it readable by the user serve runs as, ${reload}`,
    );

  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate.text);
  } catch (err) {
    return fail(
      CHECK,
      `tlsCertificate ${certificate.path} is not a PEM certificate: ${describeError(err)}`,
      `point tlsCertificate at the PEM certificate chain (leaf first), ${reload}`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key.text);
  } catch (err) {
    return fail(
      CHECK,
      `tlsKey ${key.path} is not a usable PEM private key: ${describeError(err)}`,
      `point tlsKey at the unencrypted PEM private key, ${reload}`,
    );
  }
  if (!cert.checkPrivateKey(privateKey)) {
    return fail(
      CHECK,
      `tlsKey ${key.path} is not the private key of the certificate in ${certificate.path}`,
      `configure the key that belongs to the certificate, ${reload}`,
    );
  }
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  const subject = cert.subject.replace(/\n/g, ', ');
  if (now < from) {
    return fail(
      CHECK,
      `the certificate (${subject}) is not valid before ${new Date(from).toISOString()}`,
      'check the clock of this machine, or use a certificate that is valid now',
    );
  }
  if (now > to) {
    return fail(
      CHECK,
      `the certificate (${subject}) expired on ${new Date(to).toISOString()}`,
      `renew it (e.g. certbot renew), ${reload}`,
    );
  }
  const daysLeft = Math.floor((to - now) / DAY_MS);
  const matches = isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
  if (!matches) {
    return warn(
      CHECK,
      `the certificate (${subject}) does not name the announced host ${host}: clients will refuse the slot URLs`,
      `use a certificate for ${host} (or correct announcedWebHost), ${reload}`,
    );
  }
  if (daysLeft < EXPIRY_WARN_DAYS) {
    return warn(
      CHECK,
      `the certificate expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'} (${new Date(to).toISOString()})`,
      `renew it soon (e.g. certbot renew), ${reload}`,
    );
  }
  if (cert.issuer === cert.subject && cert.verify(cert.publicKey)) {
    return warn(
      CHECK,
      `the certificate for ${host} is self-signed: clients will refuse the slot URLs unless they trust it`,
      `use a certificate from a CA clients trust (e.g. Let's Encrypt), ${reload}`,
    );
  }
  return pass(CHECK, `certificate for ${host} matches its key, valid for ${daysLeft} more days`);
}

/** Node's codes for a certificate chain that ends at a CA this process does not trust. */
const UNKNOWN_CA_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/**
 * True for the codes of a certificate chain that ends at a CA this process does not trust (self-signed included).
 *
 * @example
 * untrustedCa('DEPTH_ZERO_SELF_SIGNED_CERT'); // true
 */
export function untrustedCa(code: string | undefined): boolean {
  return code !== undefined && UNKNOWN_CA_CODES.has(code);
}

/** How doctor is told to trust a private CA: the single binary takes no Node options, but this variable. */
export const EXTRA_CA_FIX =
  'if the certificate is from a private CA (or self-signed) on purpose, run doctor with NODE_EXTRA_CA_CERTS=/path/ca.pem (clients must trust it too); else serve a certificate from a public CA';

/**
 * The TLS failure of a connection to `hostPort` in words, from the error's code and message, or
 * undefined when it is not a TLS failure. Pure.
 *
 * @example
 * explainTlsFailure({ code: 'EPROTO', error: '…:ssl3_get_record:wrong version number…' }, 'upload.example.org:443');
 * // { message: 'upload.example.org:443 answers plain HTTP, not TLS', fix: '…' }
 */
export function explainTlsFailure(
  failure: { code: string | undefined; error: string; certNames?: string },
  hostPort: string,
): { message: string; fix: string } | undefined {
  const { code, error } = failure;
  if (/wrong version number|packet length too long/i.test(error)) {
    return {
      message: `${hostPort} answers plain HTTP, not TLS`,
      fix: `announcedWebProtocol https needs TLS on ${hostPort}: set tlsCertificate and tlsKey when serve itself listens there, or announce the port of the TLS reverse proxy`,
    };
  }
  if (untrustedCa(code)) {
    const what =
      code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? 'is self-signed' : 'is signed by a CA this machine does not trust';
    return { message: `the certificate of ${hostPort} ${what} (${code})`, fix: EXTRA_CA_FIX };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = failure.certNames?.replace(/(DNS|IP Address):/g, '');
    return {
      message: `the certificate of ${hostPort} is for other names${names ? `: ${names}` : ''}`,
      fix: `serve a certificate that names ${hostPort.replace(/:\d+$/, '')}, or announce one of its names (announcedWebHost)`,
    };
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return {
      message: `the certificate of ${hostPort} has expired`,
      fix: `renew it (e.g. certbot renew) and reload whatever serves ${hostPort}`,
    };
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return {
      message: `the certificate of ${hostPort} is not valid yet`,
      fix: 'check the clock of this machine and of the server',
    };
  }
  if (/CERT|SSL|TLS|EPROTO|self.signed|altname/i.test(`${code ?? ''} ${error}`)) {
    return {
      message: `TLS with ${hostPort} failed: ${error}`,
      fix: `serve a valid certificate for it, and make announcedWebProtocol match what listens on ${hostPort}`,
    };
  }
  return undefined;
}
