/**
 * From the configuration file to typed {@link Settings}: the file's two layers, the defaults,
 * precedence, validation and conversion (sizes in bytes, durations in ms).
 */
import { randomBytes } from 'node:crypto';
import {
  catalogue,
  GENERAL_PREFIX,
  lookupProperty,
  properties,
  SERVER_SPECIFIC_PREFIX,
  type Property,
  type PropertyKey,
} from './catalogue.ts';
import { readConfigDocument, setConfigProperty, type ConfigDocument } from './edit.ts';
import { readValue, UndecryptableValue, type ConfigEncryption } from './encryption.ts';
import { ConfigError, type ConfigProblem } from './errors.ts';
import { readProperty, type XmlDocument } from './openfire-xml.ts';
import { defaultsLayer, Resolver, type Layer } from './resolve.ts';
import type { Settings } from './settings.ts';
import { InvalidValue } from './types.ts';
import { errCode } from '../errno.ts';

/**
 * The two layers an openfire.xml holds: `serverspecific` (this node's overrides) and `general`.
 * Both are empty when there is no document. A value Openfire marked encrypted is decrypted with
 * `encryption` (a value that does not decrypt throws UndecryptableValue, an InvalidValue, when
 * it is resolved); a property's alias counts when its own element has no value.
 *
 * @example
 * const { doc, encryption } = await readConfigDocument(file);
 * const layers = [...fileLayers(doc, encryption), defaultsLayer()];
 */
export function fileLayers(doc: XmlDocument | undefined, encryption?: ConfigEncryption): Layer[] {
  const layer = (source: string, prefix: string): Layer => ({
    source,
    get: (short) => {
      if (!doc) return undefined;
      const own = readValue(doc, prefix + short, encryption, encryption?.configFile);
      if (own !== undefined && own.trim() !== '') return own;
      for (const alias of catalogue[short].aliases) {
        const text = readValue(doc, prefix + alias, encryption, encryption?.configFile);
        if (text !== undefined && text.trim() !== '') return text;
      }
      return own;
    },
  });
  return [layer('serverspecific', SERVER_SPECIFIC_PREFIX), layer('general', GENERAL_PREFIX)];
}

/**
 * Openfire's FQDN as the file gives it (`<fqdn>` under the root, trimmed and lower-cased as
 * Openfire reads it), or undefined when it has none.
 *
 * @example
 * fqdnOf(parseOpenfireXml('<jive><fqdn> XMPP.Example.org </fqdn></jive>')); // 'xmpp.example.org'
 */
export function fqdnOf(doc: XmlDocument | undefined): string | undefined {
  const fqdn = doc ? readProperty(doc, 'fqdn')?.toLowerCase() : undefined;
  return fqdn === '' ? undefined : fqdn;
}

/**
 * The layers of a read configuration file followed by the defaults (whose announcedWebHost
 * default is the file's `<fqdn>`), without the cluster layer.
 *
 * @example
 * const layers = documentLayers(await readConfigDocument(file));
 */
export function documentLayers(read: Pick<ConfigDocument, 'doc' | 'encryption'>, opts: LoadOptions = {}): Layer[] {
  const fqdn = fqdnOf(read.doc);
  return [
    ...fileLayers(read.doc, read.encryption),
    defaultsLayer({ ...(opts.hostname ? { hostname: opts.hostname } : {}), ...(fqdn ? { fqdn } : {}) }),
  ];
}

/**
 * The cluster's part in loading a node's configuration. The caller hands it in (serve and the
 * CLI pass src/cluster/config-layer.ts's `clusterLayers`), so this folder never reads a shared
 * place itself.
 */
export interface SharedLayers {
  /** The layers with the shared document's layer inserted, when the node's own layers turn cluster on. */
  add(layers: readonly Layer[]): Promise<Layer[]>;
  /** Where a value every node shares is written, when `layers` hold a cluster layer. */
  storeOf(layers: readonly Layer[]): { setIfAbsent(dotted: string, value: string): Promise<string> } | undefined;
}

/** Options for {@link loadLayers} and {@link loadSettings}. */
export interface LoadOptions {
  /** Host name for the announcedWebHost default (tests). */
  hostname?: () => string;
  /** The cluster layer; without it only the file's layers and the defaults count. */
  cluster?: SharedLayers;
}

/**
 * Reads the file and returns its layers followed by the defaults, highest precedence first.
 * A missing file is fine (defaults only). Throws ConfigSyntaxError for a malformed file.
 * On a cluster node (`cluster` = true) the shared document's layer (`opts.cluster`) sits between
 * serverspecific and general.
 *
 * @example
 * const resolver = new Resolver(await loadLayers(file, { cluster: clusterLayers }));
 */
export async function loadLayers(file: string, opts: LoadOptions = {}): Promise<Layer[]> {
  const layers = documentLayers(await readConfigDocument(file), opts);
  return opts.cluster ? opts.cluster.add(layers) : layers;
}

/**
 * The typed settings of a layer stack; throws one ConfigError naming every invalid property
 * (its full name as written in the layer it came from) and its rule.
 *
 * @example
 * const settings = settingsFromLayers([mapLayer('general', { xmppPort: '5347' }), defaultsLayer()]);
 */
