import { domainToASCII } from 'node:url';

/** Where clients reach the HTTP endpoint: the Openfire plugin's announced* properties. */
export interface AnnouncedEndpoint {
  protocol: 'http' | 'https';
  host: string;
  port: number;
  /** Starts with "/", no trailing slash ("" is allowed for the root). */
  contextRoot: string;
}

/** The announced* properties of the settings, which say where clients reach the HTTP endpoint. */
export interface AnnouncedSettings {
  announcedWebProtocol: 'http' | 'https';
  announcedWebHost: string;
  announcedWebPort: number;
  announcedWebContextRoot: string;
}

/**
 * The announced endpoint of `settings`.
 *
 * @example
 * announcedEndpoint(settings); // { protocol: 'https', host: 'upload.example.org', port: 443, contextRoot: '' }
 */
export function announcedEndpoint(settings: AnnouncedSettings): AnnouncedEndpoint {
  return {
    protocol: settings.announcedWebProtocol,
    host: settings.announcedWebHost,
    port: settings.announcedWebPort,
    contextRoot: settings.announcedWebContextRoot,
  };
}

/**
 * Percent-encodes one path segment per RFC 3986: everything but unreserved characters
 * (encodeURIComponent leaves !'()* alone; some clients and proxies mangle them).
 */
export function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The host as it must appear in a URL: IDN in ASCII (punycode) form, IPv6 literals in brackets. */
export function urlHost(host: string): string {
  if (host.includes(':')) return host.startsWith('[') ? host : `[${host}]`;
  const ascii = domainToASCII(host);
  if (ascii === '') throw new Error(`invalid host name: ${host}`);
  return ascii;
}

/** The last base URL built: every slot and every 201 needs it, and the IDN conversion is not free. */
let lastBase: { protocol: string; host: string; port: number; contextRoot: string; url: string } | undefined;

/**
 * `{protocol}://{host}:{port}{contextRoot}` — the port is always written, as in the Openfire plugin.
 *
 * @example
 * baseUrl({ protocol: 'https', host: 'bücher.example', port: 443, contextRoot: '/upload' }); // 'https://xn--bcher-kva.example:443/upload'
 */
export function baseUrl(endpoint: AnnouncedEndpoint): string {
  const { protocol, host, port, contextRoot } = endpoint;
  const memo = lastBase;
  if (
    memo &&
    memo.protocol === protocol &&
    memo.host === host &&
    memo.port === port &&
    memo.contextRoot === contextRoot
  )
    return memo.url;
  const url = `${protocol}://${urlHost(host)}:${port}${contextRoot.replace(/\/+$/, '')}`;
  lastBase = { protocol, host, port, contextRoot, url };
  return url;
}

/**
 * The two URLs of a slot. The GET URL carries no secret; the PUT URL carries the token, so
 * clients that cannot send headers (the legacy namespaces) still prove their slot.
 *
 * @example
 * const { put, get } = slotUrls(endpoint, slot.id, slot.filename, signSlot(secret, slot));
 */
export function slotUrls(
  endpoint: AnnouncedEndpoint,
  id: string,
  filename: string,
  token: string,
): { put: string; get: string } {
  const get = `${baseUrl(endpoint)}/${id}/${encodePathSegment(filename)}`;
  return { put: `${get}?t=${token}`, get };
}
