/**
 * The names an Openfire admin brings along: the properties of the Openfire plugin
 * (igniterealtime/openfire-httpFileUpload-plugin 1.5) and the options of the component library it
 * embeds (guusdk/httpfileuploadcomponent 2.0, whose standalone launcher takes them on its command
 * line). Each is read by the fileupload property of the same name, by a property that has it as
 * an alias (catalogue.ts), or not at all: an option fileupload cannot honour is reported wherever
 * it is written — `config list`, `doctor`, serve's log — and `config set` refuses it with the
 * reason, so it is never silently ignored. The README's table of these names comes from here.
 */
import { GENERAL_PREFIX, lookupProperty, SERVER_SPECIFIC_PREFIX, type Property } from './catalogue.ts';
import { readConfigDocument } from './edit.ts';
import { leafNames, readProperty, type XmlDocument } from './openfire-xml.ts';

/** A property of the Openfire plugin or an option of its component library. */
export interface ForeignName {
  /** The name there (the plugin's without its `plugin.httpfileupload.` prefix). */
  name: string;
  from: 'plugin' | 'component';
  /** Its default there, in words. */
  theirDefault: string;
  /** Whether fileupload reads it (as a property or an alias); false: reported, never read. */
  read: boolean;
  /** How fileupload differs, or why it does not read it; empty when it does not differ. */
  difference: string;
}

/** Every property of the Openfire plugin and every option of the component library, in that order. */
export const FOREIGN_NAMES: readonly ForeignName[] = [
  { name: 'announcedWebProtocol', from: 'plugin', theirDefault: 'https', read: true, difference: '' },
  {
    name: 'announcedWebHost',
    from: 'plugin',
    theirDefault: "Openfire's FQDN (<fqdn> in openfire.xml)",
    read: true,
    difference: '',
  },
  {
    name: 'announcedWebPort',
    from: 'plugin',
    theirDefault: "Openfire's secure HTTP-bind port (7443)",
    read: true,
    difference: "Openfire's HTTP-bind port is not known here: set this when it was changed.",
  },
  {
    name: 'announcedWebContextRoot',
    from: 'plugin',
    theirDefault: '/httpfileupload',
    read: true,
    difference: 'The plugin always serves /httpfileupload and only announces this path; fileupload serves it too.',
  },
  {
    name: 'maxFileSize',
    from: 'plugin',
    theirDefault: '52428800; 0 or less = unlimited',
    read: true,
    difference:
      'Unlimited is announced as 9007199254740991 rather than left out (Dino before 0.5 refuses a service that announces none). Sizes also take units (50M).',
  },
  {
    name: 'fileRepo',
    from: 'plugin',
    theirDefault: 'none: a temporary folder',
    read: true,
    difference:
      "Uploads are stored with a metadata header: the plugin's raw files are taken over with fileupload import openfire.",
  },
  { name: 'clamavEnabled', from: 'plugin', theirDefault: 'false', read: true, difference: '' },
  { name: 'clamavHost', from: 'plugin', theirDefault: '127.0.0.1', read: true, difference: '' },
  { name: 'clamavPort', from: 'plugin', theirDefault: '3310', read: true, difference: '' },
  { name: 'clamavConnectionTimeout', from: 'plugin', theirDefault: '3000 (ms)', read: true, difference: '' },
  {
    name: 'webProtocol',
    from: 'component',
    theirDefault: 'http',
    read: false,
    difference:
      'the HTTP endpoint speaks HTTPS when tlsCertificate and tlsKey are set and plain HTTP otherwise, and the URLs handed out take announcedWebProtocol.',
  },
  {
    name: 'webHost',
    from: 'component',
    theirDefault: 'a non-loopback address of this machine',
    read: true,
    difference: '',
  },
  { name: 'webPort', from: 'component', theirDefault: '12121', read: true, difference: '' },
  {
    name: 'webContextRoot',
    from: 'component',
    theirDefault: '/',
    read: true,
    difference:
      'An alias of announcedWebContextRoot: fileupload serves the path it announces, so a proxy in front must not rewrite it. announcedWebContextRoot wins when both are set.',
  },
  { name: 'announcedWebProtocol', from: 'component', theirDefault: 'webProtocol', read: true, difference: '' },
  { name: 'announcedWebHost', from: 'component', theirDefault: 'webHost', read: true, difference: '' },
  {
    name: 'announcedWebPort',
    from: 'component',
    theirDefault: 'webPort',
    read: true,
    difference: 'The other way round here: webPort defaults to announcedWebPort.',
  },
  {
    name: 'announcedWebContextRoot',
    from: 'component',
    theirDefault: 'webContextRoot',
    read: true,
    difference: 'Also the path served (see webContextRoot).',
  },
  { name: 'xmppHost', from: 'component', theirDefault: 'localhost', read: true, difference: '' },
  { name: 'xmppPort', from: 'component', theirDefault: '5275', read: true, difference: '' },
  { name: 'domain', from: 'component', theirDefault: 'upload', read: true, difference: '' },
  { name: 'sharedSecret', from: 'component', theirDefault: 'none', read: true, difference: '' },
  { name: 'fileRepo', from: 'component', theirDefault: 'none: a temporary folder', read: true, difference: '' },
  {
    name: 'tempFileRepo',
    from: 'component',
    theirDefault: 'off (a flag)',
    read: false,
    difference:
      'without fileRepo serve already keeps uploads in a private temporary folder, deleted at exit. Temporary upload files always live inside the repository, on its file system, so that publishing an upload is an atomic rename.',
  },
  {
    name: 'maxFileSize',
    from: 'component',
    theirDefault: '52428800; -1 = unlimited',
    read: true,
    difference: '0 is unlimited too.',
  },
  {
    name: 'wildcardCORS',
    from: 'component',
    theirDefault: 'off: no CORS headers',
    read: false,
    difference:
      'CORS follows corsOrigins, whose default * is what wildcardCORS turns on; list origins there to restrict it.',
  },
  {
    name: 'contentSecurityPolicy',
    from: 'component',
    theirDefault: "default-src 'none'; frame-ancestors 'none';",
    read: false,
    difference:
      'every answer carries a fixed Content-Security-Policy that also sandboxes the upload, so no upload runs as active content.',
  },
  {
    name: 'clamavHost',
    from: 'component',
    theirDefault: 'none: no scanning',
    read: true,
    difference: 'Scanning is turned on by clamavEnabled, not by giving a host.',
  },
  { name: 'clamavPort', from: 'component', theirDefault: '3310', read: true, difference: '' },
];

