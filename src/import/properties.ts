/**
 * The properties part of `import openfire`: reads what an Openfire install says about the HTTP
 * File Upload plugin — the general `plugin.httpfileupload.*` properties from its database (the
 * embedded HSQLDB script and log, or a SQL dump of ofProperty), the serverspecific ones and
 * `<fqdn>` from conf/openfire.xml, encrypted values decrypted with conf/security.xml — and maps
 * them to fileupload's names (config/compat.ts): each becomes a property to write, or a note
 * saying why it is not written (an option fileupload does not read, an unknown name, a value
 * fileupload refuses). Writing them, never over a value the admin set, is {@link applyProperties}.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lookupProperty, GENERAL_PREFIX, SERVER_SPECIFIC_PREFIX } from '../config/catalogue.ts';
import { FOREIGN_NAMES, unreadOption } from '../config/compat.ts';
import { readConfigDocument, setConfigProperty } from '../config/edit.ts';
import { leafNames, parseOpenfireXml, readAttributes, readProperty } from '../config/openfire-xml.ts';
import { OpenfireCipher, DEFAULT_SECURITY, parseSecurityXml } from '../openfire/cipher.ts';
import { readHsqldbProperties, readSqlDumpProperties, type StoredProperty } from '../openfire/ofproperty.ts';
import { readOpenfireXmlValues } from '../openfire/xml.ts';
import { errCode } from '../errno.ts';

/** Where the plugin's values were found. */
export interface OpenfireSources {
  /** The plugin's properties in clear, by their Openfire name, general ones from the database first. */
  properties: Map<string, { value: string; from: string }>;
  /** `<fqdn>` of openfire.xml. */
  fqdn: string | undefined;
  /** Openfire's own properties the plugin falls back on (xmpp.domain, httpbind ports), in clear. */
  openfire: Map<string, string>;
  /** What was read, for the report. */
  read: string[];
}

/** One property to write into the configuration file. */
export interface PlannedProperty {
  /** Dotted name in the configuration file (`plugin.httpfileupload.maxFileSize`, `fqdn`). */
  name: string;
  value: string;
  /** The Openfire name and where it was found, e.g. `plugin.httpfileupload.webContextRoot (openfire.xml)`. */
  from: string;
  /** Masked in the report. */
  secret: boolean;
}

/** An Openfire value that is not written, and why. */
export interface PropertyNote {
  from: string;
  text: string;
}

/** The outcome of writing one planned property. */
export interface PropertyOutcome extends PlannedProperty {
  /** `set`: written; `unchanged`: the file already had this value; `kept`: the file has another value, left alone. */
  action: 'set' | 'unchanged' | 'kept';
  /** The value the file has (kept), masked when secret. */
  current?: string;
  note?: string;
}

/**
 * A file of the Openfire install is missing or unreadable (a usage error: nothing was changed).
 *
 * @example
 * if (err instanceof OpenfireInstallError) throw new CliError(err.message, ExitCode.Usage);
 */
export class OpenfireInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenfireInstallError';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the plugin's properties from an Openfire home: conf/openfire.xml (required),
 * conf/security.xml (else Openfire's defaults), and the general properties from `dump` (a SQL
 * dump of ofProperty) or else embedded-db/openfire.script and its log when present. Throws
 * OpenfireInstallError for a missing openfire.xml, OpenfireFormatError for a file not in
 * Openfire's shape, OpenfireDecryptError for a value that does not decrypt.
 *
 * @example
 * const sources = await readOpenfireSources('/opt/openfire', { dump: undefined });
 */
