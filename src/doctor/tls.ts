/**
 * Check `tls`: built-in HTTPS has a readable certificate and key that belong together, is valid
 * now and for at least two more weeks, and names the announced host. Without built-in TLS it
 * says whether clients will accept the announced URLs at all (Gajim refuses http:// slots).
 * The files are read by readTlsFiles; tlsVerdict is pure.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
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
 * tlsVerdict({ protocol: 'https', host: 'upload.example.org', certificate, key, now: Date.now() });
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
