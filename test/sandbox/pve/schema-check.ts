/**
 * A checker for the subset of JSON schema that PVE's API description (`apidata.js` of pve-docs,
 * stored as pve-api-schema.json) uses for return values, written for the simulator's schema tests.
 *
 * The checker verifies `type` (string, integer, number, boolean, object, array, null, any),
 * `optional`, `properties`, `additionalProperties`, `items`, `enum`, `minimum`, `maximum`,
 * `minLength`, `maxLength` and `pattern`. A property key such as `net[n]` covers net0, net1 and
 * so on. It parses property strings (a `format` object) and checks the named formats in
 * NAMED_FORMATS, and resolves `alias` and `keyAlias` keys in them. It does not check `requires`,
 * `oneOf` with `type-property` and `instance-types`, or any other named format, which
 * `uncheckedFormats` collects.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface JsonSchema {
  type?: string;
  optional?: number | boolean;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: number | boolean | JsonSchema;
  items?: JsonSchema;
  enum?: Array<string | number>;
  minimum?: number | string;
  maximum?: number | string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string | Record<string, JsonSchema>;
  default_key?: number | boolean;
  requires?: string;
  [key: string]: unknown;
}

export interface MethodInfo {
  method: string;
  allowtoken?: number;
  protected?: number;
  proxyto?: string | null;
  permissions?: { user?: string; check?: unknown[]; description?: string };
  parameters: JsonSchema;
  returns: JsonSchema;
}

interface SchemaNode {
  path: string;
  info?: Record<string, MethodInfo>;
  children?: SchemaNode[];
}

/** The API schema indexed by path template, such as '/nodes/{node}/lxc'. */
export type ApiSchemaIndex = ReadonlyMap<string, Readonly<Record<string, MethodInfo>>>;

const SCHEMA_FILE = 'pve-api-schema.json';

/**
 * Finds pve-api-schema.json: the PVE_API_SCHEMA environment variable, then `reference/` in the
 * repository, then `../shared/reference/` beside the repository. Throws with the places tried.
 */
/** Returns the path of the schema file, or null when none of the known places has it. */
export function findApiSchema(): string | null {
  try {
    return locateApiSchema();
  } catch {
    return null;
  }
}

export function locateApiSchema(): string {
  const repository = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const candidates = [
    process.env.PVE_API_SCHEMA,
    join(repository, 'reference', SCHEMA_FILE),
    join(repository, '..', 'shared', 'reference', SCHEMA_FILE),
  ].filter((candidate): candidate is string => candidate !== undefined && candidate !== '');
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) {
    throw new Error(`${SCHEMA_FILE} not found in ${candidates.join(', ')}; set PVE_API_SCHEMA to its path`);
  }
  return found;
}

export function loadApiSchema(file: string): ApiSchemaIndex {
  const roots = JSON.parse(readFileSync(file, 'utf8')) as SchemaNode[];
  const index = new Map<string, Record<string, MethodInfo>>();
  const visit = (nodes: readonly SchemaNode[]): void => {
    for (const node of nodes) {
      if (node.info !== undefined) index.set(node.path, node.info);
      visit(node.children ?? []);
    }
  };
  visit(roots);
  return index;
}

/** Perl writes `(?^:...)` for an embedded flag group; `(?:...)` matches the same in JavaScript. */
function compilePattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern.replace(/\(\?\^:/g, '(?:')})$`);
}

const IPV4 = '(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}';
const DNS_LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?';

/** Named formats the checker understands, each as a whole-value regular expression. */
const NAMED_FORMATS: Record<string, RegExp> = {
  'pve-node': new RegExp(`^${DNS_LABEL}$`),
  'dns-name': new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`),
  'pve-tag-list': /^[a-z0-9_][a-z0-9_\-+.]*([;, ]+[a-z0-9_][a-z0-9_\-+.]*)*$/i,
  'mac-addr': /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i,
  ipv4: new RegExp(`^${IPV4}$`),
  'pve-ipv4-config': new RegExp(`^(${IPV4}/(3[0-2]|[12]?\\d)|dhcp|manual)$`),
  'pve-vmid': /^[1-9]\d{2,8}$/,
};

export interface CheckResult {
  errors: string[];
  /** Named formats met in the value that the checker does not verify. */
  uncheckedFormats: Set<string>;
}

/** Checks a value against a return schema; an empty `errors` list means it matches. */
export function checkValue(schema: JsonSchema, value: unknown): CheckResult {
  const result: CheckResult = { errors: [], uncheckedFormats: new Set() };
  checkNode(schema, value, '$', result);
  return result;
}

