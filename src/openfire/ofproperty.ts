/**
 * Openfire's general properties, the ofProperty table, read from what an admin has: the embedded
 * HSQLDB database's `openfire.script` and `openfire.log` (one SQL statement a line, replayed in
 * that order), or a dump of the table from PostgreSQL (`INSERT` or `COPY … FROM stdin`) or
 * MySQL/MariaDB (`INSERT … VALUES (…),(…)`). The columns are `name, propValue` (before Openfire
 * 4.2), `+ encrypted` (4.2, schema 26) and `+ iv` (4.3 and later, schema 27), in that order in
 * every database. HSQLDB logs a transaction's rows when it commits, so the log's COMMIT lines need
 * no bookkeeping. Files are read line by line; only the properties asked for are kept.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { errCode } from '../errno.ts';
import { OpenfireFormatError } from './errors.ts';

/** One row of ofProperty. `encrypted` is the row's flag; Openfire also treats a name security.xml lists as encrypted. */
export interface StoredProperty {
  value: string;
  encrypted: boolean;
  /** Base64 of the AES IV (Openfire 4.3+), when the row has one. */
  iv: string | undefined;
}

/** Which property names to keep. */
export type PropertyFilter = (name: string) => boolean;

/** Properties outside `plugin.httpfileupload.` that the import reads: the domain, FQDN and HTTP-bind ports. */
const IMPORT_EXTRA = new Set(['xmpp.domain', 'xmpp.fqdn', 'httpbind.port.plain', 'httpbind.port.secure']);

/**
 * The properties `import openfire` needs: the plugin's and the few of Openfire's it falls back on.
 *
 * @example
 * importProperty('plugin.httpfileupload.maxFileSize'); // true
 * importProperty('passwordKey');                        // false
 */
export const importProperty: PropertyFilter = (name) =>
  name.startsWith('plugin.httpfileupload.') || IMPORT_EXTRA.has(name);

type Literal = string | number | boolean | null;
type Dialect = 'hsqldb' | 'postgresql' | 'mysql';

/** The ofProperty table name as each database spells it: optional schema, optional quotes, any case. */
const TABLE = String.raw`(?:(?:"[^"]+"|\x60[^\x60]+\x60|\w+)\.)?(?:"ofproperty"|\x60ofproperty\x60|ofproperty)`;
const HSQLDB_INSERT = new RegExp(String.raw`^INSERT INTO ${TABLE} VALUES\(`, 'i');
const HSQLDB_DELETE = new RegExp(String.raw`^DELETE FROM ${TABLE} WHERE `, 'i');
const HSQLDB_CACHED = new RegExp(String.raw`^CREATE (?:CACHED|TEXT) TABLE ${TABLE}\(`, 'i');
const DUMP_INSERT = new RegExp(String.raw`^INSERT\s+INTO\s+${TABLE}\s*(\(([^)]*)\))?\s*VALUES\s*`, 'i');
const DUMP_COPY = new RegExp(String.raw`^COPY\s+${TABLE}\s*(?:\(([^)]*)\))?\s+FROM\s+stdin;\s*$`, 'i');
/** Statements longer than this are not ofProperty rows; refusing them keeps memory bounded. */
const MAX_STATEMENT = 64 * 1024 * 1024;

/**
 * Replays the embedded database's script, then its log when there is one (HSQLDB's changes not yet
 * checkpointed into the script: `INSERT` of a new or changed row, `DELETE … WHERE NAME=…` of an old
 * one). A missing log is normal; a missing script is an error (ENOENT, as thrown by fs).
 *
 * @example
 * const props = await readHsqldbProperties('/opt/openfire/embedded-db/openfire.script');
 * props.get('xmpp.domain')?.value; // 'example.org'
 */
export async function readHsqldbProperties(
  scriptFile: string,
  logFile: string | undefined = scriptFile.replace(/\.script$/, '.log'),
  filter: PropertyFilter = importProperty,
): Promise<Map<string, StoredProperty>> {
  const out = new Map<string, StoredProperty>();
  await replayHsqldb(scriptFile, out, filter);
  if (logFile !== undefined && logFile !== scriptFile) {
    try {
      await replayHsqldb(logFile, out, filter);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
    }
  }
  return out;
}

