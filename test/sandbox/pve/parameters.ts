/**
 * Parameter definitions in the vocabulary of PVE's API schema, and their validation with the
 * error texts of pve-common `JSONSchema.pm` (`check_prop`, `check_type`, `check_object`).
 */

export interface ParameterSchema {
  type: 'string' | 'integer' | 'number' | 'boolean';
  optional?: boolean;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  /** A Perl regular expression exactly as the PVE schema spells it; matched against the whole value. */
  pattern?: string;
  /** A PVE format name; see FORMAT_CHECKS for the ones the simulator enforces. */
  format?: string;
  /** Name of another parameter that must be present when this one is. */
  requires?: string;
}

export type ParameterSchemas = Readonly<Record<string, ParameterSchema>>;

/** A request parameter as pveproxy decodes it: a string, a repeated key's list, or a JSON value. */
export type RawParameter = string | string[] | number | boolean | null;

/** Validated parameters: integers and numbers as numbers, booleans as 0 or 1, the rest as strings. */
export type Parameters = Record<string, string | number>;

export type ParameterErrors = Record<string, string>;

const NOT_IN_SCHEMA = 'property is not defined in schema and the schema does not allow additional properties';

/**
 * Converts a PVE schema pattern to a JavaScript RegExp anchored at both ends. Perl writes
 * embedded flag groups as `(?^:...)`; JavaScript has no such group, and the plain `(?:...)`
 * matches the same text for the patterns in the PVE 9.1 schema.
 */
export function compilePerlPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern.replace(/\(\?\^:/g, '(?:')})$`);
}

/** Splits a PVE list value at `,`, `;`, whitespace or NUL and drops empty items (pve-common `split_list`). */
export function splitList(value: string): string[] {
  return value.split(/[,;\s\0]+/).filter((item) => item !== '');
}

const NODE_NAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const DNS_LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DNS_NAME_RE = new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`);
const CONFIGID_RE = /^[a-z][a-z0-9_-]+$/i;
const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
const IFACE_RE = /^[a-z][a-z0-9_]{1,20}([:.]\d+)?$/i;
const REALM_RE = /^[A-Za-z][A-Za-z0-9.\-_]+$/;

/**
 * Named formats the simulator checks, with the messages of pve-common `JSONSchema.pm`. A format
 * missing here (the firewall address, port and protocol specs among them) is accepted unchecked.
 */
const FORMAT_CHECKS: Record<string, (value: string) => string | undefined> = {
  'pve-node': (value) => (NODE_NAME_RE.test(value) ? undefined : 'value does not look like a valid node name'),
  'dns-name': (value) => (DNS_NAME_RE.test(value) ? undefined : 'value does not look like a valid DNS name'),
  'pve-configid': (value) => (CONFIGID_RE.test(value) ? undefined : `invalid configuration ID '${value}'`),
  'pve-configid-list': (value) => {
    const bad = splitList(value).find((id) => !CONFIGID_RE.test(id));
    return bad === undefined ? undefined : `invalid configuration ID '${bad}'`;
  },
  'pve-tag-list': (value) => (splitList(value).every((tag) => TAG_RE.test(tag)) ? undefined : 'invalid characters in tag'),
  'pve-iface': (value) => (IFACE_RE.test(value) ? undefined : `invalid network interface name '${value}'`),
  'pve-realm': (value) => (REALM_RE.test(value) ? undefined : 'value does not look like a valid realm'),
};

const INTEGER_RE = /^[+-]?\d+$/;
const NUMBER_RE = /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/;

/**
 * Validates `raw` against `schemas` with PVE's rules and messages. Returns the converted values,
 * or the per-parameter errors that PVE sends with "Parameter verification failed.".
 */
export function validateParameters(
  schemas: ParameterSchemas,
  raw: Readonly<Record<string, RawParameter>>,
): { ok: true; values: Parameters } | { ok: false; errors: ParameterErrors } {
  const errors: ParameterErrors = {};
  const values: Parameters = {};

  for (const [name, schema] of Object.entries(schemas)) {
    const value = raw[name];
    if (value === undefined || value === null) {
      if (schema.optional !== true) errors[name] = 'property is missing and it is not optional';
      continue;
    }
    const result = checkValue(schema, value);
    if (typeof result === 'object') errors[name] = result.error;
    else values[name] = result;
  }

  for (const name of Object.keys(raw)) {
    const schema = schemas[name];
    if (schema === undefined) {
      errors[name] = NOT_IN_SCHEMA;
      continue;
    }
    if (schema.requires !== undefined && raw[schema.requires] === undefined) {
      errors[schema.requires] = `missing property required by '${name}'`;
    }
  }

  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, values };
}

function checkValue(schema: ParameterSchema, value: Exclude<RawParameter, null>): string | number | { error: string } {
  if (Array.isArray(value)) return { error: `type check ('${schema.type}') failed - got ARRAY` };

  const converted = convertType(schema.type, value);
  if (typeof converted === 'object') return converted;
  const text = String(value);

  if (schema.format !== undefined) {
    const formatError = FORMAT_CHECKS[schema.format]?.(text);
    if (formatError !== undefined) return { error: `invalid format - ${formatError}\n` };
  }
  if (schema.pattern !== undefined && !compilePerlPattern(schema.pattern).test(text)) {
    return { error: 'value does not match the regex pattern' };
  }
  if (schema.maxLength !== undefined && text.length > schema.maxLength) {
    return { error: `value may only be ${schema.maxLength} characters long` };
  }
  if (schema.minLength !== undefined && text.length < schema.minLength) {
    return { error: `value must be at least ${schema.minLength} characters long` };
  }
  if (NUMBER_RE.test(text)) {
    const number = Number(text);
    if (schema.maximum !== undefined && number > schema.maximum) {
      return { error: `value must have a maximum value of ${schema.maximum}` };
    }
    if (schema.minimum !== undefined && number < schema.minimum) {
      return { error: `value must have a minimum value of ${schema.minimum}` };
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(text)) {
    return { error: `value '${text}' does not have a value in the enumeration '${schema.enum.join(', ')}'` };
  }
  return converted;
}

/** PVE accepts a boolean only as '0' or '1' (or a JSON boolean), an integer only as decimal digits. */
function convertType(type: ParameterSchema['type'], value: string | number | boolean): string | number | { error: string } {
  const failed = { error: `type check ('${type}') failed - got '${String(value)}'` };
  switch (type) {
    case 'string':
      return String(value);
    case 'boolean':
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (String(value) === '1') return 1;
      if (String(value) === '0') return 0;
      return failed;
    case 'integer':
      return INTEGER_RE.test(String(value)) ? Number(value) : failed;
    case 'number':
      return NUMBER_RE.test(String(value)) ? Number(value) : failed;
  }
}
