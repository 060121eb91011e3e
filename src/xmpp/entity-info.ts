/**
 * Answers of XEP-0092 (software version), XEP-0202 (entity time) and XEP-0012 (last activity).
 * XEP-0199 ping needs none.
 */
import { xml, type Element } from './xml.ts';
import { NS_LAST, NS_TIME, NS_VERSION } from './namespaces.ts';

export interface SoftwareVersion {
  name: string;
  version: string;
  /** Left out unless given: the OS is nobody's business by default. */
  os?: string;
}

/**
 * The jabber:iq:version <query/>.
 *
 * @example
 * versionQuery({ name: 'fileupload', version: '0.1.0' }).toString();
 * // <query xmlns="jabber:iq:version"><name>fileupload</name><version>0.1.0</version></query>
 */
export function versionQuery(v: SoftwareVersion): Element {
  return xml(
    'query',
    { xmlns: NS_VERSION },
    xml('name', {}, v.name),
    xml('version', {}, v.version),
    v.os === undefined ? undefined : xml('os', {}, v.os),
  );
}

/**
 * An XEP-0082 time zone offset: minutes east of UTC → "+hh:mm" / "-hh:mm".
 *
 * @example
 * formatTzo(-300); // '-05:00'
 */
export function formatTzo(minutesEast: number): string {
  const sign = minutesEast < 0 ? '-' : '+';
  const abs = Math.abs(minutesEast);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * The urn:xmpp:time <time/>; the offset defaults to this host's at that instant.
 *
 * @example
 * timeQuery(new Date('2006-12-19T17:58:35Z'), 0).toString();
 * // <time xmlns="urn:xmpp:time"><tzo>+00:00</tzo><utc>2006-12-19T17:58:35Z</utc></time>
 */
export function timeQuery(now: Date, minutesEast: number = -now.getTimezoneOffset()): Element {
  const utc = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return xml('time', { xmlns: NS_TIME }, xml('tzo', {}, formatTzo(minutesEast)), xml('utc', {}, utc));
}

/**
 * The jabber:iq:last <query/> of a service: XEP-0012 §5 has a server or component answer with
 * its uptime in whole seconds (the Openfire plugin answers it too; clients show it as "up for").
 *
 * @example
 * lastActivityQuery(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-01T01:00:00.900Z')).toString();
 * // <query xmlns="jabber:iq:last" seconds="3600"/>
 */
export function lastActivityQuery(startedAt: number, now: number): Element {
  return xml('query', { xmlns: NS_LAST, seconds: String(Math.max(0, Math.floor((now - startedAt) / 1000))) });
}
