import type { JsonSchema } from '../api/openapi.js';

/**
 * The command-line form of a parameter's JSON schema: the `<type>` label and the notes that usage
 * text, completion and man page share, so that all three describe a parameter the same way.
 */

/** Lists the schema's types, `null` included when the parameter may be cleared. */
export function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return schema.properties === undefined ? ['string'] : ['object'];
  return typeof schema.type === 'string' ? [schema.type] : [...schema.type];
}

/** The main type of a schema, leaving out `null`. */
export function mainType(schema: JsonSchema): string {
  return typesOf(schema).find((type) => type !== 'null') ?? 'string';
}

export function isNullable(schema: JsonSchema): boolean {
  return typesOf(schema).includes('null');
}

/** Values a parameter can take for completion: an enum's values, or 0 and 1 for booleans. */
export function completionValues(schema: JsonSchema): string[] {
  const type = mainType(schema);
  const target = type === 'array' && schema.items !== undefined ? schema.items : schema;
  if (target.enum !== undefined) return target.enum.map(String);
  if (mainType(target) === 'boolean') return ['0', '1'];
  return [];
}

function rangeText(schema: JsonSchema): string | null {
  if (schema.minimum !== undefined && schema.maximum !== undefined) return `${schema.minimum} - ${schema.maximum}`;
  if (schema.minimum !== undefined) return `${schema.minimum} - N`;
  if (schema.maximum !== undefined) return `N - ${schema.maximum}`;
  return null;
}

/** `key=<type>,...` for an object: its property-string form. */
export function propertyStringForm(schema: JsonSchema): string {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {})
    .map(([key, property]) => (required.has(key) ? `${key}=<${mainType(property)}>` : `[${key}=<${mainType(property)}>]`))
    .join(',');
}

/** Returns the `<...>` placeholder of a parameter, such as `<integer>` or `<http | https>`. */
export function typeLabel(schema: JsonSchema): string {
  const type = mainType(schema);
  if (type === 'array') return schema.items === undefined ? '<string>' : typeLabel(schema.items);
  if (schema.enum !== undefined) return `<${schema.enum.map(String).join(' | ')}>`;
  if (schema.format === 'password') return '<secret>';
  return `<${type}>`;
}

function defaultText(value: unknown): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/** Short notes after the label: range, list form, object form, null, secret sources, default. */
export function typeNotes(name: string, schema: JsonSchema): string[] {
  const notes: string[] = [];
  const type = mainType(schema);
  const element = type === 'array' && schema.items !== undefined ? schema.items : schema;
  const range = rangeText(element);
  if (range !== null) notes.push(`(${range})`);
  if (mainType(element) === 'boolean') notes.push('(0|1)');
  if (type === 'array') {
    notes.push(mainType(element) === 'object' ? '(list: repeat the option, one JSON object or key=value list each, or give one JSON list)' : '(list: repeat the option or separate values with commas)');
  }
  if (mainType(element) === 'object') notes.push(`(JSON object or ${propertyStringForm(element)})`);
  if (isNullable(schema)) notes.push('(or null to clear)');
  if (schema.format === 'password') notes.push(`(secret: use --${name}-file FILE, or give no value to be prompted)`);
  if (schema.default !== undefined) notes.push(`(default=${defaultText(schema.default)})`);
  return notes;
}
