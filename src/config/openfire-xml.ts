/**
 * openfire.xml codec: a dotted property name maps to nested elements under the root `<jive>`
 * (`plugin.httpfileupload.maxFileSize` → `<jive><plugin><httpfileupload><maxFileSize>`).
 *
 * Edits never re-serialise the document. The text is scanned to locate elements (with offsets)
 * and each edit splices new text into the original string, so everything that is not ours —
 * the XML declaration, comments, other elements, attributes, order, whitespace — stays
 * byte-for-byte as it was. As in Openfire, the first element of a name at each level counts.
 */
import { XMLValidator } from 'fast-xml-parser';
import { ConfigError, ConfigSyntaxError } from './errors.ts';

/** A located node of the document. Offsets are string indices; `end` is exclusive. */
export type XmlNode = XmlElement | XmlLeaf;

export interface XmlElement {
  kind: 'element';
  name: string;
  start: number;
  /** Just after the `>` of the start tag (equals `end` when self-closing). */
  openEnd: number;
  /** Index of `</` of the end tag (equals `end` when self-closing). */
  closeStart: number;
  end: number;
  selfClosing: boolean;
  hasAttributes: boolean;
  children: XmlNode[];
}

export interface XmlLeaf {
  kind: 'text' | 'cdata' | 'comment' | 'pi' | 'doctype';
  start: number;
  end: number;
}

/** A scanned openfire.xml. */
export interface XmlDocument {
  text: string;
  root: XmlElement;
}

/** What a file that does not exist yet starts as. */
export const EMPTY_DOCUMENT = '<?xml version="1.0" encoding="UTF-8"?>\n<jive>\n</jive>\n';

/** Options for writing values. */
export interface WriteOptions {
  /** Write every non-ASCII character as a character reference (files that are not UTF-8). */
  asciiOnly?: boolean;
}

/**
 * Scans and checks a document: well-formed XML with a single root element `<jive>`.
 * Throws {@link ConfigSyntaxError} with line and column otherwise.
 *
 * @example
 * const doc = parseOpenfireXml('<jive><plugin/></jive>');
 * doc.root.name; // 'jive'
 */
export function parseOpenfireXml(text: string, file = 'openfire.xml'): XmlDocument {
  const root = new Scanner(text, file).document();
  // A second opinion on everything the scanner does not check (attribute syntax, names, …).
  const verdict = XMLValidator.validate(text);
  if (verdict !== true) {
    throw new ConfigSyntaxError(file, verdict.err.line, verdict.err.col ?? 1, verdict.err.msg);
  }
  return { text, root };
}

/**
 * The value of a dotted property (text and CDATA of its element, entities decoded, trimmed), or
 * undefined when the element does not exist. An empty string means "present but empty".
 *
 * @example
 * readProperty(parseOpenfireXml('<jive><a><b> x </b></a></jive>'), 'a.b'); // 'x'
 */
export function readProperty(doc: XmlDocument, dotted: string): string | undefined {
  const el = findPath(doc.root, dotted.split('.')).element;
  if (!el) return undefined;
  let out = '';
  for (const c of el.children) {
    if (c.kind === 'text') out += decodeEntities(doc.text.slice(c.start, c.end));
    else if (c.kind === 'cdata') out += doc.text.slice(c.start + 9, c.end - 3);
  }
  return out.trim();
}

/**
 * The attributes of a dotted property's element, values entity-decoded, or undefined when the
 * element does not exist. Openfire marks encrypted values with them (`encrypted="true" iv="…"`).
 *
 * @example
 * readAttributes(parseOpenfireXml('<jive><a encrypted="true">x</a></jive>'), 'a'); // { encrypted: 'true' }
 */