async function replayHsqldb(file: string, out: Map<string, StoredProperty>, filter: PropertyFilter): Promise<void> {
  let lineNo = 0;
  for await (const raw of lines(file)) {
    lineNo++;
    if (lineNo === 1 && raw.startsWith('\x1f\x8b'))
      throw new OpenfireFormatError(file, 'a compressed HSQLDB script; only the text format is read');
    // The log prefixes a statement with the id of the session that ran it.
    const line = raw.replace(/^\/\*C\d+\*\//, '');
    if (HSQLDB_INSERT.test(line)) {
      const at = line.indexOf('(') + 1;
      const parsed = parseTuple(line, at, 'hsqldb', file, lineNo);
      if (parsed === undefined || line.slice(parsed.end).trim() !== '')
        throw new OpenfireFormatError(file, 'an ofProperty row that does not parse', lineNo);
      keep(out, filter, rowOf(parsed.values, undefined, file, lineNo));
    } else if (HSQLDB_CACHED.test(line)) {
      // Openfire's tables are MEMORY tables; a CACHED or TEXT one keeps its rows outside the script.
      throw new OpenfireFormatError(
        file,
        'ofProperty is not a MEMORY table, so its rows are not in the script; give a SQL dump of it instead',
        lineNo,
      );
    } else if (HSQLDB_DELETE.test(line)) {
      const name = deletedName(line.replace(HSQLDB_DELETE, ''), file, lineNo);
      out.delete(name);
    }
  }
}

/** The NAME of `NAME='…'` (first of the conditions HSQLDB writes, `AND`-joined). */
function deletedName(where: string, file: string, lineNo: number): string {
  const m = /^"?NAME"?\s*=\s*/i.exec(where);
  const parsed = m ? parseLiteral(where, m[0].length, 'hsqldb', file, lineNo) : undefined;
  if (!parsed || typeof parsed.value !== 'string')
    throw new OpenfireFormatError(file, 'a DELETE from ofProperty without NAME=', lineNo);
  return parsed.value;
}

/**
 * Reads the ofProperty rows of a SQL dump: PostgreSQL (pg_dump plain format, with `COPY` or with
 * `--inserts`/`--column-inserts`) or MySQL/MariaDB (mysqldump). Everything else in the dump is
 * skipped. MySQL's backslash escapes apply when the dump says it is MySQL's (its header, `/*!`
 * comments, or back-quoted names).
 *
 * @example
 * const props = await readSqlDumpProperties('openfire.sql');
 */
export async function readSqlDumpProperties(
  file: string,
  filter: PropertyFilter = importProperty,
): Promise<Map<string, StoredProperty>> {
  const out = new Map<string, StoredProperty>();
  let mysql = false;
  let lineNo = 0;
  let statement: { text: string; startLine: number; columns: string[] | undefined; dialect: Dialect } | undefined;
  let copy: { columns: string[] | undefined; startLine: number } | undefined;
  for await (const line of lines(file)) {
    lineNo++;
    if (copy) {
      if (line === '\\.') copy = undefined;
      else keep(out, filter, rowOf(line.split('\t').map(copyField), copy.columns, file, lineNo));
      continue;
    }
    if (statement) {
      statement.text += '\n' + line;
    } else {
      if (/^(?:-- (?:MySQL|MariaDB) dump|\/\*!\d{5})/.test(line)) mysql = true;
      const c = DUMP_COPY.exec(line);
      if (c) {
        copy = { columns: columnList(c[1]), startLine: lineNo };
        continue;
      }
      const m = DUMP_INSERT.exec(line);
      if (!m) continue;
      statement = {
        text: line,
        startLine: lineNo,
        columns: columnList(m[2]),
        dialect: mysql || line.includes('`') ? 'mysql' : 'postgresql',
      };
    }
    const rows = parseInsertRows(statement.text, statement.dialect, file, statement.startLine);
    if (rows === undefined) {
      if (statement.text.length > MAX_STATEMENT)
        throw new OpenfireFormatError(file, 'an ofProperty INSERT that never ends', statement.startLine);
      continue; // a string spans lines: read on
    }
    for (const values of rows) keep(out, filter, rowOf(values, statement.columns, file, statement.startLine));
    statement = undefined;
  }
  if (statement) throw new OpenfireFormatError(file, 'the dump ends inside an ofProperty INSERT', statement.startLine);
  if (copy) throw new OpenfireFormatError(file, 'the dump ends inside COPY ofproperty (no \\. line)', copy.startLine);
  return out;
}

/** The tuples of `INSERT INTO t [(…)] VALUES (…)[, (…)…];`, or undefined while the text is incomplete. */
function parseInsertRows(text: string, dialect: Dialect, file: string, lineNo: number): Literal[][] | undefined {
  const head = DUMP_INSERT.exec(text);
  let pos = head ? head[0].length : 0;
  const rows: Literal[][] = [];
  for (;;) {
    pos = skipSpace(text, pos);
    if (pos >= text.length) return undefined;
    if (text[pos] !== '(')
      throw new OpenfireFormatError(file, 'an ofProperty INSERT whose VALUES do not parse', lineNo);
    const t = parseTuple(text, pos + 1, dialect, file, lineNo);
    if (t === undefined) return undefined;
    rows.push(t.values);
    pos = skipSpace(text, t.end);
    if (pos >= text.length) return undefined;
    if (text[pos] === ',') {
      pos++;
      continue;
    }
    if (text[pos] === ';') return rows;
    throw new OpenfireFormatError(file, 'an ofProperty INSERT whose VALUES do not parse', lineNo);
  }
}

/** Literals from `pos` (just after `(`) to the closing `)`; end is after it. Undefined when the text ends first. */
function parseTuple(
  text: string,
  pos: number,
  dialect: Dialect,
  file: string,
  lineNo: number,
): { values: Literal[]; end: number } | undefined {
  const values: Literal[] = [];
  for (;;) {
    const lit = parseLiteral(text, skipSpace(text, pos), dialect, file, lineNo);
    if (lit === undefined) return undefined;
    values.push(lit.value);
    pos = skipSpace(text, lit.end);
    if (pos >= text.length) return undefined;
    if (text[pos] === ',') pos++;
    else if (text[pos] === ')') return { values, end: pos + 1 };
    else throw new OpenfireFormatError(file, `unexpected ${JSON.stringify(text[pos])} in an ofProperty row`, lineNo);
  }
}

/** One SQL literal at `pos`: a string, NULL, TRUE/FALSE or a number. Undefined when the text ends inside it. */
function parseLiteral(
  text: string,
  pos: number,
  dialect: Dialect,
  file: string,
  lineNo: number,
): { value: Literal; end: number } | undefined {
  if (pos >= text.length) return undefined;
  let backslashes = dialect === 'mysql';
  if (dialect === 'postgresql' && /[eE]/.test(text[pos] as string) && text[pos + 1] === "'") {
    backslashes = true;
    pos++;
  }
  if (text[pos] === "'") {
    let s = '';
    for (let i = pos + 1; i < text.length; i++) {
      const c = text[i] as string;
      if (c === "'") {
        if (text[i + 1] === "'") {
          s += "'";
          i++;
          continue;
        }
        return { value: dialect === 'hsqldb' ? hsqldbUnescape(s) : s, end: i + 1 };
      }
      if (c === '\\' && backslashes) {
        if (i + 1 >= text.length) return undefined;
        s += backslashEscape(text[++i] as string);
        continue;
      }
      s += c;
    }
    return undefined;
  }
  const word = /^(?:NULL|TRUE|FALSE|[-+]?\d+(?:\.\d+)?)/i.exec(text.slice(pos, pos + 40));
  if (!word) throw new OpenfireFormatError(file, `an ofProperty value that is not a string, number or NULL`, lineNo);
  const w = word[0].toUpperCase();
  const value = w === 'NULL' ? null : w === 'TRUE' ? true : w === 'FALSE' ? false : Number(w);
  return { value, end: pos + word[0].length };
}

/** HSQLDB's text files write every character outside 0x20–0x7f (and a backslash before `u`) as \uXXXX. */
function hsqldbUnescape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** MySQL's (and PostgreSQL E'…') escapes after a backslash. */
function backslashEscape(c: string): string {
  const map: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a', f: '\f' };
  return map[c] ?? c;
}

/** One field of PostgreSQL's COPY text format. */
function copyField(field: string): string | null {
  if (field === '\\N') return null;
  return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const map: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    return map[e] ?? e;
  });
}

