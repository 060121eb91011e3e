/**
 * Errors of the configuration. The CLI turns both into exit code 2 (usage/config error);
 * serve exits 2 on them before it listens.
 */

/** One invalid or missing property. */
export interface ConfigProblem {
  /** Full property name, e.g. `plugin.httpfileupload.xmppPort` (or the serverspecific name). */
  property: string;
  /** What is wrong, e.g. `70000 is outside 1–65535`. */
  message: string;
  /** The property's rule in words. */
  rule: string;
}

/**
 * The configuration is unusable: invalid values or missing required properties. The message
 * names every property and its rule.
 *
 * @example
 * try { await loadSettings(file); } catch (err) {
 *   if (err instanceof ConfigError) { console.error(err.message); process.exitCode = 2; }
 * }
 */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], message?: string) {
    super(message ?? problems.map((p) => `${p.property}: ${p.message} (rule: ${p.rule})`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
  /** The first property named (convenient when there is one). */
  get property(): string | undefined {
    return this.problems[0]?.property;
  }
  /** The first problem's rule. */
  get rule(): string | undefined {
    return this.problems[0]?.rule;
  }
}

/**
 * The configuration file is not well-formed XML or not an openfire.xml (`<jive>` root).
 * It was not changed.
 *
 * @example
 * new ConfigSyntaxError('/etc/fileupload/openfire.xml', 3, 7, "</b> closes <a>").message;
 * // "/etc/fileupload/openfire.xml:3:7: malformed configuration: </b> closes <a>"
 */
export class ConfigSyntaxError extends ConfigError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  constructor(file: string, line: number, col: number, detail: string) {
    super([], `${file}:${line}:${col}: malformed configuration: ${detail}`);
    this.name = 'ConfigSyntaxError';
    this.file = file;
    this.line = line;
    this.col = col;
  }
}