export function readAttributes(doc: XmlDocument, dotted: string): Record<string, string> | undefined {
  const el = findPath(doc.root, dotted.split('.')).element;
  if (!el) return undefined;
  const out: Record<string, string> = {};
  const tag = doc.text.slice(el.start + 1 + el.name.length, el.openEnd);
  for (const m of tag.matchAll(/([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g))
    out[m[1] as string] = decodeEntities(m[2] ?? m[3] ?? '');
  return out;
}

/**
 * Dotted names of the leaf elements (no child elements) below `prefix`, e.g. to spot misspelt
 * properties. Only the first element of a name is looked at, as everywhere else.
 *
 * @example
 * leafNames(parseOpenfireXml('<jive><a><b>1</b><c/></a></jive>'), 'a'); // ['a.b', 'a.c']
 */
export function leafNames(doc: XmlDocument, prefix: string): string[] {
  const base = findPath(doc.root, prefix.split('.')).element;
  if (!base) return [];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const c of base.children) {
    if (c.kind !== 'element' || seen.has(c.name)) continue;
    seen.add(c.name);
    if (!c.children.some((g) => g.kind === 'element')) out.push(`${prefix}.${c.name}`);
  }
  return out;
}

/**
 * Returns the text with the property set to `value`, creating missing elements (indented like
 * their neighbours). Only the property's own text changes; comments inside it are kept.
 *
 * @example
 * setProperty('<jive>\n</jive>\n', 'plugin.httpfileupload.maxFileSize', '10M');
 * // '<jive>\n  <plugin>\n    <httpfileupload>\n      <maxFileSize>10M</maxFileSize>\n    </httpfileupload>\n  </plugin>\n</jive>\n'
 */
export function setProperty(text: string, dotted: string, value: string, opts: WriteOptions = {}): string {
  const doc = parseOpenfireXml(text);
  const names = dotted.split('.');
  const escaped = escapeText(value, opts.asciiOnly === true);
  const { element, deepest, depth } = findPath(doc.root, names);
  if (element) return replaceContent(text, element, escaped, dotted);

  const missing = names.slice(depth);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const parentIndent = lineIndent(text, deepest.start);
  const existing = existingChildIndent(text, deepest);
  const unit =
    existing !== undefined && existing.startsWith(parentIndent) && existing.length > parentIndent.length
      ? existing.slice(parentIndent.length)
      : indentUnit(text);
  const childIndent = existing ?? parentIndent + unit;
  let snippet = '';
  missing.forEach((name, i) => {
    snippet +=
      eol + childIndent + unit.repeat(i) + (i === missing.length - 1 ? `<${name}>${escaped}</${name}>` : `<${name}>`);
  });
  for (let i = missing.length - 2; i >= 0; i--) snippet += eol + childIndent + unit.repeat(i) + `</${missing[i]}>`;

  if (deepest.selfClosing) {
    // `<plugin/>` → `<plugin>…</plugin>`; the start tag's attributes stay as written.
    const slash = text.lastIndexOf('/', deepest.end - 1);
    return text.slice(0, slash) + '>' + snippet + eol + parentIndent + `</${deepest.name}>` + text.slice(deepest.end);
  }
  const last = deepest.children.at(-1);
  if (
    last &&
    last.kind === 'text' &&
    /^\s*$/.test(text.slice(last.start, last.end)) &&
    text.slice(last.start, last.end).includes('\n')
  ) {
    // Insert before the whitespace that leads to the end tag, so the end tag keeps its line.
    return text.slice(0, last.start) + snippet + text.slice(last.start);
  }
  return text.slice(0, deepest.closeStart) + snippet + eol + parentIndent + text.slice(deepest.closeStart);
}

/**
 * Returns the text with attributes of an existing property element changed: a string sets the
 * attribute (in place when present, else appended to the start tag), undefined removes it. Only
 * those attributes change; the others, their quotes and the spacing between them stay as written.
 * Unchanged text when the element does not exist.
 *
 * @example
 * setAttributes('<jive><a encrypted="true" iv="x">v</a></jive>', 'a', { encrypted: undefined, iv: undefined });
 * // '<jive><a>v</a></jive>'
 */
export function setAttributes(text: string, dotted: string, changes: Record<string, string | undefined>): string {
  const el = findPath(parseOpenfireXml(text).root, dotted.split('.')).element;
  if (!el) return text;
  const nameEnd = el.start + 1 + el.name.length;
  const closer = el.selfClosing ? text.lastIndexOf('/', el.openEnd - 1) : el.openEnd - 1;
  let tag = text.slice(nameEnd, closer);
  const pending = new Map(Object.entries(changes));
  tag = tag.replace(/(\s+)([^\s=/>]+)(\s*=\s*)(?:"[^"]*"|'[^']*')/g, (all, space: string, name: string, eq: string) => {
    if (!pending.has(name)) return all;
    const value = pending.get(name);
    pending.delete(name);
    return value === undefined ? '' : `${space}${name}${eq}"${escapeAttribute(value)}"`;
  });
  const trailing = /\s*$/.exec(tag)?.[0] ?? '';
  tag = tag.slice(0, tag.length - trailing.length);
  for (const [name, value] of pending) if (value !== undefined) tag += ` ${name}="${escapeAttribute(value)}"`;
  return text.slice(0, nameEnd) + tag + trailing + text.slice(closer);
}

