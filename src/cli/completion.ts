import type { Command } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { printJson } from './output.ts';

/**
 * Shell completion generated from the commander command tree itself, so a new subcommand or
 * option completes the day it is registered: subcommands, options (and whether they take a
 * value), file names after --config and other file options, property names for
 * `config get|set|unset`, the words of an enum or boolean property after `config set NAME`, shell
 * names for `completion`.
 */

/** What the first positional argument of a command completes to. */
export type ArgKind = 'property' | 'value' | 'shell' | 'none';

/** One command of the tree, flattened. */
export interface CommandSpec {
  /** Words from the root, e.g. ['config', 'get']; [] for the root. */
  path: string[];
  subcommands: string[];
  /** Every option spelling, e.g. ['-c', '--config', '--json']. */
  options: string[];
  /** Spellings of options that take a value (the next word is that value). */
  valueOptions: string[];
  /** Spellings of options whose value is a file name. */
  fileOptions: string[];
  /** Kind of each positional argument, in order. */
  args: ArgKind[];
}

export interface CompletionSpec {
  program: string;
  /** Root options valid after any subcommand (--config, --json; not --help/--version). */
  globalOptions: string[];
  commands: CommandSpec[];
  /** Short property names (config get maxFileSize). */
  properties: string[];
  /** Full property names, offered once the word starts with "plugin.". */
  fullProperties: string[];
  /** The words a property takes, by every name it is completed under (enum and boolean properties only). */
  values: Record<string, readonly string[]>;
}

const SHELLS = ['bash', 'zsh'] as const;
/** Option values that are files (by the option's long name). */
const FILE_OPTIONS = new Set(['--config', '--password-file']);

function argKind(cmdPath: string[], argName: string): ArgKind {
  if (cmdPath[0] === 'config' && argName === 'name') return 'property';
  if (cmdPath.join(' ') === 'config set' && argName === 'value') return 'value';
  if (cmdPath[0] === 'completion' && argName === 'shell') return 'shell';
  return 'none';
}

/**
 * Flattens the commander tree into what the scripts need. Pure (reads the tree).
 *
 * @example
 * const spec = completionSpec(buildProgram(), { properties: ['maxFileSize'], fullProperties: [], values: {} });
 */
