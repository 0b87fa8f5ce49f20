import type { FastifyInstance, FastifySchema } from 'fastify';
import { guestPath, routePolicy, type PrivilegeRequirement } from './privileges.js';

/**
 * `GET /api2/json/schema`: an OpenAPI 3.1 document built at run time from the schemas of the
 * registered routes, which are the same schemas fastify validates requests with. The CLI builds
 * its parameter parsing, usage text, completion and man page from it.
 */

/** The subset of JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it) that the route schemas use. */
export interface JsonSchema {
  type?: string | readonly string[];
  description?: string;
  default?: unknown;
  enum?: readonly unknown[];
  /** `password` marks a secret: the CLI reads it from a file or a prompt and never echoes it. */
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

/** Privileges an operation needs, from the rules in privileges.ts. */
export interface OperationPrivileges {
  /** The rule in words, for usage text and the man page. */
  description: string;
  /** Every privilege checked, in order; `{vmid}` in a path stands for each guest the request concerns. */
  requirements: PrivilegeRequirement[];
  /** True when no rule exists and only root on the unix socket may call the operation. */
  'root-only': boolean;
}

export interface OpenApiOperation {
  operationId: string;
  summary?: string;
  description?: string;
  parameters: OpenApiParameter[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, { description: string; content?: { 'application/json': { schema: JsonSchema } } }>;
  'x-privileges': OperationPrivileges;
}

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';
export type OpenApiPathItem = Partial<Record<HttpMethod, OpenApiOperation>>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  components: { securitySchemes: Record<string, { type: 'apiKey'; in: 'cookie' | 'header'; name: string; description: string }> };
  security: Array<Record<string, string[]>>;
  /** Keys are paths below /api2/json with `{name}` path parameters, such as `/domains/{domain}`. */
  paths: Record<string, OpenApiPathItem>;
}

export interface CollectedRoute {
  method: HttpMethod;
  /** Fastify route pattern below the prefix, such as `/domains/:domain`. */
  route: string;
  /** Fastify ignores `summary` and `description`; the document shows them. */
  schema: (FastifySchema & { summary?: unknown; description?: unknown }) | undefined;
}

const documentedMethods = new Set<string>(['GET', 'POST', 'PUT', 'DELETE']);

/** Guest id put into privilege rules to find the guest paths they check; shown as `{vmid}`. */
const probeVmid = 999_999_999;

/** Reads a route schema part as JSON Schema; undefined when the route has none. */
function asJsonSchema(value: unknown): JsonSchema | undefined {
  return typeof value === 'object' && value !== null ? (value) : undefined;
}

function openApiPath(route: string): string {
  const path = route.replace(/:([A-Za-z0-9_-]+)/g, '{$1}');
  return path === '' ? '/' : path;
}

function pathParameterNames(route: string): string[] {
  return [...route.matchAll(/:([A-Za-z0-9_-]+)/g)].map((match) => match[1] as string);
}

function operationId(method: HttpMethod, route: string): string {
  const words = route.split('/').filter((segment) => segment !== '').map((segment) => segment.replace(/^:/, 'by-'));
  return [method, ...words].join('-') || method;
}

function parameterList(location: 'path' | 'query', schema: JsonSchema | undefined, names: readonly string[]): OpenApiParameter[] {
  const properties = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  const ordered = location === 'path' ? names : Object.keys(properties);
  return ordered.map((name) => {
    const property = properties[name] ?? { type: 'string' };
    const parameter: OpenApiParameter = { name, in: location, required: location === 'path' || required.has(name), schema: property };
    if (property.description !== undefined) parameter.description = property.description;
    return parameter;
  });
}

function describeRequirement(requirement: PrivilegeRequirement): string {
  return `${requirement.privilege} on ${requirement.path}`;
}

/**
 * Evaluates the route's rule in privileges.ts for a request that names one guest, so the
 * guest-dependent checks show up with `{vmid}` in their path.
 */
export function operationPrivileges(method: string, route: string): OperationPrivileges {
  const params = Object.fromEntries(pathParameterNames(route).map((name) => [name, 'name.example']));
  const policy = routePolicy({ method: method.toUpperCase(), route, params, body: { vmid: probeVmid } }, () => [probeVmid]);
  if (policy === undefined) {
    return { description: 'Only root on the unix socket may call this; no privilege grants it.', requirements: [], 'root-only': true };
  }
  const probePath = guestPath(probeVmid);
  const requirements = policy.requirements.map((item) => ({ path: item.path.replace(probePath, '/vms/{vmid}'), privilege: item.privilege }));
  const sentences: string[] = [];
  if (requirements.length === 0) sentences.push('Any authenticated user may call this.');
  else sentences.push(`Requires ${requirements.map(describeRequirement).join(', ')}.`);
  if (requirements.some((item) => item.path.includes('{vmid}'))) sentences.push('{vmid} stands for every guest the service uses or the request names.');
  if (policy.filterServicesByGuest) sentences.push('The list holds only the services whose guest the caller has VM.Audit on.');
  return { description: sentences.join(' '), requirements, 'root-only': false };
}

function buildOperation(route: CollectedRoute): OpenApiOperation {
  const schema = route.schema;
  const parameters = [
    ...parameterList('path', asJsonSchema(schema?.params), pathParameterNames(route.route)),
    ...parameterList('query', asJsonSchema(schema?.querystring), []),
  ];
  const operation: OpenApiOperation = {
    operationId: operationId(route.method, route.route),
    parameters,
    responses: {
      '200': { description: 'Success; the result is in `data`.' },
      default: { description: 'Failure: `{data: null, message, errors?}` with the HTTP status of PVE\'s API (400 invalid parameters, 401, 403, 404, 501 unknown path).' },
    },
    'x-privileges': operationPrivileges(route.method, route.route),
  };
  if (typeof schema?.summary === 'string') operation.summary = schema.summary;
  if (typeof schema?.description === 'string') operation.description = schema.description;
  const body = asJsonSchema(schema?.body);
  if (body !== undefined) operation.requestBody = { required: (body.required ?? []).length > 0, content: { 'application/json': { schema: body } } };
  const response = asJsonSchema((schema?.response as Record<string, unknown> | undefined)?.['200']);
  const responseData = response?.properties?.['data'];
  if (responseData !== undefined) {
    operation.responses['200'] = { description: 'Success; the result is in `data`.', content: { 'application/json': { schema: { type: 'object', properties: { data: responseData } } } } };
  }
  return operation;
}

/** Builds the document from the collected routes; paths and methods come out sorted. */
export function buildOpenApiDocument(routes: readonly CollectedRoute[]): OpenApiDocument {
  const paths: Record<string, OpenApiPathItem> = {};
  const sorted = [...routes].sort((a, b) => a.route.localeCompare(b.route) || a.method.localeCompare(b.method));
  for (const route of sorted) {
    const item = (paths[openApiPath(route.route)] ??= {});
    item[route.method] = buildOperation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'pve-external-domains API',
      // The version of this document's format; the daemon's version is in GET /status.
      version: '1',
      description: "The JSON API of pve-domainsd in the style of PVE's: every response is `{data: ...}`, and parameters may be sent as JSON or form-encoded.",
    },
    servers: [{ url: '/api2/json' }],
    components: {
      securitySchemes: {
        PVEAuthCookie: { type: 'apiKey', in: 'cookie', name: 'PVEAuthCookie', description: 'PVE ticket; changes also need the CSRFPreventionToken header.' },
        PVEAPIToken: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'PVEAPIToken=USER@REALM!TOKENID=SECRET' },
      },
    },
    security: [{ PVEAuthCookie: [] }, { PVEAPIToken: [] }],
    paths,
  };
}

/**
 * Collects every route registered below `prefix` from now on, and serves the document at
 * `${prefix}/schema`. Call it before the routes are registered; the document is built on the
 * first request, when no route can be added any more.
 */
export function registerOpenApi(app: FastifyInstance, prefix: string): void {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (options) => {
    if (!options.url.startsWith(prefix)) return;
    const methods = Array.isArray(options.method) ? options.method : [options.method];
    for (const method of methods) {
      if (!documentedMethods.has(method)) continue;
      routes.push({ method: method.toLowerCase() as HttpMethod, route: options.url.slice(prefix.length), schema: options.schema });
    }
  });

  let document: OpenApiDocument | null = null;
  // Fastify ignores `summary` and `description`; the document shows them.
  const schema: FastifySchema & { summary: string } = { summary: 'Returns the OpenAPI 3.1 document of this API, from the schemas that validate its requests.' };
  app.get(`${prefix}/schema`, { schema }, () => {
    document ??= buildOpenApiDocument(routes);
    return { data: document };
  });
}