function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;');
}

/**
 * Returns the text without the property's element (and its line, when it stood alone on it).
 * Ancestors that held nothing else and have no attributes are removed too, the root never.
 * Unchanged text when the property is not present.
 *
 * @example
 * unsetProperty('<jive><a><b>1</b></a><c/></jive>', 'a.b'); // '<jive><c/></jive>'
 */
export function unsetProperty(text: string, dotted: string): string {
  const names = dotted.split('.');
  const doc = parseOpenfireXml(text);
  const el = findPath(doc.root, names).element;
  if (!el) return text;
  let out = removeNode(text, el);
  for (let depth = names.length - 1; depth >= 1; depth--) {
    const d = parseOpenfireXml(out);
    const parent = findPath(d.root, names.slice(0, depth)).element;
    if (
      !parent ||
      parent.hasAttributes ||
      !parent.children.every((c) => c.kind === 'text' && /^\s*$/.test(out.slice(c.start, c.end)))
    )
      break;
    out = removeNode(out, parent);
  }
  return out;
}

/**
 * Escapes text content for XML (`&`, `<`, `>`; with asciiOnly also non-ASCII as `&#x…;`).
 *
 * @example
 * escapeText('a<b & c'); // 'a&lt;b &amp; c'
 */
export function escapeText(value: string, asciiOnly = false): string {
  let out = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (asciiOnly) out = out.replace(/[^\x00-\x7f]/gu, (ch) => `&#x${(ch.codePointAt(0) ?? 0).toString(16)};`);
  return out;
}

/**
 * Decodes the predefined entities and character references; anything else is left as written.
 *
 * @example
 * decodeEntities('a&lt;b&#x20;&amp;'); // 'a<b &'
 */
export function decodeEntities(s: string): string {
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (all, ref: string) => {
    if (ref.startsWith('#x')) return safeCodePoint(parseInt(ref.slice(2), 16)) ?? all;
    if (ref.startsWith('#')) return safeCodePoint(parseInt(ref.slice(1), 10)) ?? all;
    return named[ref] ?? all;
  });
}

