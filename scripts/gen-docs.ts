/**
 * Regenerates the documentation that comes from code: the configuration reference (README and
 * fileupload-config(1), from the property catalogue), the exit codes and the error codes of
 * --json (README and fileupload(1)). Only the text between the marker comments is replaced.
 *
 *   scripts/node24 scripts/gen-docs.ts          rewrite the files
 *   scripts/node24 scripts/gen-docs.ts --check  exit 1 and name the files that are out of date
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, ExitCode, type ErrorCode } from '../src/cli/exit-codes.ts';
import { markdownCompatibility, markdownReference, roffCompatibility, roffReference } from '../src/config/reference.ts';

/** The checkout this script belongs to. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What each exit code means; a new ExitCode without a text here fails the type check. */
export const EXIT_CODE_TEXT: Record<keyof typeof ExitCode, string> = {
  Ok: 'success',
  Failure:
    'failure: the command ran but something did not work (a check failed, a deletion failed, a server error; status: serve runs degraded)',
  Usage:
    'usage or configuration error: bad arguments, an unknown property, an invalid value or a malformed configuration file; nothing was changed',
  Locked: 'another process holds the lock (purge, slots rm); try again later',
  Unavailable: 'the running serve could not be reached (status: not running)',
};

function exitCodesMarkdown(): string {
  const rows = (Object.keys(ExitCode) as (keyof typeof ExitCode)[]).map(
    (k) => `| ${ExitCode[k]} | ${EXIT_CODE_TEXT[k]} |`,
  );
  return (
    ['## Exit codes', '', 'The same for every subcommand:', '', '| Code | Meaning |', '|---|---|', ...rows].join('\n') +
    '\n'
  );
}

/** What each error code of --json means; a new ErrorCode without a text here fails the type check. */
export const ERROR_CODE_TEXT: Record<ErrorCode, string> = {
  usage: 'the command line is wrong: an unknown option or subcommand, a missing or malformed argument',
  'config-not-found': 'the configuration file does not exist',
  'invalid-config':
    'the configuration cannot be used: a syntax error, invalid values, required properties missing (config check, serve, status, purge, slots)',
  'unknown-property': 'no property has this name (config get, set, unset)',
  'invalid-value':
    "a value breaks its property's rule: the one given to config set, or one in the file (config get, list)",
  precondition:
    'config set/unset: the change would leave the configuration unusable (cluster true before fileRepo or s3Bucket)',
  unset: 'config get: the property is neither set nor has a default',
  'check-failed': 'doctor: a check failed',
  degraded: 'status: serve runs, degraded (the message gives the reasons)',
  'not-found': 'slots rm: an id names no upload or pending slot',
  failed: 'the command ran but something did not work (a deletion, an import, a file that cannot be read)',
  'lock-held': 'another process holds the maintenance lock (purge, slots rm)',
  'not-running': "status: serve's admin API does not answer",
  internal: 'an unexpected failure, a bug (FILEUPLOAD_DEBUG=1 prints where it happened)',
};

function errorCodesMarkdown(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map(
    (k) => `| \`${k}\` | ${ERROR_CODES[k]} | ${ERROR_CODE_TEXT[k]} |`,
  );
  return ['| code | exit | meaning |', '|---|---|---|', ...rows].join('\n') + '\n';
}

function errorCodesRoff(): string {
  return (
    (Object.keys(ERROR_CODES) as ErrorCode[])
      .map(
        (k) =>
          `.TP\n.BR ${k.replace(/-/g, '\\-')} " (exit ${ERROR_CODES[k]})"\n${ERROR_CODE_TEXT[k].replace(/\\/g, '\\e')}`,
      )
      .join('\n') + '\n'
  );
}

function exitCodesRoff(): string {
  return (
    (Object.keys(ExitCode) as (keyof typeof ExitCode)[])
      .map((k) => `.TP\n.B ${ExitCode[k]}\n${EXIT_CODE_TEXT[k].replace(/\\/g, '\\e')}`)
      .join('\n') + '\n'
  );
}

/**
 * The folders of src/ as their README.md files describe them: what each holds and what it may
 * import (the lines eslint.config.js enforces), one row per folder.
 */