/** The names fileupload never reads, with why. */
const unread = new Map(FOREIGN_NAMES.filter((f) => !f.read).map((f) => [f.name, f] as const));

/**
 * The component-library option a name spells (any prefix as for properties), when fileupload
 * does not read it.
 *
 * @example
 * unreadOption('plugin.httpfileupload.wildcardCORS')?.difference; // 'CORS follows corsOrigins, …'
 * unreadOption('maxFileSize');                                     // undefined
 */
export function unreadOption(name: string): ForeignName | undefined {
  return unread.get(name.replace(/^(?:plugin\.httpfileupload\.)?(?:serverspecific\.)?/, ''));
}

/**
 * What to tell the user about an option fileupload does not read, spelt `name`.
 *
 * @example
 * notReadNote('wildcardCORS', unreadOption('wildcardCORS')!);
 * // 'wildcardCORS is an option of the component library that fileupload does not read: CORS follows corsOrigins, …'
 */
export function notReadNote(name: string, option: ForeignName): string {
  return `${name} is an option of the component library that fileupload does not read: ${option.difference}`;
}

/**
 * The fileupload property a foreign name is read by, undefined when none (also for a property a
 * later version adds).
 *
 * @example
 * propertyFor(FOREIGN_NAMES.find((f) => f.name === 'webContextRoot')!)?.short; // 'announcedWebContextRoot'
 */
export function propertyFor(f: ForeignName): Property | undefined {
  return f.read ? lookupProperty(f.name)?.property : undefined;
}

/** One thing the file says that fileupload reads differently from the plugin or the component library. */
export interface CompatibilityNote {
  /** The element as written, e.g. `plugin.httpfileupload.wildcardCORS`. */
  name: string;
  /** True when the element has no effect (an option not read, or an alias its property overrides). */
  ignored: boolean;
  text: string;
}

/**
 * What the file says that fileupload reads differently from the Openfire plugin or its component
 * library: each option it does not read, each alias it reads (or does not, when the property's
 * own name is set too). Pure.
 *
 * @example
 * compatibilityNotes(parseOpenfireXml('<jive><plugin><httpfileupload><wildcardCORS>true</wildcardCORS></httpfileupload></plugin></jive>'));
 * // [{ name: 'plugin.httpfileupload.wildcardCORS', ignored: true, text: 'plugin.httpfileupload.wildcardCORS is an option of … not read: CORS follows corsOrigins, …' }]
 */
export function compatibilityNotes(doc: XmlDocument | undefined): CompatibilityNote[] {
  if (!doc) return [];
  const notes: CompatibilityNote[] = [];
  for (const prefix of [GENERAL_PREFIX, SERVER_SPECIFIC_PREFIX]) {
    for (const name of leafNames(doc, prefix.slice(0, -1))) {
      const short = name.slice(prefix.length);
      const option = unread.get(short);
      if (option) {
        notes.push({ name, ignored: true, text: notReadNote(name, option) });
        continue;
      }
      const found = lookupProperty(name);
      if (!found || found.property.short === short) continue;
      const own = prefix + found.property.short;
      if ((readProperty(doc, own) ?? '') !== '' && (readProperty(doc, name) ?? '') !== '') {
        notes.push({
          name,
          ignored: true,
          text: `${name} is not read: it is an alias of ${own}, which is set too and wins`,
        });
      } else {
        const why = FOREIGN_NAMES.find((f) => f.name === short && f.read)?.difference ?? '';
        notes.push({
          name,
          ignored: false,
          text: `${name} is read as ${own}${why ? ` (${why.replace(/^An alias of \S+: /, '')})` : ''}`,
        });
      }
    }
  }
  return notes;
}

/**
 * The texts of {@link compatibilityNotes} for a configuration file, for serve to log once at
 * start. A file that cannot be read gives none (loading it reports that).
 *
 * @example
 * for (const note of await configNotes(file)) logger.warn(note, { config: file });
 */
export async function configNotes(file: string): Promise<string[]> {
  try {
    return compatibilityNotes((await readConfigDocument(file)).doc).map((n) => n.text);
  } catch {
    return [];
  }
}