function isTrue(flag: number | boolean | undefined): boolean {
  return flag === true || flag === 1;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function checkType(type: string | undefined, value: unknown, at: string, result: CheckResult): boolean {
  let ok: boolean;
  switch (type) {
    case undefined:
    case 'any':
      return true;
    case 'null':
      ok = value === null;
      break;
    case 'string':
      ok = typeof value === 'string';
      break;
    case 'integer':
      ok = typeof value === 'number' && Number.isInteger(value);
      break;
    case 'number':
      ok = typeof value === 'number' && Number.isFinite(value);
      break;
    case 'boolean':
      // PVE's Perl code often encodes booleans as the numbers 0 and 1, so both forms pass.
      ok = typeof value === 'boolean' || value === 0 || value === 1;
      break;
    case 'object':
      ok = value !== null && typeof value === 'object' && !Array.isArray(value);
      break;
    case 'array':
      ok = Array.isArray(value);
      break;
    default:
      result.errors.push(`${at}: schema type '${type}' is not supported by the checker`);
      return false;
  }
  if (!ok) result.errors.push(`${at}: expected ${type}, got ${describe(value)} ${JSON.stringify(value)}`);
  return ok;
}

function checkNode(schema: JsonSchema, value: unknown, at: string, result: CheckResult): void {
  if (!checkType(schema.type, value, at, result)) return;
  if (Array.isArray(value)) {
    if (schema.items !== undefined) value.forEach((item, i) => checkNode(schema.items as JsonSchema, item, `${at}[${i}]`, result));
    return;
  }
  if (value !== null && typeof value === 'object') {
    checkObject(schema, value as Record<string, unknown>, at, result);
    return;
  }
  if (value !== null) checkScalar(schema, value, at, result);
}

/** Finds the schema of a key; a schema key `name[n]` covers `name0`, `name1`, and so on. */
function propertySchema(properties: Record<string, JsonSchema>, key: string): JsonSchema | undefined {
  const direct = properties[key];
  if (direct !== undefined) return direct;
  const indexed = /^(.*?)(\d+)$/.exec(key);
  return indexed === null ? undefined : properties[`${indexed[1] ?? ''}[n]`];
}

function checkObject(schema: JsonSchema, value: Record<string, unknown>, at: string, result: CheckResult): void {
  const properties = schema.properties ?? {};
  for (const [key, sub] of Object.entries(properties)) {
    if (key.endsWith('[n]')) continue;
    if (value[key] === undefined && !isTrue(sub.optional)) {
      result.errors.push(`${at}.${key}: required property is missing`);
    }
  }
  for (const [key, item] of Object.entries(value)) {
    const sub = propertySchema(properties, key);
    if (sub !== undefined) {
      checkNode(sub, item, `${at}.${key}`, result);
    } else if (schema.additionalProperties === 0 || schema.additionalProperties === false) {
      result.errors.push(`${at}.${key}: property is not defined in the schema, which allows no others`);
    } else if (typeof schema.additionalProperties === 'object') {
      checkNode(schema.additionalProperties, item, `${at}.${key}`, result);
    }
  }
}

function checkScalar(schema: JsonSchema, value: unknown, at: string, result: CheckResult): void {
  const text = String(value);
  if (typeof schema.format === 'object') {
    checkPropertyString(schema.format, text, at, result);
  } else if (typeof schema.format === 'string') {
    const format = NAMED_FORMATS[schema.format];
    if (format === undefined) result.uncheckedFormats.add(schema.format);
    else if (!format.test(text)) result.errors.push(`${at}: '${text}' does not match format ${schema.format}`);
  }
  if (schema.pattern !== undefined && !compilePattern(schema.pattern).test(text)) {
    result.errors.push(`${at}: '${text}' does not match pattern ${schema.pattern}`);
  }
  if (schema.maxLength !== undefined && text.length > schema.maxLength) {
    result.errors.push(`${at}: longer than ${schema.maxLength} characters`);
  }
  if (schema.minLength !== undefined && text.length < schema.minLength) {
    result.errors.push(`${at}: shorter than ${schema.minLength} characters`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < Number(schema.minimum)) {
      result.errors.push(`${at}: ${value} is below the minimum ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && value > Number(schema.maximum)) {
      result.errors.push(`${at}: ${value} is above the maximum ${schema.maximum}`);
    }
  }
  if (schema.enum !== undefined && !schema.enum.map(String).includes(text)) {
    result.errors.push(`${at}: '${text}' is not one of ${schema.enum.join(', ')}`);
  }
}

const BOOLEAN_WORDS: Record<string, number> = { 1: 1, true: 1, yes: 1, on: 1, 0: 0, false: 0, no: 0, off: 0 };

/** Checks a PVE property string such as `name=eth0,bridge=vmbr0,...` against its format object. */
function checkPropertyString(format: Record<string, JsonSchema>, text: string, at: string, result: CheckResult): void {
  const defaultKey = Object.keys(format).find((key) => isTrue(format[key]?.default_key));
  const seen = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part === '') continue;
    const separator = part.indexOf('=');
    const key = separator < 0 ? defaultKey : part.slice(0, separator);
    const raw = separator < 0 ? part : part.slice(separator + 1);
    if (key === undefined) {
      result.errors.push(`${at}: '${part}' has no key and the format has no default key`);
      continue;
    }
    // pve-common `parse_property_string`: an alias stores its value under the aliased key, and a
    // keyAlias also stores the key's own name under the keyAlias (QEMU `virtio=<mac>` is model=virtio, macaddr=<mac>).
    const alias = format[key]?.alias;
    const keyAlias = format[key]?.keyAlias;
    const target = typeof alias === 'string' ? alias : key;
    if (typeof keyAlias === 'string') {
      if (seen.has(keyAlias)) result.errors.push(`${at}: duplicate key '${keyAlias}'`);
      seen.set(keyAlias, key);
    }
    if (seen.has(target)) result.errors.push(`${at}: duplicate key '${target}'`);
    seen.set(target, raw);
  }
  for (const [key, raw] of seen) {
    const sub = format[key];
    if (sub === undefined) {
      result.errors.push(`${at}: unknown key '${key}' in property string`);
      continue;
    }
    let typed: unknown = raw;
    if (sub.type === 'integer' || sub.type === 'number') typed = Number(raw);
    if (sub.type === 'boolean') typed = BOOLEAN_WORDS[raw.toLowerCase()] ?? raw;
    checkNode(sub, typed, `${at}{${key}}`, result);
  }
  for (const [key, sub] of Object.entries(format)) {
    if (!seen.has(key) && !isTrue(sub.optional) && sub.alias === undefined) {
      result.errors.push(`${at}: property string lacks the required key '${key}'`);
    }
  }
}
