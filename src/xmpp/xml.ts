/**
 * The one door to the XML library (ltx through @xmpp/component, which re-exports @xmpp/xml), so
 * the rest of src/xmpp depends on plain functions and a type, not on package layout.
 */
import { xml } from '@xmpp/component';
import type xmlModule from '@xmpp/xml';

/** An ltx element as stanzas are parsed into and built from. */
export type Element = xmlModule.Element;

export { xml };

/**
 * Parses one XML element (with its children) from a string; throws on malformed XML.
 * For tests and fixtures: stanzas from the server arrive already parsed.
 *
 * @example
 * const el = parseXml("<request xmlns='urn:xmpp:http:upload:0' filename='a.txt' size='3'/>");
 */
export function parseXml(source: string): Element {
  const parser = new xml.Parser();
  let root: Element | undefined;
  let failure: unknown;
  parser.on('start', (el: Element) => {
    root = el;
  });
  // The stream parser hands over direct children of the root separately.
  parser.on('element', (el: Element) => {
    root?.append(el);
  });
  parser.on('error', (err: unknown) => {
    failure = err;
  });
  parser.write(source);
  parser.end();
  if (failure !== undefined) throw failure;
  if (!root) throw new Error('no XML element found');
  return root;
}

/**
 * The text of an element's children of one name, or undefined when there is no such child.
 *
 * @example
 * childText(request, 'filename'); // 'a.txt' | undefined
 */
export function childText(el: Element, name: string): string | undefined {
  const child = el.getChildElements().find((c) => c.getName() === name);
  return child === undefined ? undefined : child.getText();
}