export async function readOpenfireSources(home: string, options: { dump?: string }): Promise<OpenfireSources> {
  const xmlFile = join(home, 'conf', 'openfire.xml');
  let xmlText: string;
  try {
    xmlText = await readFile(xmlFile, 'utf8');
  } catch (err) {
    throw new OpenfireInstallError(
      errCode(err) === 'ENOENT'
        ? `${xmlFile} does not exist: OPENFIRE_HOME is the folder that holds conf/openfire.xml (e.g. /opt/openfire or /usr/share/openfire)`
        : `${xmlFile}: ${(err as Error).message}`,
    );
  }
  const read = [xmlFile];
  const securityFile = join(home, 'conf', 'security.xml');
  let security = DEFAULT_SECURITY;
  if (await exists(securityFile)) {
    security = parseSecurityXml(await readFile(securityFile, 'utf8'), securityFile);
    read.push(securityFile);
  }
  const cipher = new OpenfireCipher(security);
  const doc = parseOpenfireXml(xmlText, xmlFile);
  const xml = readOpenfireXmlValues(
    {
      value: (n) => readProperty(doc, n),
      attributes: (n) => readAttributes(doc, n),
      leafNames: (p) => leafNames(doc, p),
    },
    cipher,
  );

  let rows: Map<string, StoredProperty> = new Map();
  let dbName = '';
  if (options.dump !== undefined) {
    rows = await readSqlDumpProperties(options.dump);
    dbName = options.dump;
    read.push(options.dump);
  } else {
    const script = join(home, 'embedded-db', 'openfire.script');
    if (await exists(script)) {
      rows = await readHsqldbProperties(script);
      dbName = 'embedded-db';
      read.push(script);
    }
  }
  const clear = (name: string, row: StoredProperty): string =>
    row.encrypted || cipher.isListed(name) ? cipher.decrypt(name, { value: row.value, iv: row.iv }) : row.value;

  const properties = new Map<string, { value: string; from: string }>();
  const openfire = new Map<string, string>();
  for (const [name, row] of rows) {
    if (name.startsWith(GENERAL_PREFIX)) properties.set(name, { value: clear(name, row), from: dbName });
    else openfire.set(name, clear(name, row));
  }
  // openfire.xml: the serverspecific ones, and general ones the database does not have.
  for (const [name, value] of xml.properties)
    if (!properties.has(name)) properties.set(name, { value, from: 'openfire.xml' });
  return { properties, fqdn: xml.fqdn, openfire, read };
}

/**
 * Maps the plugin's properties to what to write into fileupload's configuration file. Pure.
 * A general property keeps its layer (general or serverspecific) under fileupload's own name
 * (aliases resolved); `<fqdn>` is written as is (the default announcedWebHost, as in the
 * plugin); the plugin's defaults that came from Openfire (its component address
 * `httpfileupload.{xmpp.domain}`, the HTTP-bind port it announced, Openfire's default 7443 or
 * 7070 included) are written when the plugin did not set them, since fileupload cannot know them.
 *
 * @example
 * planProperties(sources).planned; // [{ name: 'plugin.httpfileupload.maxFileSize', value: '0', from: '…', secret: false }, …]
 */
