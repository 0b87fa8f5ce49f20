import type { HttpMethod, JsonSchema, OpenApiDocument, OpenApiOperation } from '../api/openapi.js';

/**
 * Reads the daemon's OpenAPI document the way pvesh reads PVE's API schema: which path template a
 * concrete path matches, which methods it has, and which parameters each method takes.
 */

export type Verb = 'ls' | 'get' | 'create' | 'set' | 'delete';

export const apiVerbs: readonly Verb[] = ['ls', 'get', 'create', 'set', 'delete'];

export const methodOfVerb: Readonly<Record<Verb, HttpMethod>> = { ls: 'get', get: 'get', create: 'post', set: 'put', delete: 'delete' };

/** A parameter as the command line takes it: `--name value`. */
export interface CliParameter {
  name: string;
  schema: JsonSchema;
  required: boolean;
  /** Query string for GET and DELETE, JSON body for POST and PUT. */
  location: 'query' | 'body';
  /** Marked `format: password`: read from `--NAME-file` or a prompt, never printed. */
  secret: boolean;
}

export interface PathMatch {
  /** The document's key, such as `/domains/{domain}`. */
  template: string;
  /** Path parameters with the values of the concrete path, decoded. */
  params: Record<string, string>;
}

/** Returns `/a/b` for `a/b/`, `//a//b` and `/a/b/`; the root stays `/`. */
export function normalisePath(path: string): string {
  const segments = path.split('/').filter((segment) => segment !== '');
  return `/${segments.join('/')}`;
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function isParameterSegment(segment: string): boolean {
  return segment.startsWith('{') && segment.endsWith('}');
}

/**
 * Matches a concrete path (or a template written with `{name}`) to a template of the document.
 * A fixed segment wins over a parameter, so `/domains/{domain}/verify` is not read as a
 * parameter value of a longer template.
 */
export function matchPath(document: OpenApiDocument, path: string): PathMatch | undefined {
  const wanted = segmentsOf(path);
  let best: { match: PathMatch; fixed: number } | undefined;
  for (const template of Object.keys(document.paths)) {
    const parts = segmentsOf(template);
    if (parts.length !== wanted.length) continue;
    const params: Record<string, string> = {};
    let fixed = 0;
    let matches = true;
    parts.forEach((part, index) => {
      const value = wanted[index] as string;
      if (isParameterSegment(part)) {
        params[part.slice(1, -1)] = value === part ? value : decodeURIComponent(value);
      } else if (part === value) {
        fixed += 1;
      } else {
        matches = false;
      }
    });
    if (matches && (best === undefined || fixed > best.fixed)) best = { match: { template, params }, fixed };
  }
  return best?.match;
}

/** Builds the request path from a template and values, encoding each value as one segment. */
export function fillTemplate(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/\{([^}]+)\}/g, (_whole, name: string) => encodeURIComponent(params[name] ?? `{${name}}`));
}

export function operationOf(document: OpenApiDocument, template: string, method: HttpMethod): OpenApiOperation | undefined {
  return document.paths[template]?.[method];
}

/** Verbs that apply to a template, in the order pvesh lists them. */
export function verbsOf(document: OpenApiDocument, template: string): Verb[] {
  const item = document.paths[template] ?? {};
  const verbs: Verb[] = [];
  if (item.get !== undefined) verbs.push('get');
  if (childEntries(document, template).length > 0 || item.get !== undefined) verbs.push('ls');
  if (item.post !== undefined) verbs.push('create');
  if (item.put !== undefined) verbs.push('set');
  if (item.delete !== undefined) verbs.push('delete');
  return verbs;
}

export function isSecret(schema: JsonSchema): boolean {
  return schema.format === 'password';
}

/** The command-line parameters of an operation: query parameters, or the body's properties. */
export function cliParameters(operation: OpenApiOperation): CliParameter[] {
  const parameters: CliParameter[] = [];
  for (const parameter of operation.parameters) {
    if (parameter.in !== 'query') continue;
    parameters.push({ name: parameter.name, schema: parameter.schema, required: parameter.required, location: 'query', secret: isSecret(parameter.schema) });
  }
  const body = operation.requestBody?.content['application/json'].schema;
  const required = new Set(body?.required ?? []);
  for (const [name, schema] of Object.entries(body?.properties ?? {})) {
    parameters.push({ name, schema, required: required.has(name), location: 'body', secret: isSecret(schema) });
  }
  return parameters.sort((a, b) => a.name.localeCompare(b.name));
}

/** One entry below a path, as `ls` lists it. */
export interface ChildEntry {
  /** The fixed segment, or the `{name}` parameter segment whose values come from the list. */
  segment: string;
  template: string;
}

/** Templates one segment below `template` that have a method or further paths below them. */
export function childEntries(document: OpenApiDocument, template: string): ChildEntry[] {
  const base = segmentsOf(template);
  const children = new Map<string, ChildEntry>();
  for (const candidate of Object.keys(document.paths)) {
    const parts = segmentsOf(candidate);
    if (parts.length <= base.length || !base.every((part, index) => parts[index] === part)) continue;
    const segment = parts[base.length] as string;
    if (!children.has(segment)) children.set(segment, { segment, template: `/${[...base, segment].join('/')}` });
  }
  return [...children.values()].sort((a, b) => a.segment.localeCompare(b.segment));
}

/**
 * pvesh's five-character summary of a path: `D` when paths lie below it, then `r` (GET),
 * `w` (PUT), `c` (POST) and `d` (DELETE), each `-` when missing.
 */
export function capabilities(document: OpenApiDocument, template: string): string {
  const item = document.paths[template] ?? {};
  const hasChildren = childEntries(document, template).length > 0;
  return [hasChildren ? 'D' : '-', item.get ? 'r' : '-', item.put ? 'w' : '-', item.post ? 'c' : '-', item.delete ? 'd' : '-'].join('');
}
