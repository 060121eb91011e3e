/**
 * The https mismatch: slot URLs announced as https for the very port this serve listens on,
 * while serve has no TLS of its own, so that port answers plain HTTP. serve warns about it at
 * start and doctor fails on it. A TLS reverse proxy listens on another port (no mismatch); one on
 * another host with the same port is the rare legitimate case, hence "likely".
 */
import type { Settings } from './settings.ts';

/**
 * The warning text when the settings announce https for the port serve answers in plain HTTP, else undefined. Pure.
 *
 * @example
 * plainHttpsMismatch(settings); // 'announcedWebProtocol is https for announcedWebPort 7443 = webPort, …'
 */
export function plainHttpsMismatch(
  s: Pick<
    Settings,
    'announcedWebProtocol' | 'announcedWebHost' | 'announcedWebPort' | 'webPort' | 'tlsCertificate' | 'tlsKey'
  >,
): string | undefined {
  if (s.announcedWebProtocol !== 'https' || s.announcedWebPort !== s.webPort) return undefined;
  if (s.tlsCertificate !== undefined && s.tlsKey !== undefined) return undefined;
  return (
    `announcedWebProtocol is https for announcedWebPort ${s.announcedWebPort}, which is webPort, ` +
    `but tlsCertificate/tlsKey are not set: serve answers plain HTTP there, so clients likely fail ` +
    `on the https://${s.announcedWebHost}:${s.announcedWebPort} slot URLs`
  );
}

/** What to do about the mismatch (one sentence). */
export const PLAIN_HTTPS_FIX =
  'set tlsCertificate and tlsKey, or point announcedWebPort at the TLS reverse proxy in front of serve ' +
  '(or set announcedWebProtocol http for a test setup)';