export function planProperties(sources: Pick<OpenfireSources, 'properties' | 'fqdn' | 'openfire'>): {
  planned: PlannedProperty[];
  notes: PropertyNote[];
} {
  const planned = new Map<string, PlannedProperty & { alias: boolean }>();
  const notes: PropertyNote[] = [];
  for (const [theirs, { value, from }] of sources.properties) {
    const where = `${theirs} (${from})`;
    const option = unreadOption(theirs);
    if (option) {
      notes.push({ from: where, text: `not written: fileupload does not read it (${option.difference})` });
      continue;
    }
    const found = lookupProperty(theirs);
    if (!found) {
      const short = theirs.slice(theirs.lastIndexOf('.') + 1);
      notes.push({
        from: where,
        text: FOREIGN_NAMES.some((f) => f.name === short)
          ? 'not written: this version of fileupload has no such property'
          : 'not written: not a property of the plugin or of fileupload',
      });
      continue;
    }
    const p = found.property;
    if (value.trim() === '') {
      notes.push({ from: where, text: 'not written: empty (the default applies)' });
      continue;
    }
    try {
      p.parse(value.trim());
    } catch (err) {
      notes.push({ from: where, text: `not written: ${(err as Error).message}` });
      continue;
    }
    const name = (found.serverSpecific ? SERVER_SPECIFIC_PREFIX : GENERAL_PREFIX) + p.short;
    const alias = !theirs.endsWith(`.${p.short}`);
    const before = planned.get(name);
    if (before && !before.alias) {
      notes.push({ from: where, text: `not written: ${before.from} sets ${name} and wins` });
      continue;
    }
    if (before) notes.push({ from: before.from, text: `not written: ${where} sets ${name} and wins` });
    planned.set(name, { name, value: value.trim(), from: where, secret: p.secret, alias });
  }
  const has = (short: string): boolean =>
    planned.has(GENERAL_PREFIX + short) || planned.has(SERVER_SPECIFIC_PREFIX + short);
  const valueOf = (short: string): string | undefined =>
    (planned.get(SERVER_SPECIFIC_PREFIX + short) ?? planned.get(GENERAL_PREFIX + short))?.value;
  const add = (name: string, value: string, from: string): void => {
    planned.set(name, { name, value, from, secret: false, alias: false });
  };
  if (sources.fqdn !== undefined) add('fqdn', sources.fqdn, 'fqdn (openfire.xml)');
  const domain = sources.openfire.get('xmpp.domain')?.trim();
  if (!has('domain') && domain)
    add(`${GENERAL_PREFIX}domain`, `httpfileupload.${domain}`, 'xmpp.domain (the plugin’s component address)');
  if (!has('announcedWebPort')) {
    // Written even when it is Openfire's default: the migration moves Openfire's own HTTP-bind
    // port away, and a later run must not announce the moved port instead of the proxy's.
    const plain = valueOf('announcedWebProtocol') === 'http';
    const name = plain ? 'httpbind.port.plain' : 'httpbind.port.secure';
    const bind = sources.openfire.get(name)?.trim();
    const port = bind && /^\d+$/.test(bind) ? bind : plain ? '7070' : '7443';
    add(
      `${GENERAL_PREFIX}announcedWebPort`,
      port,
      `${name} (the port the plugin announced${bind ? '' : ', Openfire’s default'})`,
    );
  }
  return { planned: [...planned.values()].map(({ alias: _alias, ...p }) => p), notes };
}

/**
 * The plugin's repository folder as Openfire resolves it (serverspecific over general), when set.
 *
 * @example
 * pluginFileRepo(sources); // '/var/lib/openfire/httpfileupload'
 */
export function pluginFileRepo(sources: Pick<OpenfireSources, 'properties'>): string | undefined {
  const v =
    sources.properties.get(`${SERVER_SPECIFIC_PREFIX}fileRepo`)?.value ??
    sources.properties.get(`${GENERAL_PREFIX}fileRepo`)?.value;
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * Writes the planned properties into the configuration file (created 0600 when missing), one
 * by one, never over a value the file already has: that one is `kept` and reported with both
 * values. With `dryRun` nothing is written and the outcomes say what would be.
 *
 * @example
 * for (const o of await applyProperties(file, planned, { dryRun: false })) console.log(o.action, o.name);
 */
export async function applyProperties(
  file: string,
  planned: readonly PlannedProperty[],
  options: { dryRun: boolean },
): Promise<PropertyOutcome[]> {
  const { doc } = await readConfigDocument(file);
  const out: PropertyOutcome[] = [];
  for (const p of planned) {
    // The property in either layer, under any of its names, is the admin's: a serverspecific
    // value written beside their general one would silently win over it.
    const property = lookupProperty(p.name)?.property;
    const layers = property
      ? [
          p.name,
          ...[GENERAL_PREFIX, SERVER_SPECIFIC_PREFIX].flatMap((prefix) =>
            [property.short, ...property.aliases].map((n) => prefix + n),
          ),
        ]
      : [p.name];
    const set = doc ? layers.find((name) => (readProperty(doc, name) ?? '').trim() !== '') : undefined;
    if (doc && set !== undefined) {
      const current = readProperty(doc, set)!.trim();
      const encrypted = readAttributes(doc, set)?.encrypted !== undefined;
      if (set === p.name && !encrypted && current === p.value) {
        out.push({ ...p, action: 'unchanged' });
        continue;
      }
      out.push({
        ...p,
        action: 'kept',
        current: p.secret || encrypted ? '(hidden)' : current,
        note: `${file} already sets ${set}: left as it is (fileupload config set to change it)`,
      });
      continue;
    }
    let note: string | undefined;
    if (!options.dryRun) note = await setConfigProperty(file, p.name, p.value);
    out.push(note === undefined ? { ...p, action: 'set' } : { ...p, action: 'set', note });
  }
  return out;
}
