/**
 * The XEP-0004 data forms the ad-hoc commands show and read back: building a form of fixed,
 * boolean, list-multi and jid-single fields, and reading the values of a submitted one.
 */
import { xml, type Element } from './xml.ts';
import { NS_DATA_FORMS } from './namespaces.ts';

/** One field of a form (XEP-0004 §3.3). */
export interface FormField {
  type: 'fixed' | 'boolean' | 'list-multi' | 'jid-single' | 'text-single' | 'hidden';
  var?: string;
  label?: string;
  values?: readonly string[];
  /** list-multi: what may be chosen, shown by label. */
  options?: readonly { label: string; value: string }[];
  required?: boolean;
}

/** A form to fill in ('form') or figures to show ('result'). */
export interface Form {
  type: 'form' | 'result';
  title?: string;
  instructions?: string;
  fields: readonly FormField[];
}

/**
 * The <x xmlns='jabber:x:data'/> of a form.
 *
 * @example
 * dataForm({ type: 'form', title: 'Delete all my uploads', fields: [{ type: 'boolean', var: 'confirm', label: 'Yes' }] });
 */
export function dataForm(form: Form): Element {
  return xml(
    'x',
    { xmlns: NS_DATA_FORMS, type: form.type },
    form.title !== undefined ? xml('title', {}, form.title) : undefined,
    form.instructions !== undefined ? xml('instructions', {}, form.instructions) : undefined,
    ...form.fields.map((f) =>
      xml(
        'field',
        {
          type: f.type,
          ...(f.var !== undefined ? { var: f.var } : {}),
          ...(f.label !== undefined ? { label: f.label } : {}),
        },
        f.required ? xml('required') : undefined,
        ...(f.values ?? []).map((v) => xml('value', {}, v)),
        ...(f.options ?? []).map((o) => xml('option', { label: o.label }, xml('value', {}, o.value))),
      ),
    ),
  );
}

/**
 * The values of a submitted form by field name; undefined when `command` carries no form, and
 * 'malformed' for a form that is not a submission (or names a field twice).
 *
 * @example
 * const values = submittedValues(commandElement); // Map { 'uploads' → ['id1', 'id2'], 'confirm' → ['1'] }
 */
export function submittedValues(command: Element): Map<string, string[]> | undefined | 'malformed' {
  const x = command.getChildElements().find((c) => c.getName() === 'x' && c.getNS() === NS_DATA_FORMS);
  if (x === undefined) return undefined;
  if (x.attrs.type !== 'submit') return x.attrs.type === 'cancel' ? new Map() : 'malformed';
  const values = new Map<string, string[]>();
  for (const field of x.getChildElements()) {
    if (field.getName() !== 'field') continue;
    const name = field.attrs.var;
    if (typeof name !== 'string' || values.has(name)) return 'malformed';
    values.set(
      name,
      field
        .getChildElements()
        .filter((v) => v.getName() === 'value')
        .map((v) => v.getText()),
    );
  }
  return values;
}

/**
 * A boolean field's value (XEP-0004: 0, 1, false, true); undefined when absent, 'malformed' for
 * anything else.
 *
 * @example
 * booleanValue(['1']); // true
 */
export function booleanValue(values: readonly string[] | undefined): boolean | undefined | 'malformed' {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) return 'malformed';
  const v = values[0]!.trim();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return 'malformed';
}