function safeCodePoint(n: number): string | undefined {
  return n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

function findPath(
  root: XmlElement,
  names: string[],
): { element: XmlElement | undefined; deepest: XmlElement; depth: number } {
  let cur = root;
  let depth = 0;
  for (const name of names) {
    const next = cur.children.find((c): c is XmlElement => c.kind === 'element' && c.name === name);
    if (!next) return { element: undefined, deepest: cur, depth };
    cur = next;
    depth++;
  }
  return { element: cur, deepest: cur, depth };
}

function replaceContent(text: string, el: XmlElement, escaped: string, dotted: string): string {
  if (el.children.some((c) => c.kind === 'element')) {
    throw new ConfigError([
      {
        property: dotted,
        message: `<${el.name}> contains other elements; edit the file by hand`,
        rule: 'a property element holds only text',
      },
    ]);
  }
  if (el.selfClosing) {
    const slash = text.lastIndexOf('/', el.end - 1);
    return text.slice(0, slash) + '>' + escaped + `</${el.name}>` + text.slice(el.end);
  }
  const valued = el.children.filter(
    (c) => c.kind === 'cdata' || (c.kind === 'text' && !/^\s*$/.test(text.slice(c.start, c.end))),
  );
  const first = valued[0];
  if (!first) {
    if (el.children.every((c) => c.kind === 'text'))
      return text.slice(0, el.openEnd) + escaped + text.slice(el.closeStart);
    return text.slice(0, el.closeStart) + escaped + text.slice(el.closeStart);
  }
  // Keep the whitespace around the old value and any comments; drop other bits of old value.
  let out = text;
  for (const node of [...valued].reverse()) {
    let start = node.start;
    let end = node.end;
    if (node.kind === 'text') {
      const raw = text.slice(node.start, node.end);
      start += raw.length - raw.trimStart().length;
      end -= raw.length - raw.trimEnd().length;
    }
    out = out.slice(0, start) + (node === first ? escaped : '') + out.slice(end);
  }
  return out;
}

/** Removes a node; when it is alone on its line, the line (with its line break) goes too. */
function removeNode(text: string, node: { start: number; end: number }): string {
  const lineStart = text.lastIndexOf('\n', node.start - 1) + 1;
  const before = text.slice(lineStart, node.start);
  const nl = text.indexOf('\n', node.end);
  const after = text.slice(node.end, nl === -1 ? text.length : nl).replace(/\r$/, '');
  if (lineStart > 0 && /^[ \t]*$/.test(before) && /^[ \t]*$/.test(after)) {
    // Cut from the line break that ends the previous line through the node and its trailing blanks.
    const cut = text[lineStart - 2] === '\r' ? lineStart - 2 : lineStart - 1;
    return text.slice(0, cut) + text.slice(node.end + after.length);
  }
  return text.slice(0, node.start) + text.slice(node.end);
}

/** The whitespace before `pos` on its line, or '' when something else precedes it there. */
function lineIndent(text: string, pos: number): string {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const before = text.slice(lineStart, pos);
  return /^[ \t]*$/.test(before) ? before : '';
}

/**
 * The document's indentation step: a tab when most indented tag lines start with one, else the
 * smallest indentation of a space-indented tag line; one stray tab line does not decide it.
 */
function indentUnit(text: string): string {
  let spaces = Infinity;
  let tabbed = 0;
  let spaced = 0;
  for (const m of text.matchAll(/\n([ \t]+)</g)) {
    const ws = m[1] ?? '';
    if (ws.startsWith('\t')) {
      tabbed++;
    } else {
      spaced++;
      spaces = Math.min(spaces, ws.length);
    }
  }
  if (tabbed > spaced) return '\t';
  return spaces === Infinity ? '  ' : ' '.repeat(Math.min(spaces, 8));
}

/**
 * The indentation most of the element's child elements and comments that start their own line
 * have (on a tie, the one in the document's style, else the first), so a new sibling lines up
 * with the others.
 */
function existingChildIndent(text: string, el: XmlElement): string | undefined {
  const counts = new Map<string, number>();
  for (let i = 1; i < el.children.length; i++) {
    const c = el.children[i];
    const prev = el.children[i - 1];
    if (!c || !prev || (c.kind !== 'element' && c.kind !== 'comment') || prev.kind !== 'text') continue;
    const ws = text.slice(prev.start, prev.end);
    const m = /\n([ \t]*)$/.exec(ws);
    if (m) counts.set(m[1] ?? '', (counts.get(m[1] ?? '') ?? 0) + 1);
  }
  const docStyle = indentUnit(text)[0];
  const score = (indent: string) => (counts.get(indent) ?? 0) * 2 + (indent[0] === docStyle ? 1 : 0);
  let best: string | undefined;
  for (const indent of counts.keys()) if (best === undefined || score(indent) > score(best)) best = indent;
  return best;
}

const NAME = /[A-Za-z_:\u00c0-\uffff][-A-Za-z0-9_:.\u00b7\u00c0-\uffff]*/y;

/** A small scanner for the subset of XML a configuration file needs; reports line:column. */
class Scanner {
  private pos = 0;
  private readonly text: string;
  private readonly file: string;

  constructor(text: string, file: string) {
    this.text = text;
    this.file = file;
  }

  document(): XmlElement {
    const t = this.text;
    if (t.charCodeAt(0) === 0xfeff) this.pos = 1;
    let root: XmlElement | undefined;
    for (;;) {
      this.skipSpace();
      if (this.pos >= t.length) break;
      if (t.startsWith('<?', this.pos)) this.until('?>', 'processing instruction');
      else if (t.startsWith('<!--', this.pos)) this.until('-->', 'comment');
      else if (t.startsWith('<!DOCTYPE', this.pos)) this.doctype();
      else if (t[this.pos] === '<' && t[this.pos + 1] !== '/' && t[this.pos + 1] !== '!') {
        if (root) this.fail(this.pos, `a second root element <${this.peekName()}>: only one <jive> is allowed`);
        const at = this.pos;
        root = this.element();
        if (root.name !== 'jive') this.fail(at, `the root element is <${root.name}>, expected <jive>`);
      } else {
        this.fail(this.pos, root ? 'text after the root element </jive>' : 'text before the root element <jive>');
      }
    }
    if (!root) this.fail(this.pos, 'no root element: an openfire.xml needs <jive>…</jive>');
    return root as XmlElement;
  }

  private element(): XmlElement {
    const t = this.text;
    const stack: XmlElement[] = [];
    for (;;) {
      if (this.pos >= t.length) {
        const open = stack.at(-1);
        return this.fail(open?.start ?? this.pos, `<${open?.name ?? '?'}> is never closed`);
      }
      const start = this.pos;
      const parent = stack.at(-1);
      if (parent && t[start] !== '<') {
        const next = t.indexOf('<', start);
        this.pos = next === -1 ? t.length : next;
        parent.children.push({ kind: 'text', start, end: this.pos });
        continue;
      }
      if (parent && t.startsWith('<!--', start)) {
        parent.children.push({ kind: 'comment', start, end: this.until('-->', 'comment') });
      } else if (parent && t.startsWith('<![CDATA[', start)) {
        parent.children.push({ kind: 'cdata', start, end: this.until(']]>', 'CDATA section') });
      } else if (parent && t.startsWith('<?', start)) {
        parent.children.push({ kind: 'pi', start, end: this.until('?>', 'processing instruction') });
      } else if (parent && t.startsWith('</', start)) {
        this.pos += 2;
        const name = this.name();
        this.skipSpace();
        if (t[this.pos] !== '>') this.fail(this.pos, `expected > to end </${name}`);
        this.pos++;
        if (name !== parent.name)
          this.fail(start, `</${name}> closes <${parent.name}> (opened at ${this.where(parent.start)})`);
        parent.closeStart = start;
        parent.end = this.pos;
        stack.pop();
        if (stack.length === 0) return parent;
      } else if (t[start] === '<') {
        this.pos++;
        const el: XmlElement = {
          kind: 'element',
          name: this.name(),
          start,
          openEnd: 0,
          closeStart: 0,
          end: 0,
          selfClosing: false,
          hasAttributes: false,
          children: [],
        };
        this.attributes(el);
        if (parent) parent.children.push(el);
        if (el.selfClosing) {
          if (!parent) return el;
        } else stack.push(el);
      } else {
        this.fail(start, 'unexpected text');
      }
    }
  }

  private attributes(el: XmlElement): void {
    const t = this.text;
    for (;;) {
      const hadSpace = this.skipSpace();
      if (t.startsWith('/>', this.pos)) {
        this.pos += 2;
        el.selfClosing = true;
        el.openEnd = el.closeStart = el.end = this.pos;
        return;
      }
      if (t[this.pos] === '>') {
        this.pos++;
        el.openEnd = this.pos;
        return;
      }
      if (this.pos >= t.length) this.fail(el.start, `<${el.name}> is never closed`);
      if (!hadSpace) this.fail(this.pos, `expected a space, > or /> in <${el.name}>`);
      const name = this.name();
      this.skipSpace();
      if (t[this.pos] !== '=') this.fail(this.pos, `attribute ${name} of <${el.name}> has no value`);
      this.pos++;
      this.skipSpace();
      const q = t[this.pos];
      if (q !== '"' && q !== "'") this.fail(this.pos, `the value of attribute ${name} must be quoted`);
      const close = t.indexOf(q as string, this.pos + 1);
      if (close === -1) this.fail(this.pos, `the value of attribute ${name} is never closed`);
      this.pos = close + 1;
      el.hasAttributes = true;
    }
  }

  private doctype(): void {
    // <!DOCTYPE jive [ … ]>: skip the internal subset, minding quotes.
    const t = this.text;
    const start = this.pos;
    let depth = 0;
    let quote: string | undefined;
    for (let i = this.pos + 9; i < t.length; i++) {
      const c = t[i];
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '[') depth++;
      else if (c === ']') depth--;
      else if (c === '>' && depth <= 0) {
        this.pos = i + 1;
        return;
      }
    }
    this.fail(start, 'the DOCTYPE is never closed');
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.text);
    if (!m) return this.fail(this.pos, 'expected an element or attribute name');
    this.pos += m[0].length;
    return m[0];
  }

  private peekName(): string {
    NAME.lastIndex = this.pos + 1;
    return NAME.exec(this.text)?.[0] ?? '?';
  }

  private skipSpace(): boolean {
    const from = this.pos;
    while (this.pos < this.text.length && /[ \t\r\n]/.test(this.text[this.pos] as string)) this.pos++;
    return this.pos > from;
  }

  private until(terminator: string, what: string): number {
    const start = this.pos;
    const i = this.text.indexOf(terminator, this.pos + 2);
    if (i === -1) this.fail(start, `the ${what} is never closed`);
    this.pos = i + terminator.length;
    return this.pos;
  }

  private where(offset: number): string {
    const { line, col } = lineCol(this.text, offset);
    return `${line}:${col}`;
  }

  private fail(offset: number, msg: string): never {
    const { line, col } = lineCol(this.text, offset);
    throw new ConfigSyntaxError(this.file, line, col, msg);
  }
}

/**
 * 1-based line and column of a string index.
 *
 * @example
 * lineCol('a\nbc', 3); // { line: 2, col: 2 }
 */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
