import type { JsonSchema } from '../api/openapi.js';
import type { CliParameter } from './api-schema.js';
import { UsageError } from './errors.js';
import { mainType, isNullable, propertyStringForm } from './parameter-types.js';

/**
 * Turns `--name value` options into the query or body of a request. They are checked against the
 * operation's schema before anything is sent. Unknown names, missing required parameters, wrong
 * types and values outside an enum or range are usage errors that name the parameter.
 */

/** One `--name value` from the command line; `value` is null for a bare `--name`. */
export interface RawOption {
  name: string;
  value: string | null;
}

/** Sources of the secrets that are not on the command line. */
export interface SecretInput {
  /** True when a person can be prompted: stdin is a terminal. */
  interactive: boolean;
  /** Reads a secret without echoing it. */
  prompt(label: string): Promise<string>;
  /** Reads a `--NAME-file` file; throws a message naming the file. */
  readFile(path: string): string;
}

export interface ResolvedParameters {
  query: Record<string, string | string[]>;
  body: Record<string, unknown>;
}

const booleanWords: Readonly<Record<string, boolean>> = { '1': true, true: true, yes: true, on: true, '0': false, false: false, no: false, off: false };
const integerText = /^-?(0|[1-9][0-9]{0,15})$/;

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}

/** Finds the known name closest to `name` (a unique prefix, or at most two edits away) for "did you mean". */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((candidate) => candidate.startsWith(name));
  if (prefixed.length === 1) return prefixed[0];
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Converts one text value to the type of `schema`; `label` names it in errors (`--port`, `--health-check interval`). */
function convertScalar(label: string, schema: JsonSchema, text: string): unknown {
  if (isNullable(schema) && text === 'null') return null;
  const type = mainType(schema);
  let value: unknown;
  switch (type) {
    case 'boolean': {
      const word = booleanWords[text.toLowerCase()];
      if (word === undefined) throw new UsageError(`${label}: "${text}" is not a boolean; write 1 or 0`);
      value = word;
      break;
    }
    case 'integer':
    case 'number': {
      let number = Number(text);
      if (type === 'integer' && !integerText.test(text)) number = Number.NaN;
      if (!Number.isFinite(number) || text.trim() === '') {
        throw new UsageError(`${label}: "${text}" is not ${type === 'integer' ? 'an integer; write a whole number' : 'a number'}`);
      }
      if (schema.minimum !== undefined && number < schema.minimum) throw new UsageError(`${label}: ${number} is below the minimum ${schema.minimum}`);
      if (schema.maximum !== undefined && number > schema.maximum) throw new UsageError(`${label}: ${number} is above the maximum ${schema.maximum}`);
      value = number;
      break;
    }
    case 'object':
      return convertObject(label, schema, text);
    default:
      value = text;
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    throw new UsageError(`${label}: "${text}" is not allowed; use one of ${schema.enum.map(String).join(', ')}`);
  }
  return value;
}

