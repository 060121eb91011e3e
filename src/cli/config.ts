import { Command, type ParseOptionsResult } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { errCode } from '../errno.ts';
import { registerConfigCheck } from './config-check.ts';
import { fail, notice, printJson, typedValue } from './output.ts';

/** What secret values look like in `config get`/`config list` without --show-secrets. */
export const MASK = '********';

const NAME_HELP = 'property name: short (maxFileSize) or full (plugin.httpfileupload.maxFileSize)';

/**
 * Registers `fileupload config get|set|unset|list|check`. The configuration modules (and the XML
 * parser) load only when a config subcommand runs.
 *
 * @example
 * registerConfig(program);
 */
export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('show and change the configuration (openfire.xml)')
    .addHelpText(
      'after',
      `
Precedence: plugin.httpfileupload.serverspecific.NAME > plugin.httpfileupload.NAME > default.
On a cluster node (cluster = true) the shared {fileRepo}/cluster/openfire.xml comes between the
two: serverspecific > cluster > general > default, and set/unset change the shared file unless
--local or --server-specific is given (bootstrap properties such as fileRepo always stay local).
An empty value counts as unset. Run "fileupload config list" for every property.`,
    );

  config
    .command('get')
    .description('print the effective value of a property (exit 1 when it is neither set nor has a default)')
    .argument('<name>', NAME_HELP)
    .option('--show-secrets', 'print secret values instead of masking them')
    .action(async (name: string, opts: { showSecrets?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const { describe, lookup } = await engine();
      const { property } = lookup(name);
      const resolver = await resolverFor(g.config);
      const row = describe(resolver, property, opts.showSecrets === true);
      if (g.json) printJson(jsonRow(property, row));
      else if (row.value !== null) process.stdout.write(row.value + '\n');
      if (row.error) invalidExit([row], g.json);
      // Neither set nor defaulted: exit 1 like `git config`, so `if fileupload config get X` works.
      else if (row.value === null) fail('unset', `${property.name} is neither set nor has a default`, ExitCode.Failure);
    });

  const set = new ValueCommand('set').copyInheritedSettings(config);
  config.addCommand(set);
  set
    .description('validate a value and write it to the configuration file')
    .argument('<name>', NAME_HELP)
    .argument(
      '[value]',
      'the new value (checked against the property rule before anything is written); - reads it from standard input',
    )
    .option('--from-file <path>', 'read the value from this file (one line) instead of the command line')
    .option('--server-specific', 'write plugin.httpfileupload.serverspecific.NAME (this node only)')
    .option('--local', "on a cluster node: write this node's own file instead of the shared one")
    .addHelpText(
      'after',
      `
Secrets (sharedSecret, slotSecret, s3SecretKey) do not belong on the command line, where other
users see them in the process list and they stay in the shell history: give - to read the value
from standard input (one line; its newline is dropped; typed on a terminal it is not shown),
or --from-file PATH:

  openssl rand -base64 32 | fileupload config set slotSecret -
  fileupload config set sharedSecret --from-file /root/component-secret

A file that holds a secret is written without permissions for "other" users: a new file is
0600, an existing one keeps its owner, group and their permissions.`,
    )
    .action(
      async (
        name: string,
        value: string | undefined,
        opts: { fromFile?: string; serverSpecific?: boolean; local?: boolean },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const { lookup, checkValue, write, describe, target, precondition, SERVER_SPECIFIC_PREFIX } = await engine();
        const { property, serverSpecific } = lookup(name);
        const specific = serverSpecific || opts.serverSpecific === true;
        const written = specific ? SERVER_SPECIFIC_PREFIX + property.short : property.name;
        const text = checkValue(property, written, await valueArgument(written, value, opts.fromFile));
        const t = await target(g.config, property, { serverSpecific: specific, local: opts.local === true });
        await precondition(g.config, property, t.layer, text);
        const note = await write(() => t.set(text));
        const resolver = await readBack(g.config, t.name);
        const row = describe(resolver, property, false);
        const shown = property.secret ? MASK : text;
        if (g.json) {
          printJson({
            name: t.name,
            value: typedValue(property, shown, MASK),
            text: shown,
            layer: t.layer,
            file: t.location,
            restart: property.restart,
            effective: { value: typedValue(property, row.value, MASK), source: row.source },
          });
        } else {
          process.stdout.write(`${t.name} = ${shown}${t.layer === 'cluster' ? ` (cluster: ${t.location})` : ''}\n`);
        }
        if (note) notice('note', note);
        notes(resolver, property, row.source, t.layer);
        if (property.secret && value !== undefined && value !== '-') {
          notice(
            'note',
            `the value of ${property.short} was on the command line, where other users see it (ps) and the shell history keeps it; ` +
              `"fileupload config set ${property.short} -" reads it from standard input`,
          );
        }
      },
    );

  config
    .command('unset')
    .description('remove a property from the configuration file (the next layer or the default applies)')
    .argument('<name>', NAME_HELP)
    .option('--server-specific', 'remove plugin.httpfileupload.serverspecific.NAME (this node only)')
    .option('--local', "on a cluster node: remove it from this node's own file instead of the shared one")
    .action(async (name: string, opts: { serverSpecific?: boolean; local?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const { lookup, write, describe, target, precondition, unreadElement, unsetElement } = await engine();
      // An option of the component library that is not read can still be removed from the file.
      const unread = unreadElement(name, opts.serverSpecific === true);
      if (unread) {
        const removed = await write(() => unsetElement(g.config, unread));
        if (g.json) printJson({ name: unread, removed, file: g.config });
        else process.stdout.write(`${unread} ${removed ? 'removed' : 'was not set'}\n`);
        return;
      }
      const { property, serverSpecific } = lookup(name);
      const t = await target(g.config, property, {
        serverSpecific: serverSpecific || opts.serverSpecific === true,
        local: opts.local === true,
      });
      const { layer, name: written } = t;
      await precondition(g.config, property, layer, undefined);
      const removed = await write(() => t.unset());
      const resolver = await readBack(g.config, written);
      const row = describe(resolver, property, false);
      const shown = property.secret && row.value !== null ? MASK : row.value;
      if (g.json) {
        printJson({
          name: written,
          removed,
          layer,
          file: t.location,
          restart: property.restart,
          effective: { value: typedValue(property, shown, MASK), source: row.source },
        });
      } else {
        process.stdout.write(
          `${removed ? `${written} removed` : `${written} was not set`}; effective value: ${shown ?? '(unset)'} (${row.source})\n`,
        );
      }
      if (removed) notes(resolver, property, row.source, layer);
    });

  config
    .command('list')
    .description('show every property with its effective value and source')
    .option('--show-secrets', 'print secret values instead of masking them')
    .action(async (opts: { showSecrets?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const { describe, properties, strayNames } = await engine();
      const resolver = await resolverFor(g.config);
      const rows = properties.map((p) => describe(resolver, p, opts.showSecrets === true));
      if (g.json) {
        printJson(rows.map((r, i) => jsonRow(properties[i]!, r)));
      } else {
        const w = Math.max(...rows.map((r) => r.name.length));
        const v = Math.min(48, Math.max(5, ...rows.map((r) => (r.value ?? '(unset)').length)));
        // One write: a reader that stops early (| head) then gets everything or nothing.
        const lines = [`${'NAME'.padEnd(w)}  ${'VALUE'.padEnd(v)}  SOURCE`];
        for (const r of rows)
          lines.push(
            `${r.name.padEnd(w)}  ${(r.value ?? '(unset)').padEnd(v)}  ${r.source}${r.error ? '  (invalid)' : ''}`,
          );
        process.stdout.write(lines.join('\n') + '\n');
      }
      const { strays, compat } = await strayNames(g.config);
      for (const stray of strays) notice('warning', stray);
      for (const note of compat) notice('note', note);
      invalidExit(
        rows.filter((r) => r.error),
        g.json,
      );
    });

  registerConfigCheck(config);
}

/** Marks an argument that looks like an option but is a value (see ValueCommand). */
const VALUE_MARK = '\0';

/**
 * A command whose arguments may start with '-': `config set slotLifetime -5m` hands -5m to the
 * property's own validation instead of failing as an unknown option. Only a single-dash argument
 * that names no option of the command or its parents counts as a value; `--` words stay options,
 * so a mistyped long option is still reported as one.
 */
class ValueCommand extends Command {
  override parseOptions(args: string[]): ParseOptionsResult {
    const options = [...this.options];
    for (let c = this.parent; c; c = c.parent) options.push(...c.options);
    const named = (arg: string) => options.find((o) => o.short === arg || o.long === arg);
    const marked = args.map((arg, i) => {
      const prev = named(args[i - 1] ?? '');
      if (prev && (prev.required || prev.optional)) return arg; // the value of the option before it
      if (!/^-[^-]/.test(arg) || arg === '-h' || named(arg.slice(0, 2))) return arg;
      return VALUE_MARK + arg;
    });
    const { operands, unknown } = super.parseOptions(marked);
    const unmark = (a: string) => (a.startsWith(VALUE_MARK) ? a.slice(VALUE_MARK.length) : a);
    return { operands: operands.map(unmark), unknown: unknown.map(unmark) };
  }
}

/** The configuration engine, loaded on demand. */
async function engine() {
  const [catalogueMod, typesMod, errorsMod, loadMod, editMod, xmlMod, clusterMod, lockMod, compatMod, encryptionMod] =
    await Promise.all([
      import('../config/catalogue.ts'),
      import('../config/types.ts'),
      import('../config/errors.ts'),
      import('../config/load.ts'),
      import('../config/edit.ts'),
      import('../config/openfire-xml.ts'),
      import('../cluster/config-layer.ts'),
      import('../lock/lock.ts'),
      import('../config/compat.ts'),
      import('../config/encryption.ts'),
    ]);
  type Property = import('../config/catalogue.ts').Property;
  type Resolver = import('../config/resolve.ts').Resolver;
  const { lookupProperty, suggestProperty, properties, GENERAL_PREFIX, SERVER_SPECIFIC_PREFIX } = catalogueMod;

  const lookup = (name: string) => {
    const found = lookupProperty(name);
    if (found) return found;
    const unread = compatMod.unreadOption(name);
    if (unread) throw new CliError(compatMod.notReadNote(name, unread), ExitCode.Usage, 'unknown-property');
    const hint = suggestProperty(name);
    throw new CliError(
      `unknown property "${name}"${hint.length ? `; did you mean ${hint.join(' or ')}?` : ''} ("fileupload config list" shows every property)`,
      ExitCode.Usage,
      'unknown-property',
    );
  };

  const checkValue = (property: Property, written: string, value: string): string => {
    const text = value.trim();
    if (text === '') {
      throw new CliError(
        `${written}: an empty value means unset; use "fileupload config unset ${property.short}"`,
        ExitCode.Usage,
        'invalid-value',
      );
    }
    try {
      property.parse(text);
    } catch (err) {
      if (err instanceof typesMod.InvalidValue) {
        throw new CliError(
          `${written}: ${err.message}; nothing was changed (rule: ${property.rule})`,
          ExitCode.Usage,
          'invalid-value',
        );
      }
      throw err;
    }
    return text;
  };

  const describe = (resolver: Resolver, p: Property, showSecrets: boolean): Row => {
    let r: ReturnType<Resolver['resolve']>;
    let def: string | null;
    try {
      r = resolver.resolve(p.short);
      def = resolver.defaultValue(p.short) ?? null;
    } catch (err) {
      // A value Openfire encrypted that does not decrypt (or a default computed from one).
      if (!(err instanceof encryptionMod.UndecryptableValue)) throw err;
      const source = err.property.startsWith(SERVER_SPECIFIC_PREFIX) ? 'serverspecific' : 'general';
      return {
        name: p.name,
        value: null,
        source,
        default: null,
        type: p.type,
        restart: p.restart,
        secret: p.secret,
        error: `${err.property}: ${err.message}`,
      };
    }
    let error: string | undefined;
    if (r.text !== undefined) {
      try {
        p.parse(r.text);
      } catch (err) {
        if (!(err instanceof typesMod.InvalidValue)) throw err;
        error = `${loadMod.sourceName(p, r.source)}: ${err.message} (rule: ${p.rule})`;
      }
    }
    const mask = (v: string | null) => (v !== null && p.secret && !showSecrets ? MASK : v);
    return {
      name: p.name,
      value: mask(r.text ?? null),
      source: r.source,
      default: mask(def),
      type: p.type,
      restart: p.restart,
      secret: p.secret,
      ...(error ? { error } : {}),
    };
  };

  /**
   * Elements under plugin.httpfileupload that are no property (typos are otherwise silent), and
   * the notes on names of the Openfire plugin and its component library read differently here.
   */
  const strayNames = async (file: string): Promise<{ strays: string[]; compat: string[] }> => {
    const { doc } = await editMod.readConfigDocument(file);
    if (!doc) return { strays: [], compat: [] };
    const names = [
      ...xmlMod.leafNames(doc, GENERAL_PREFIX.slice(0, -1)),
      ...xmlMod.leafNames(doc, SERVER_SPECIFIC_PREFIX.slice(0, -1)),
    ];
    const strays = names
      .filter((n) => !lookupProperty(n) && !compatMod.unreadOption(n))
      .map((n) => {
        const hint = suggestProperty(n);
        return `${n} in the configuration file is not a known property and is ignored${hint.length ? ` (did you mean ${hint.join(' or ')}?)` : ''}`;
      });
    return { strays, compat: compatMod.compatibilityNotes(doc).map((n) => n.text) };
  };

  /** Runs a file change, turning config and file-system errors into CLI errors. */
  const write = async <T>(change: () => Promise<T>): Promise<T> => {
    try {
      return await change();
    } catch (err) {
      if (err instanceof clusterMod.ClusterTargetError)
        throw new CliError(`${err.message}; nothing was changed`, ExitCode.Usage, 'invalid-config');
      if (err instanceof lockMod.LockHeldError)
        throw new CliError(`${err.message}; nothing was changed, try again`, ExitCode.Locked);
      throw toCliError(err, errorsMod.ConfigError);
    }
  };

  /** Where set/unset write: this node's file, or the cluster's shared one (src/cluster/config-layer.ts). */
  const target = async (file: string, property: Property, opts: { serverSpecific: boolean; local: boolean }) => {
    const layers = opts.serverSpecific || opts.local || property.local ? [] : await layersFor(file);
    return write(async () => clusterMod.writeTarget(file, layers, property, opts));
  };

  /**
   * Refuses a change of a bootstrap property in this node's file that would leave cluster mode
   * without its shared place (`config set cluster true` before fileRepo): every later `config set`
   * would fail. `text` undefined: the value is removed.
   */
  const precondition = async (file: string, property: Property, layer: string, text: string | undefined) => {
    if (!property.local) return;
    const layers = await write(() => loadMod.loadLayers(file));
    const missing = clusterMod.clusterPreconditionAfter(layers, { layer, short: property.short, text });
    if (missing !== undefined) throw new CliError(`${missing}; nothing was changed`, ExitCode.Usage, 'precondition');
  };

  /** The element an option of the component library that is not read is written as, or undefined for any other name. */
  const unreadElement = (name: string, serverSpecific: boolean): string | undefined => {
    if (lookupProperty(name) || !compatMod.unreadOption(name)) return undefined;
    const short = name.replace(/^(?:plugin\.httpfileupload\.)?(?:serverspecific\.)?/, '');
    const specific = serverSpecific || /^(?:plugin\.httpfileupload\.)?serverspecific\./.test(name);
    return (specific ? SERVER_SPECIFIC_PREFIX : GENERAL_PREFIX) + short;
  };

  return {
    lookup,
    checkValue,
    describe,
    strayNames,
    write,
    target,
    precondition,
    unreadElement,
    unsetElement: editMod.unsetConfigProperty,
    properties,
    SERVER_SPECIFIC_PREFIX,
  };
}

/** Longest value read from standard input or a file (a value is one line). */
const MAX_VALUE_BYTES = 64 * 1024;

/**
 * The value of `config set`: the argument, or one line from standard input (`-`) or from
 * `--from-file`, its line break dropped. An empty or multi-line value is refused.
 */
async function valueArgument(
  written: string,
  value: string | undefined,
  fromFile: string | undefined,
): Promise<string> {
  if (fromFile !== undefined && value !== undefined) {
    throw new CliError(`${written}: give the value or --from-file, not both; nothing was changed`, ExitCode.Usage);
  }
  if (fromFile === undefined && value === undefined) {
    throw new CliError(
      `${written}: no value given: pass it, - to read it from standard input, or --from-file PATH`,
      ExitCode.Usage,
    );
  }
  if (value !== undefined && value !== '-') return value;
  const from = fromFile ?? 'standard input';
  let raw: string;
  if (fromFile !== undefined) {
    const { open } = await import('node:fs/promises');
    const cannot = (err: unknown) =>
      new CliError(
        `--from-file: cannot read ${fromFile}: ${errCode(err) ?? (err as Error).message}; nothing was changed`,
        ExitCode.Usage,
      );
    const fh = await open(fromFile, 'r').catch((err: unknown) => {
      throw cannot(err);
    });
    try {
      // A loop, not one read: a pipe or FIFO (--from-file <(…)) hands out its bytes in pieces.
      const buf = Buffer.alloc(MAX_VALUE_BYTES + 1);
      let filled = 0;
      try {
        for (let got = -1; got !== 0 && filled < buf.length; filled += got)
          got = (await fh.read(buf, filled, buf.length - filled, null)).bytesRead;
      } catch (err) {
        throw cannot(err);
      }
      if (filled > MAX_VALUE_BYTES)
        throw new CliError(
          `${written}: ${from} is longer than ${MAX_VALUE_BYTES} bytes; nothing was changed`,
          ExitCode.Usage,
        );
      raw = buf.subarray(0, filled).toString('utf8');
    } finally {
      await fh.close();
    }
  } else {
    raw = await readStdin(written);
  }
  const line = raw.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(line))
    throw new CliError(
      `${written}: ${from} holds more than one line; a value is one line; nothing was changed`,
      ExitCode.Usage,
    );
  if (line.trim() === '')
    throw new CliError(`${written}: ${from} gave an empty value; nothing was changed`, ExitCode.Usage);
  return line;
}

/** Standard input up to its end; on a terminal, one line typed without echo. */
async function readStdin(written: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY === true && typeof stdin.setRawMode === 'function') return readHidden(written);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_VALUE_BYTES) {
      stdin.destroy();
      throw new CliError(
        `${written}: standard input is longer than ${MAX_VALUE_BYTES} bytes; nothing was changed`,
        ExitCode.Usage,
      );
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One line typed on the terminal, not echoed (a secret must not stay on the screen). */
function readHidden(written: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(`${written}: type the value (it is not shown) and press Enter: `);
  stdin.setRawMode(true);
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (err?: CliError) => {
      stdin.setRawMode(false);
      stdin.off('data', onData);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(`${text}\n`);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003')
          return finish(new CliError(`${written}: interrupted; nothing was changed`, ExitCode.Usage));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else text += ch;
        if (text.length > MAX_VALUE_BYTES)
          return finish(
            new CliError(
              `${written}: the value is longer than ${MAX_VALUE_BYTES} bytes; nothing was changed`,
              ExitCode.Usage,
            ),
          );
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** One row of `config list --json` (and the basis of `config get`). */
interface Row {
  name: string;
  value: string | null;
  source: string;
  default: string | null;
  type: string;
  restart: boolean;
  secret: boolean;
  error?: string;
}

async function layersFor(file: string) {
  const [{ loadLayers }, { ConfigError }, { clusterLayers }] = await Promise.all([
    import('../config/load.ts'),
    import('../config/errors.ts'),
    import('../cluster/config-layer.ts'),
  ]);
  try {
    return await loadLayers(file, { cluster: clusterLayers });
  } catch (err) {
    throw toCliError(err, ConfigError);
  }
}

/** The configuration after a change that was written (a failure to read it back must not claim otherwise). */
async function readBack(file: string, written: string) {
  const [{ loadLayers }, { Resolver }, { clusterLayers }] = await Promise.all([
    import('../config/load.ts'),
    import('../config/resolve.ts'),
    import('../cluster/config-layer.ts'),
  ]);
  try {
    return new Resolver(await loadLayers(file, { cluster: clusterLayers }));
  } catch (err) {
    throw new CliError(
      `${written} was changed, but the configuration cannot be read back: ${(err as Error).message}`,
      ExitCode.Usage,
      'invalid-config',
    );
  }
}

async function resolverFor(file: string) {
  const { Resolver } = await import('../config/resolve.ts');
  return new Resolver(await layersFor(file));
}

function toCliError(err: unknown, configError: abstract new (...args: never[]) => Error): unknown {
  if (err instanceof configError)
    return new CliError(`${err.message}; nothing was changed`, ExitCode.Usage, 'invalid-config');
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.path === 'string')
    return new CliError(`${e.path}: ${e.message}`, ExitCode.Failure);
  return err;
}

function notes(
  resolver: { layers: readonly { source: string }[] },
  property: { restart: boolean; short: string },
  effectiveSource: string,
  layer: string,
): void {
  const rank = (source: string) => resolver.layers.findIndex((l) => l.source === source);
  if (rank(effectiveSource) < rank(layer)) {
    notice('note', `the ${effectiveSource} value of ${property.short} takes precedence over the ${layer} one`);
  }
  if (property.restart) notice('note', `restart serve for ${property.short} to take effect`);
}

/** Exit 2 for configured values that break their rule: one line each as text, one error object under --json. */
function invalidExit(rows: { error?: string }[], json: boolean): void {
  if (rows.length === 0) return;
  if (!json) for (const r of rows) process.stderr.write(`fileupload: invalid: ${r.error}\n`);
  fail('invalid-value', rows.map((r) => r.error).join('; '), ExitCode.Usage);
}

/**
 * A row as `config get --json` and `config list --json` print it: `value` and `default` typed
 * (see typedValue), `text` the value as written.
 */
function jsonRow(property: import('../config/catalogue.ts').Property, row: Row) {
  const { name, value, source, default: def, type, restart, secret, error } = row;
  return {
    name,
    value: typedValue(property, value, MASK),
    text: value,
    source,
    default: typedValue(property, def, MASK),
    type,
    restart,
    secret,
    ...(error !== undefined ? { error } : {}),
  };
}