export function completionSpec(
  program: Command,
  props: { properties: string[]; fullProperties: string[]; values: Record<string, readonly string[]> },
): CompletionSpec {
  const commands: CommandSpec[] = [];
  const walk = (cmd: Command, path: string[]): void => {
    const help = cmd.createHelp();
    const subs = help.visibleCommands(cmd);
    const options = help.visibleOptions(cmd);
    const spellings = (o: (typeof options)[number]) => [o.short, o.long].filter((s): s is string => s !== undefined);
    commands.push({
      path,
      subcommands: subs.map((c) => c.name()),
      options: options.flatMap(spellings),
      valueOptions: options.filter((o) => o.required || o.optional).flatMap(spellings),
      fileOptions: options.filter((o) => o.long !== undefined && FILE_OPTIONS.has(o.long)).flatMap(spellings),
      args: cmd.registeredArguments.map((a) => argKind(path, a.name())),
    });
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  const rootOnly = new Set(['-h', '--help', '-V', '--version']);
  const globalOptions = (commands[0]?.options ?? []).filter((o) => !rootOnly.has(o));
  return { program: program.name(), globalOptions, commands, ...props };
}

/**
 * What completion offers of the catalogue: short and full names, and the words of each enum or
 * boolean property by every name.
 *
 * @example
 * completionSpec(program, completedProperties(properties, SERVER_SPECIFIC_PREFIX));
 */
export function completedProperties(
  properties: readonly { short: string; name: string; type: string; values?: readonly string[] }[],
  serverSpecificPrefix: string,
): { properties: string[]; fullProperties: string[]; values: Record<string, readonly string[]> } {
  const values: Record<string, readonly string[]> = {};
  for (const p of properties) {
    const words = p.values ?? (p.type === 'boolean' ? ['true', 'false'] : undefined);
    if (words) for (const name of [p.short, p.name, serverSpecificPrefix + p.short]) values[name] = words;
  }
  return {
    properties: properties.map((p) => p.short),
    fullProperties: properties.flatMap((p) => [p.name, serverSpecificPrefix + p.short]),
    values,
  };
}

const shellWords = (words: readonly string[]) => words.join(' ');

/** One `case` row per set of words: the names that take them, as one pattern. */
function valueRows(values: Record<string, readonly string[]>): [string, string][] {
  const byWords = new Map<string, string[]>();
  for (const [name, words] of Object.entries(values)) {
    const key = shellWords(words);
    byWords.set(key, [...(byWords.get(key) ?? []), name]);
  }
  return [...byWords].map(([words, names]) => [names.map((n) => `"${n}"`).join('|'), words]);
}
const caseLabel = (path: string[]) => `"${path.join(' ')}"`;

/** The helper functions both scripts share: plain POSIX `case` tables keyed by command path. */
function tables(spec: CompletionSpec, fn: string, shell: 'bash' | 'zsh'): string {
  const table = (name: string, pick: (c: CommandSpec) => string) => {
    const rows = spec.commands.map((c) => ({ c, v: pick(c) })).filter((r) => r.v !== '');
    return [
      `${fn}_${name}() {`,
      '  case "$1" in',
      ...rows.map((r) => `    ${caseLabel(r.c.path)}) echo "${r.v}" ;;`),
      '  esac',
      '}',
    ].join('\n');
  };
  return [
    table('subs', (c) => shellWords(c.subcommands)),
    table('opts', (c) => shellWords(c.options)),
    table('valopts', (c) => shellWords(c.valueOptions)),
    table('fileopts', (c) => shellWords(c.fileOptions)),
    table('args', (c) => (c.args.some((a) => a !== 'none') ? shellWords(c.args) : '')),
    `${fn}_globals() {`,
    `  [ -n "$1" ] && echo "${shellWords(spec.globalOptions)}"`,
    '}',
    `${fn}_values() {`,
    '  case "$1" in',
    ...valueRows(spec.values).map(([names, words]) => `    ${names}) echo "${words}" ;;`),
    '  esac',
    '}',
    `${fn}_properties() {`,
    '  case "$1" in',
    `    plugin.*) echo "${shellWords(spec.fullProperties)}" ;;`,
    `    *) echo "${shellWords(spec.properties)}" ;;`,
    '  esac',
    '}',
    // "word in list".
    `${fn}_in() {`,
    '  local w',
    // zsh does not split unquoted parameters unless told to.
    shell === 'zsh'
      ? '  for w in ${=2}; do [ "$w" = "$1" ] && return 0; done'
      : '  for w in $2; do [ "$w" = "$1" ] && return 0; done',
    '  return 1',
    '}',
  ].join('\n');
}

/**
 * The bash completion script (`source <(fileupload completion bash)`).
 *
 * @example
 * process.stdout.write(bashScript(spec));
 */
export function bashScript(spec: CompletionSpec): string {
  const fn = `_${spec.program.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return `# bash completion for ${spec.program}, generated by "${spec.program} completion bash".
# Load it now:      source <(${spec.program} completion bash)
# Or install it:    ${spec.program} completion bash > /etc/bash_completion.d/${spec.program}

${tables(spec, fn, 'bash')}

${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="" w i skip=0 argn=0 lastarg="" candidates=""
  [ "$COMP_CWORD" -gt 0 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # Walk the words before the cursor: subcommands extend the path, option values are skipped.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$w" in
      --*=*) ;;
      -*) if ${fn}_in "$w" "$(${fn}_valopts "$path") $(${fn}_valopts "")"; then skip=1; fi ;;
      *) if ${fn}_in "$w" "$(${fn}_subs "$path")"; then path="\${path:+$path }$w"; argn=0; else argn=$((argn + 1)); lastarg="$w"; fi ;;
    esac
  done
  if [ "$skip" = 1 ]; then
    if ${fn}_in "$prev" "$(${fn}_fileopts "$path") $(${fn}_fileopts "")"; then
      compopt -o filenames 2>/dev/null
      COMPREPLY=( $(compgen -f -- "$cur") )
    else
      COMPREPLY=()
    fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    candidates="$(${fn}_opts "$path") $(${fn}_globals "$path")"
  elif [ -n "$(${fn}_subs "$path")" ]; then
    candidates="$(${fn}_subs "$path")"
  else
    local kinds=( $(${fn}_args "$path") )
    case "\${kinds[argn]}" in
      property) candidates="$(${fn}_properties "$cur")" ;;
      value) candidates="$(${fn}_values "$lastarg")" ;;
      shell) candidates="${shellWords(SHELLS)}" ;;
    esac
  fi
  COMPREPLY=( $(compgen -W "$candidates" -- "$cur") )
  return 0
}