/** Checks a value given as JSON against the types of `schema`, one level deep into objects and lists. */
function checkJsonValue(label: string, schema: JsonSchema, value: unknown): unknown {
  if (value === null) {
    if (isNullable(schema)) return null;
    throw new UsageError(`${label}: null is not allowed here`);
  }
  const type = mainType(schema);
  if (type === 'array') {
    if (!Array.isArray(value)) throw new UsageError(`${label}: expected a JSON list`);
    return value.map((item: unknown, index) => checkJsonValue(`${label}[${index}]`, schema.items ?? {}, item));
  }
  if (type === 'object') {
    if (typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${label}: expected a JSON object`);
    const known = Object.keys(schema.properties ?? {});
    for (const key of Object.keys(value)) {
      if (schema.properties !== undefined && !known.includes(key)) throw new UsageError(`${label}: unknown key "${key}"; the keys are ${known.join(', ')}`);
    }
    for (const key of schema.required ?? []) {
      if (!(key in value)) throw new UsageError(`${label}: the key "${key}" is missing`);
    }
    return value;
  }
  const expected = type === 'integer' ? 'number' : type;
  if (typeof value !== expected || (type === 'integer' && !Number.isInteger(value))) throw new UsageError(`${label}: expected ${type}, got ${JSON.stringify(value)}`);
  return value;
}

/** Parses a JSON object, or PVE's property string `key=value,key=value`, against `schema`. */
function convertObject(label: string, schema: JsonSchema, text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new UsageError(`${label}: invalid JSON (${(err as Error).message}); write a JSON object or ${propertyStringForm(schema)}`);
    }
    return checkJsonValue(label, schema, parsed);
  }
  const properties = schema.properties ?? {};
  const result: Record<string, unknown> = {};
  for (const pair of trimmed.split(',')) {
    if (pair.trim() === '') continue;
    const equals = pair.indexOf('=');
    if (equals < 1) throw new UsageError(`${label}: "${pair}" is not key=value; write ${propertyStringForm(schema)}`);
    const key = pair.slice(0, equals).trim();
    // Own keys only: `constructor` or `__proto__` would otherwise find Object.prototype's members.
    const property = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (property === undefined) throw new UsageError(`${label}: unknown key "${key}"; the keys are ${Object.keys(properties).join(', ')}`);
    result[key] = convertScalar(`${label} ${key}`, property, pair.slice(equals + 1));
  }
  for (const key of schema.required ?? []) {
    if (!(key in result)) throw new UsageError(`${label}: the key "${key}" is missing; write ${propertyStringForm(schema)}`);
  }
  return result;
}

/** Converts the values given for one parameter (an option may be repeated for lists). */
export function convertParameter(parameter: CliParameter, values: readonly string[]): unknown {
  const label = `--${parameter.name}`;
  const type = mainType(parameter.schema);
  if (type !== 'array') {
    if (values.length > 1) throw new UsageError(`${label} is given ${values.length} times; it takes one value`);
    return convertScalar(label, parameter.schema, values[0] as string);
  }

  const items = parameter.schema.items ?? { type: 'string' };
  if (values.length === 1 && isNullable(parameter.schema) && values[0] === 'null') return null;
  const result: unknown[] = [];
  for (const text of values) {
    const trimmed = text.trim();
    if (trimmed.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(trimmed);
      } catch (err) {
        throw new UsageError(`${label}: invalid JSON list (${(err as Error).message})`);
      }
      result.push(...(checkJsonValue(label, parameter.schema, parsed) as unknown[]));
    } else if (mainType(items) === 'object') {
      result.push(convertScalar(label, items, text));
    } else {
      // An empty value gives an empty list, which clears a list such as allowed-networks.
      for (const part of text.split(',')) if (part.trim() !== '') result.push(convertScalar(label, items, part.trim()));
    }
  }
  if (parameter.schema.maxItems !== undefined && result.length > parameter.schema.maxItems) {
    throw new UsageError(`${label}: ${result.length} values given, at most ${parameter.schema.maxItems} are allowed`);
  }
  return result;
}

function queryValue(value: unknown): string | string[] {
  if (Array.isArray(value)) return value.map((item) => queryValue(item) as string);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/** Context of the command, for error hints: the usage line to show and the path parameters. */
export interface ParameterContext {
  /** Such as `pve-domains usage /domains --command create`. */
  usageHint: string;
  pathParameters: readonly string[];
}

/** Groups the options by parameter, reading `--NAME-file` for secret parameters. */
function collectValues(parameters: readonly CliParameter[], options: readonly RawOption[], secrets: SecretInput, context: ParameterContext): Map<string, Array<string | null>> {
  const byName = new Map(parameters.map((parameter) => [parameter.name, parameter]));
  const collected = new Map<string, Array<string | null>>();
  const fromFile = new Set<string>();
  for (const option of options) {
    let name = option.name;
    let value = option.value;
    const base = name.endsWith('-file') ? name.slice(0, -'-file'.length) : undefined;
    if (!byName.has(name) && base !== undefined && byName.get(base)?.secret === true) {
      if (value === null) throw new UsageError(`--${name} needs the path of a file`, context.usageHint);
      value = (secrets.readFile(value).split('\n')[0] ?? '').trim();
      fromFile.add(base);
      name = base;
    } else if (!byName.has(name)) {
      throw unknownParameter(name, parameters, context);
    }
    const list = collected.get(name) ?? [];
    if (list.length > 0 && fromFile.has(name)) throw new UsageError(`--${name} and --${name}-file are both given; give one of them`, context.usageHint);
    list.push(value);
    collected.set(name, list);
  }
  return collected;
}

function unknownParameter(name: string, parameters: readonly CliParameter[], context: ParameterContext): UsageError {
  if (context.pathParameters.includes(name)) {
    return new UsageError(`--${name} is part of the path here, not an option; write its value into the path`, context.usageHint);
  }
  const names = parameters.map((parameter) => parameter.name);
  const suggestion = closestName(name, names);
  let known = `did you mean --${suggestion}?`;
  if (names.length === 0) known = 'this command takes no parameters';
  else if (suggestion === undefined) known = `the parameters are --${names.join(', --')}`;
  return new UsageError(`unknown parameter --${name}; ${known}`, context.usageHint);
}

/** Checks and converts the options of one API call. */
export async function resolveParameters(parameters: readonly CliParameter[], options: readonly RawOption[], secrets: SecretInput, context: ParameterContext): Promise<ResolvedParameters> {
  const collected = collectValues(parameters, options, secrets, context);
  // Every missing parameter is named at once; a secret is prompted for instead where possible.
  const missing = parameters.filter((parameter) => parameter.required && !collected.has(parameter.name) && !(parameter.secret && secrets.interactive));
  if (missing.length > 0) {
    const names = missing.map((parameter) => (parameter.secret ? `--${parameter.name} (or --${parameter.name}-file FILE)` : `--${parameter.name}`));
    throw new UsageError(`the parameter${names.length > 1 ? 's' : ''} ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} required`, context.usageHint);
  }
  const result: ResolvedParameters = { query: {}, body: {} };
  for (const parameter of parameters) {
    const given = collected.get(parameter.name);
    if (given === undefined && !parameter.required) continue;
    const values: string[] = [];
    for (const value of given ?? [null]) {
      if (value !== null) {
        values.push(value);
      } else if (mainType(parameter.schema) === 'boolean' && given !== undefined) {
        // A bare boolean flag means 1, as with pvesh (`--force`).
        values.push('1');
      } else if (parameter.secret && secrets.interactive) {
        values.push(await secrets.prompt(parameter.name));
      } else {
        const source = parameter.secret ? `; pass --${parameter.name}-file FILE, or run on a terminal to be prompted` : '';
        throw new UsageError(`--${parameter.name} needs a value${source}`, context.usageHint);
      }
    }
    let value: unknown;
    try {
      value = convertParameter(parameter, values);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(err.message, context.usageHint);
      throw err;
    }
    if (parameter.location === 'query') result.query[parameter.name] = queryValue(value);
    else result.body[parameter.name] = value;
  }
  return result;
}
