/**
 * The catalogue as documentation: the README's configuration reference (Markdown) and the
 * property list of fileupload-config(1) (roff), and beside them the table of the Openfire
 * plugin's and its component library's names (compat.ts). scripts/gen-docs.ts writes them into
 * the files; a test fails when the files and the catalogue disagree.
 */
import { GENERAL_PREFIX, properties, SERVER_SPECIFIC_PREFIX, type Property } from './catalogue.ts';
import { FOREIGN_NAMES, propertyFor, type ForeignName } from './compat.ts';

function md(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\*/g, '\\*').replace(/</g, '&lt;');
}

function applies(p: Property): string {
  return p.restart ? 'restart' : 'SIGHUP';
}

/**
 * The README's configuration reference (Markdown, without the surrounding markers).
 *
 * @example
 * const section = markdownReference();
 */
export function markdownReference(): string {
  const lines = [
    '## Configuration reference',
    '',
    `Every property lives in the openfire.xml-compatible configuration file under \`${GENERAL_PREFIX}<name>\`;`,
    `\`${SERVER_SPECIFIC_PREFIX}<name>\` overrides it on one node. Precedence: serverspecific > general >`,
    'default; an empty value counts as unset. The short name (`maxFileSize`) is accepted wherever a name is.',
    'On a cluster node (`cluster` = true) the shared `{fileRepo}/cluster/openfire.xml` comes between the two:',
    'serverspecific > cluster > general > default; "node-local" properties are never read from it.',
    'Sizes take binary units (`50M`, `1GiB`); durations take `s`, `m`, `h`, `d` (a plain number is seconds).',
    '"Applies" says whether a running `serve` picks a change up on SIGHUP or needs a restart.',
    'Secrets are masked by `config get` and `config list` unless `--show-secrets` is given.',
    '',
    '| Property | Type | Default | Applies | Description |',
    '|---|---|---|---|---|',
  ];
  for (const p of properties) {
    const aliases = p.aliases.length > 0 ? ` Alias: ${p.aliases.join(', ')}.` : '';
    const desc = `${p.help}${p.secret ? ' Secret.' : ''}${p.local ? ' Node-local.' : ''}${aliases} Valid: ${p.rule}.`;
    lines.push(`| \`${p.short}\` | ${p.type} | ${md(p.defaultText)} | ${applies(p)} | ${md(desc)} |`);
  }
  return lines.join('\n') + '\n';
}

/** How fileupload reads a foreign name: by which property (undefined: not at all), as its alias or not. */
function readBy(f: ForeignName): { property: Property | undefined; alias: boolean; difference: string } {
  const property = propertyFor(f);
  if (f.read && !property) return { property, alias: false, difference: 'This version has no such property.' };
  return { property, alias: property !== undefined && property.short !== f.name, difference: f.difference };
}

const FROM = { plugin: 'the Openfire plugin', component: 'the component library' } as const;

/**
 * The README's table of the Openfire plugin's properties and the component library's options
 * (Markdown, without the surrounding markers).
 *
 * @example
 * const section = markdownCompatibility();
 */
export function markdownCompatibility(): string {
  const lines = [
    '### Openfire plugin and component library names',
    '',
    'Every property of the Openfire plugin (1.5) and every option of the component library it embeds',
    '(httpfileuploadcomponent 2.0, whose standalone launcher takes them on its command line), with the',
    "fileupload property that reads it. The plugin keeps its general properties in Openfire's database",
    `and only \`${SERVER_SPECIFIC_PREFIX}<name>\` and \`<fqdn>\` in openfire.xml; both forms are read here.`,
    'Values Openfire encrypted (`encrypted="true"`) are decrypted with the security.xml beside the',
    'configuration file. An option marked "not read" is reported by `config list`, `doctor` and `serve`',
    'when the file holds it; `config set` refuses it and `config unset` removes it.',
    '',
    '| Name | In | Default there | fileupload | Default here | Difference |',
    '|---|---|---|---|---|---|',
  ];
  for (const f of FOREIGN_NAMES) {
    const { property: p, alias, difference } = readBy(f);
    const name = p ? `\`${p.short}\`${alias ? ' (alias)' : ''}` : 'not read';
    lines.push(
      `| \`${f.name}\` | ${f.from} | ${md(f.theirDefault)} | ${name} | ${md(p?.defaultText ?? '')} | ${md(difference)} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * The same table for fileupload-config(1) (roff, without the surrounding markers).
 *
 * @example
 * const section = roffCompatibility();
 */
export function roffCompatibility(): string {
  const lines: string[] = [];
  for (const f of FOREIGN_NAMES) {
    const { property: p, alias, difference } = readBy(f);
    lines.push('.TP', `.B ${f.name}`);
    lines.push(roff(`In ${FROM[f.from]}; default there: ${f.theirDefault}.`));
    lines.push('.br', p ? `Read as \\fB${p.short}\\fR${alias ? ' (an alias)' : ''}.` : 'Not read by fileupload.');
    if (difference !== '') lines.push('.br', roff(difference));
  }
  return lines.join('\n') + '\n';
}

/**
 * Escapes text for a roff line: backslashes, a leading control character, non-ASCII.
 *
 * @example
 * roff('1–65535'); // '1\\(en65535'
 */
export function roff(text: string): string {
  let out = text.replace(/\\/g, '\\e');
  out = out.replace(/[^\x00-\x7f]/gu, (ch) => {
    if (ch === '–') return '\\(en';
    if (ch === '—') return '\\(em';
    if (ch === '→') return '\\(->';
    return `\\[u${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}]`;
  });
  return /^[.']/.test(out) ? `\\&${out}` : out;
}

/**
 * The PROPERTIES list of fileupload-config(1) (roff, without the surrounding markers).
 *
 * @example
 * const section = roffReference();
 */
export function roffReference(): string {
  const lines: string[] = [];
  for (const p of properties) {
    lines.push('.TP', `.BR ${p.name} " (${p.type})"`, roff(p.help));
    lines.push('.br', roff(`Default: ${p.defaultText}.`));
    lines.push('.br', roff(`Valid: ${p.rule}.`));
    lines.push('.br', p.restart ? 'A change needs a restart of serve.' : 'A change applies on SIGHUP.');
    if (p.secret) lines.push('.br', 'Secret: masked unless \\fB\\-\\-show\\-secrets\\fR is given.');
    if (p.local)
      lines.push('.br', "Node-local: read from this node's file only, never from the cluster configuration.");
    if (p.aliases.length > 0) lines.push('.br', roff(`Also accepted as: ${p.aliases.join(', ')}.`));
  }
  return lines.join('\n') + '\n';
}