complete -F ${fn} ${spec.program}
`;
}

/**
 * The zsh completion script (`source <(fileupload completion zsh)` after compinit, or save it as
 * `_fileupload` in a directory of $fpath).
 *
 * @example
 * process.stdout.write(zshScript(spec));
 */
export function zshScript(spec: CompletionSpec): string {
  const fn = `_${spec.program.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return `#compdef ${spec.program}
# zsh completion for ${spec.program}, generated by "${spec.program} completion zsh".
# Load it now (after compinit):  source <(${spec.program} completion zsh)
# Or install it:                 ${spec.program} completion zsh > "\${fpath[1]}/_${spec.program}"

${tables(spec, fn, 'zsh')}

${fn}() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmdpath="" w i skip=0 argn=0 lastarg="" candidates=""
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    if [[ $skip == 1 ]]; then skip=0; continue; fi
    case "$w" in
      --*=*) ;;
      -*) if ${fn}_in "$w" "$(${fn}_valopts "$cmdpath") $(${fn}_valopts "")"; then skip=1; fi ;;
      *) if ${fn}_in "$w" "$(${fn}_subs "$cmdpath")"; then cmdpath="\${cmdpath:+$cmdpath }$w"; argn=0; else argn=$((argn + 1)); lastarg="$w"; fi ;;
    esac
  done
  if [[ $skip == 1 ]]; then
    if ${fn}_in "$prev" "$(${fn}_fileopts "$cmdpath") $(${fn}_fileopts "")"; then _files; fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    candidates="$(${fn}_opts "$cmdpath") $(${fn}_globals "$cmdpath")"
  elif [[ -n "$(${fn}_subs "$cmdpath")" ]]; then
    candidates="$(${fn}_subs "$cmdpath")"
  else
    local -a kinds
    kinds=( \${=$(${fn}_args "$cmdpath")} )
    case "\${kinds[argn+1]}" in
      property) candidates="$(${fn}_properties "$cur")" ;;
      value) candidates="$(${fn}_values "$lastarg")" ;;
      shell) candidates="${shellWords(SHELLS)}" ;;
    esac
  fi
  compadd -- \${=candidates}
}

if [[ "\${funcstack[1]}" == "${fn}" ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${spec.program}
fi
`;
}

/**
 * Registers `fileupload completion bash|zsh`.
 *
 * @example
 * registerCompletion(program);
 */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash or zsh)')
    .argument('<shell>', `the shell: ${SHELLS.join(' or ')}`)
    .addHelpText(
      'after',
      `
bash:  source <(fileupload completion bash)        (or save it in /etc/bash_completion.d/fileupload)
zsh:   source <(fileupload completion zsh)         (after compinit; or save it as _fileupload in $fpath)`,
    )
    .action(async (shell: string, _opts: unknown, cmd: Command) => {
      const { json } = globalOptions(cmd);
      if (!(SHELLS as readonly string[]).includes(shell)) {
        throw new CliError(`unknown shell "${shell}": choose ${SHELLS.join(' or ')}`, ExitCode.Usage);
      }
      const { properties, SERVER_SPECIFIC_PREFIX } = await import('../config/catalogue.ts');
      let root = cmd;
      while (root.parent) root = root.parent;
      const spec = completionSpec(root, completedProperties(properties, SERVER_SPECIFIC_PREFIX));
      const script = shell === 'bash' ? bashScript(spec) : zshScript(spec);
      if (json) printJson({ shell, script });
      else process.stdout.write(script);
    });
}
