/**
 * Check `config`: the configuration file exists, parses, every value is valid (an encrypted one
 * decrypts), and the two properties nothing works without (domain, sharedSecret) are set.
 * Unknown names (typos) warn, and so do names of the Openfire plugin's component library that
 * have no effect here.
 */
import { DEFAULT_CONFIG_PATH } from '../config/default-path.ts';
import { GENERAL_PREFIX, SERVER_SPECIFIC_PREFIX, lookupProperty, suggestProperty } from '../config/catalogue.ts';
import { compatibilityNotes, unreadOption } from '../config/compat.ts';
import { readConfigDocument, type ConfigDocument } from '../config/edit.ts';
import { ConfigError, ConfigSyntaxError } from '../config/errors.ts';
import { documentLayers, requireProperties, settingsFromLayers, type LoadOptions } from '../config/load.ts';
import { leafNames, type XmlDocument } from '../config/openfire-xml.ts';
import { withClusterLayer } from '../cluster/config-layer.ts';
import type { Settings } from '../config/settings.ts';
import { describeError, errorCode, fail, pass, warn, type CheckResult } from './result.ts';

/** This check's id in the report. */
export const CHECK = 'config';

/** What the config check found. */
export interface ConfigOutcome {
  result: CheckResult;
  /** The validated settings; undefined when the file could not be read or a value is invalid. */
  settings: Settings | undefined;
}

/**
 * The `fileupload` command prefix that addresses this configuration file in a fix.
 *
 * @example
 * cliFor('/etc/fileupload/openfire.xml'); // 'fileupload'
 * cliFor('/tmp/x.xml');                   // 'fileupload --config /tmp/x.xml'
 */
export function cliFor(configFile: string): string {
  return configFile === DEFAULT_CONFIG_PATH ? 'fileupload' : `fileupload --config ${shellQuote(configFile)}`;
}

/**
 * Quotes a word for a POSIX shell when it needs it.
 *
 * @example
 * shellQuote("/tmp/my dir"); // "'/tmp/my dir'"
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Names under plugin.httpfileupload that are no property, each with a suggestion. Pure.
 *
 * @example
 * strayProperties(doc); // ['plugin.httpfileupload.maxFilesize (did you mean maxFileSize?)']
 */
export function strayProperties(doc: XmlDocument): string[] {
  const names = [
    ...leafNames(doc, GENERAL_PREFIX.slice(0, -1)),
    ...leafNames(doc, SERVER_SPECIFIC_PREFIX.slice(0, -1)),
  ];
  return names
    .filter((n) => !lookupProperty(n) && !unreadOption(n))
    .map((n) => {
      const hint = suggestProperty(n);
      return hint.length > 0 ? `${n} (did you mean ${hint.join(' or ')}?)` : n;
    });
}

/**
 * Reads and validates the configuration. Never throws for a configuration problem: the result
 * says what is wrong; `settings` is there whenever the values themselves are valid (so the other
 * checks can run even when domain or sharedSecret is missing).
 *
 * @example
 * const { result, settings } = await checkConfig('/etc/fileupload/openfire.xml');
 */
export async function checkConfig(configFile: string, opts: LoadOptions = {}): Promise<ConfigOutcome> {
  const cli = cliFor(configFile);
  let read: ConfigDocument;
  try {
    read = await readConfigDocument(configFile);
    if (read.content === undefined) {
      return {
        settings: undefined,
        result: fail(
          CHECK,
          `${configFile} does not exist`,
          `write it with "${cli} config set domain upload.example.org" and "${cli} config set sharedSecret SECRET" (the component secret of the XMPP server)`,
        ),
      };
    }
  } catch (err) {
    if (err instanceof ConfigSyntaxError) {
      return {
        settings: undefined,
        result: fail(CHECK, err.message, `correct the XML at line ${err.line}, column ${err.col}`),
      };
    }
    const code = errorCode(err);
    return {
      settings: undefined,
      result: fail(
        CHECK,
        `cannot read ${configFile}: ${describeError(err)}`,
        code === 'EACCES'
          ? 'run doctor as root or as the user serve runs as'
          : `check that ${configFile} is a readable file`,
      ),
    };
  }

  let settings: Settings;
  try {
    // A cluster node's shared document counts too (domain and sharedSecret usually live there).
    settings = settingsFromLayers(await withClusterLayer(documentLayers(read, opts)));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const names = err.problems.map((p) => p.property.replace(GENERAL_PREFIX, ''));
    return {
      settings: undefined,
      result: fail(
        CHECK,
        `invalid value${err.problems.length === 1 ? '' : 's'}: ${err.message.replace(/\n/g, '; ')}`,
        `correct ${names.join(', ')} with "${cli} config set NAME VALUE"`,
      ),
    };
  }

  try {
    requireProperties(settings, ['domain', 'sharedSecret']);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const missing = err.problems.map((p) => p.property.slice(GENERAL_PREFIX.length));
    return {
      settings,
      result: fail(
        CHECK,
        `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set; serve cannot connect to the XMPP server without ${missing.length === 1 ? 'it' : 'them'}`,
        missing.map((m) => `${cli} config set ${m} ${m === 'domain' ? 'upload.example.org' : 'SECRET'}`).join('; ') +
          ' (the component name and secret configured on the XMPP server)',
      ),
    };
  }

  const doc = read.doc;
  const unknown = doc ? strayProperties(doc) : [];
  const ignored = compatibilityNotes(doc)
    .filter((n) => n.ignored)
    .map((n) => n.text);
  if (unknown.length + ignored.length > 0) {
    const found = [
      ...(unknown.length > 0 ? [`ignores unknown name${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ')}`] : []),
      ...ignored,
    ];
    const count = unknown.length + ignored.length;
    return {
      settings,
      result: warn(
        CHECK,
        `${configFile} is valid, but ${found.join('; ')}`,
        `rename or remove ${count === 1 ? 'it' : 'them'} ("fileupload config list" shows every property)`,
      ),
    };
  }
  return { settings, result: pass(CHECK, `${configFile} is valid (component ${settings.domain})`) };
}