export function settingsFromLayers(layers: readonly Layer[]): Settings {
  const resolver = new Resolver(layers);
  const out: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  const undecryptable = new Set<string>();
  for (const p of properties) {
    let r: ReturnType<Resolver['resolve']>;
    try {
      r = resolver.resolve(p.short);
    } catch (err) {
      if (!(err instanceof UndecryptableValue)) throw err;
      // A computed default that reads the value meets the same error: name the property once.
      if (!undecryptable.has(err.property)) {
        const rule = lookupProperty(err.property)?.property.rule ?? p.rule;
        problems.push({ property: err.property, message: err.message, rule });
      }
      undecryptable.add(err.property);
      continue;
    }
    if (r.text === undefined) {
      out[p.short] = p.unset;
      continue;
    }
    try {
      out[p.short] = p.parse(r.text);
    } catch (err) {
      if (!(err instanceof InvalidValue)) throw err;
      problems.push({ property: sourceName(p, r.source), message: `${err.message} (from ${r.source})`, rule: p.rule });
    }
  }
  if ((out.tlsCertificate === undefined) !== (out.tlsKey === undefined) && problems.length === 0) {
    const missing = out.tlsKey === undefined ? catalogue.tlsKey : catalogue.tlsCertificate;
    problems.push({
      property: missing.name,
      message: 'is not set but its partner is; built-in TLS needs both',
      rule: missing.rule,
    });
  }
  if (out.cluster === true && out.storage !== 's3' && out.fileRepo === undefined && problems.length === 0) {
    problems.push({
      property: catalogue.cluster.name,
      message:
        'is true but fileRepo is not set: the nodes share their files and configuration there (or use storage s3: then the bucket)',
      rule: catalogue.cluster.rule,
    });
  }
  if (out.storage === 's3' && out.s3Bucket === undefined && problems.length === 0) {
    problems.push({
      property: catalogue.s3Bucket.name,
      message: 'is not set but storage is s3',
      rule: catalogue.s3Bucket.rule,
    });
  }
  if ((out.s3AccessKey === undefined) !== (out.s3SecretKey === undefined) && problems.length === 0) {
    const missing = out.s3SecretKey === undefined ? catalogue.s3SecretKey : catalogue.s3AccessKey;
    problems.push({
      property: missing.name,
      message: 'is not set but its partner is; S3 credentials need both',
      rule: missing.rule,
    });
  }
  if (out.clamavEnabled === true && out.storage === 's3' && out.s3UploadMode === 'direct' && problems.length === 0) {
    problems.push({
      property: catalogue.clamavEnabled.name,
      message:
        'is true but s3UploadMode is direct: clients upload straight to the bucket, so serve never sees the bytes to scan (use s3UploadMode proxy)',
      rule: catalogue.clamavEnabled.rule,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as unknown as Settings;
}

/**
 * The name a value is written under in its layer (serverspecific values have their own name).
 *
 * @example
 * sourceName(catalogue.xmppPort, 'serverspecific'); // 'plugin.httpfileupload.serverspecific.xmppPort'
 */
export function sourceName(p: Property, source: string): string {
  return source === 'serverspecific' ? SERVER_SPECIFIC_PREFIX + p.short : p.name;
}

/**
 * Reads, resolves and validates the configuration. A missing file gives all defaults.
 *
 * @example
 * const settings = await loadSettings('/etc/fileupload/openfire.xml', { cluster: clusterLayers });
 * requireProperties(settings, ['domain', 'sharedSecret']);
 */
export async function loadSettings(file: string, opts: LoadOptions = {}): Promise<Settings> {
  return settingsFromLayers(await loadLayers(file, opts));
}

/**
 * Throws a ConfigError naming every listed property that has no value, with the command that
 * sets it.
 *
 * @example
 * requireProperties(settings, ['domain', 'sharedSecret']);
 */
export function requireProperties(settings: Settings, keys: readonly PropertyKey[]): void {
  const missing = keys.filter((k) => {
    const v = settings[k];
    return v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
  });
  if (missing.length === 0) return;
  throw new ConfigError(
    missing.map((k) => ({
      property: catalogue[k].name,
      message: `is required but not set; set it with: fileupload config set ${k} VALUE`,
      rule: catalogue[k].rule,
    })),
  );
}

/**
 * Returns the slot signing secret, first generating one (32 random bytes, base64url) into the
 * general property of the file when no layer has one (the file then loses its "other"
 * permission bits, as on every write of a secret: see setConfigProperty). Every node sharing
 * uploads needs the same secret, so a generated one must be copied to the other nodes — except
 * on a cluster node (`opts.cluster`), where it goes into the shared configuration (the first
 * node to start generates it for all).
 *
 * @example
 * const secret = await ensureSlotSecret('/etc/fileupload/openfire.xml', { cluster: clusterLayers });
 */
export async function ensureSlotSecret(file: string, opts: LoadOptions = {}): Promise<string> {
  const layers = await loadLayers(file, opts);
  const existing = new Resolver(layers).resolve('slotSecret').text;
  if (existing !== undefined) return existing;
  const secret = randomBytes(32).toString('base64url');
  const shared = opts.cluster?.storeOf(layers);
  if (shared) return shared.setIfAbsent(catalogue.slotSecret.name, secret);
  try {
    await setConfigProperty(file, catalogue.slotSecret.name, secret);
  } catch (err) {
    // The service user may only read its configuration: say what to do instead of a bare EACCES.
    const code = errCode(err);
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    const p = catalogue.slotSecret;
    throw new ConfigError(
      [
        {
          property: p.name,
          message: `is not set, and generating one failed: ${file} cannot be written (${code})`,
          rule: p.rule,
        },
      ],
      `${p.name} is not set, and generating one failed: ${file} cannot be written (${code}). ` +
        `Set it once (the same value on every node): openssl rand -base64 32 | fileupload --config ${file} config set slotSecret -`,
    );
  }
  return secret;
}