function layersMarkdown(root: string = ROOT): string {
  const rows: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const folder = `${dir}/${entry.name}`;
      const text = readFileSync(join(root, folder, 'README.md'), 'utf8');
      const holds = /^# \S+ — (.*)$/m.exec(text)?.[1] ?? '';
      const may = /^May import: (.*)$/m.exec(text)?.[1] ?? '';
      rows.push(`| \`${folder}/\` | ${holds} | ${may} |`);
      visit(folder);
    }
  };
  visit('src');
  return ['| folder | holds | may import |', '|---|---|---|', ...rows].join('\n') + '\n';
}

/** A generated region of a file. */
export interface Region {
  /** Path relative to the checkout. */
  file: string;
  start: string;
  end: string;
  body: () => string;
}

/** Every generated region. */
export const REGIONS: Region[] = [
  {
    file: 'README.md',
    start: '<!-- config-reference:start -->',
    end: '<!-- config-reference:end -->',
    body: markdownReference,
  },
  {
    file: 'README.md',
    start: '<!-- openfire-names:start -->',
    end: '<!-- openfire-names:end -->',
    body: markdownCompatibility,
  },
  { file: 'README.md', start: '<!-- exit-codes:start -->', end: '<!-- exit-codes:end -->', body: exitCodesMarkdown },
  { file: 'README.md', start: '<!-- error-codes:start -->', end: '<!-- error-codes:end -->', body: errorCodesMarkdown },
  {
    file: 'man/fileupload-config.1',
    start: '.\\" config-reference:start',
    end: '.\\" config-reference:end',
    body: roffReference,
  },
  {
    file: 'man/fileupload-config.1',
    start: '.\\" openfire-names:start',
    end: '.\\" openfire-names:end',
    body: roffCompatibility,
  },
  {
    file: 'docs/ARCHITECTURE.md',
    start: '<!-- layers:start -->',
    end: '<!-- layers:end -->',
    body: () => layersMarkdown(),
  },
  { file: 'man/fileupload.1', start: '.\\" exit-codes:start', end: '.\\" exit-codes:end', body: exitCodesRoff },
  { file: 'man/fileupload.1', start: '.\\" error-codes:start', end: '.\\" error-codes:end', body: errorCodesRoff },
];

/**
 * Replaces the text between two marker lines (markers kept). A file without the markers gets the
 * region appended at its end.
 *
 * @example
 * splice('a\n<!-- s -->\nold\n<!-- e -->\n', '<!-- s -->', '<!-- e -->', 'new\n'); // 'a\n<!-- s -->\nnew\n<!-- e -->\n'
 */
export function splice(text: string, start: string, end: string, body: string): string {
  const i = text.indexOf(start);
  const j = text.indexOf(end, i + start.length);
  if (i === -1 || j === -1)
    return `${text}${text === '' || text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n'}${start}\n${body}${end}\n`;
  return `${text.slice(0, i + start.length)}\n${body}${text.slice(j)}`;
}

/**
 * The generated files as they should be, beside what they are now.
 *
 * @example
 * const stale = (await expectedFiles()).filter((f) => f.current !== f.expected);
 */
export async function expectedFiles(
  root = ROOT,
): Promise<{ file: string; current: string | undefined; expected: string }[]> {
  const out = new Map<string, { current: string | undefined; expected: string }>();
  for (const r of REGIONS) {
    let entry = out.get(r.file);
    if (!entry) {
      const current = await readFile(join(root, r.file), 'utf8').catch(() => undefined);
      // A README that does not exist yet starts with its title; the other sections are not ours.
      entry = { current, expected: current ?? (r.file === 'README.md' ? '# fileupload\n' : '') };
      out.set(r.file, entry);
    }
    entry.expected = splice(entry.expected, r.start, r.end, r.body());
  }
  return [...out].map(([file, v]) => ({ file, ...v }));
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const files = await expectedFiles();
  const stale = files.filter((f) => f.current !== f.expected);
  if (check) {
    for (const f of stale) process.stderr.write(`${f.file} is out of date: run scripts/node24 scripts/gen-docs.ts\n`);
    process.exitCode = stale.length > 0 ? 1 : 0;
    return;
  }
  for (const f of stale) {
    await writeFile(join(ROOT, f.file), f.expected);
    process.stdout.write(`wrote ${f.file}\n`);
  }
}

if (import.meta.main) await main();
