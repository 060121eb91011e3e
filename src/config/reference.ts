/**
 * The catalogue as documentation: the README's configuration reference (Markdown) and the
 * property list of fileupload-config(1) (roff). scripts/gen-docs.ts writes them into the files;
 * a test fails when the files and the catalogue disagree.
 */
import { GENERAL_PREFIX, properties, SERVER_SPECIFIC_PREFIX, type Property } from './catalogue.ts';

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
    const desc = `${p.help}${p.secret ? ' Secret.' : ''}${p.local ? ' Node-local.' : ''} Valid: ${p.rule}.`;
    lines.push(`| \`${p.short}\` | ${p.type} | ${md(p.defaultText)} | ${applies(p)} | ${md(desc)} |`);
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
  }
  return lines.join('\n') + '\n';
}