function columnList(list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  return list.split(',').map((c) =>
    c
      .trim()
      .replace(/^["`]|["`]$/g, '')
      .toLowerCase(),
  );
}

/** A row's fields by column name (the column list given, else the table's order). */
function rowOf(
  values: Literal[],
  columns: string[] | undefined,
  file: string,
  lineNo: number,
): { name: string; property: StoredProperty } {
  const cols = columns ?? ['name', 'propvalue', 'encrypted', 'iv'].slice(0, values.length);
  if (cols.length !== values.length || values.length < 2 || values.length > 4)
    throw new OpenfireFormatError(
      file,
      `an ofProperty row with ${values.length} values; expected name, propValue[, encrypted[, iv]]`,
      lineNo,
    );
  const get = (c: string): Literal | undefined => {
    const i = cols.indexOf(c);
    return i === -1 ? undefined : values[i];
  };
  const name = get('name');
  const value = get('propvalue');
  if (typeof name !== 'string' || typeof value !== 'string')
    throw new OpenfireFormatError(file, 'an ofProperty row without a name and value', lineNo);
  const flag = get('encrypted');
  const iv = get('iv');
  return {
    name,
    property: {
      value,
      encrypted: flag === 1 || flag === '1' || flag === true,
      iv: typeof iv === 'string' && iv.trim() !== '' ? iv.trim() : undefined,
    },
  };
}

function keep(
  out: Map<string, StoredProperty>,
  filter: PropertyFilter,
  row: { name: string; property: StoredProperty },
): void {
  if (filter(row.name)) out.set(row.name, row.property);
}

function skipSpace(text: string, pos: number): number {
  while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
  return pos;
}

/** The file's lines as UTF-8 (HSQLDB's files are ASCII; dumps are UTF-8), CR LF or LF. */
function lines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
}
