import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { pino } from 'pino';
import { buildApi } from '../../daemon/src/api/server.js';
import type { DomainVerifier } from '../../daemon/src/domains/verification.js';
import { AppError } from '../../daemon/src/errors.js';
import { normaliseHostname } from '../../daemon/src/names.js';
import { normaliseRouteOptions } from '../../daemon/src/proxy/route-options.js';
import { isHostname } from '../../daemon/src/proxy/validation.js';
import type { StoredCertificate } from '../../daemon/src/store/model.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { startSecuredApi, userSession, type SecuredApi } from '../api/fixtures.js';
import { anyString, hostileString, nameLike } from './arbitraries.js';
import { checkProperty } from './budget.js';

/**
 * Requests for every route of the API app, built from the OpenAPI document the app serves. Path
 * parameters, query strings and bodies follow the schema most of the time and break it often.
 * Bodies go as JSON, as form-encoded text, or as broken text.
 */

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

interface Operation {
  parameters?: Array<{ name: string; in: 'path' | 'query'; schema: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

interface Endpoint {
  method: string;
  template: string;
  pathParameters: Array<{ name: string; schema: JsonSchema }>;
  query: JsonSchema;
  body: JsonSchema | undefined;
}

/** Body fields that carry secrets: no response may repeat their value. */
const secretFields = new Set(['cloudflare-token', 'cloudflare-global-key', 'cloudflare-zone-token', 'cloudflare-dns-token', 'eab-hmac-key', 'password']);
const secretValue = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{40}$/), fc.stringMatching(/^[0-9a-f]{37}$/), fc.stringMatching(/^cfut_[A-Za-z0-9]{40}$/), fc.stringMatching(/^[A-Za-z0-9+/]{43}=$/));

const knownDomain = 'example.com';
const knownService = 'app.example.com';

const plainString = fc.oneof(
  { weight: 3, arbitrary: nameLike },
  { weight: 2, arbitrary: anyString },
  fc.constantFrom(knownDomain, knownService, 'app', 'default', '101', 'net0', '192.0.2.10', '2001:db8::1', '10.0.0.0/8', '/health', 'https://acme.example.net/dir', 'letsencrypt-staging', 'zerossl', 'admin@example.com', 'X-Test', 'UPID:pve:00000001:00000002:00000003:verify:x:root@pam:'),
  fc.emailAddress(),
  fc.webUrl(),
  fc.ipV4(),
  fc.ipV6(),
  fc.string({ minLength: 250, maxLength: 2100 }),
);

function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

/** Values for `schema`: conforming ones, values at and past its bounds, and values of other types. */
function valueFor(schema: JsonSchema, field: string, depth: number): fc.Arbitrary<unknown> {
  if (secretFields.has(field)) return fc.oneof(secretValue, plainString);
  const choices: Array<fc.Arbitrary<unknown>> = [];
  for (const type of typesOf(schema)) {
    if (schema.enum !== undefined) choices.push(fc.constantFrom(...schema.enum));
    if (type === 'string') choices.push(plainString);
    if (type === 'boolean') choices.push(fc.boolean());
    if (type === 'null') choices.push(fc.constant(null));
    if (type === 'integer' || type === 'number') {
      const min = schema.minimum ?? -1000;
      const max = schema.maximum ?? 100_000;
      choices.push(fc.integer({ min, max }), fc.constantFrom(min - 1, max + 1, 0, -1, 2 ** 53, 1.5, Number.MAX_SAFE_INTEGER));
    }
    if (type === 'array' && depth < 3) {
      choices.push(fc.array(valueFor(schema.items ?? {}, field, depth + 1), { maxLength: Math.min((schema.maxItems ?? 8) + 1, 20) }));
    }
    if (type === 'object' && depth < 3) choices.push(objectFor(schema, depth + 1));
  }
  if (choices.length === 0) choices.push(plainString);
  return fc.oneof({ weight: 6, arbitrary: fc.oneof(...choices) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
}

/** Objects with a random subset of the schema's properties, the required ones most often, and sometimes an extra one. */
function objectFor(schema: JsonSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = Object.entries(schema.properties ?? {});
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of properties) model[name] = valueFor(property, name, depth);
  const required = (schema.required ?? []).filter((name) => name in model);
  const known = properties.length === 0 ? fc.constant({}) : fc.oneof(fc.record(model, { requiredKeys: required }), fc.record(model, { requiredKeys: [] }));
  return fc.tuple(known, fc.option(fc.tuple(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'extra')), fc.jsonValue({ maxDepth: 1 })), { freq: 8 })).map(([object, extra]) => {
    const result: Record<string, unknown> = { ...object };
    if (extra !== null) Object.defineProperty(result, extra[0], { value: extra[1], enumerable: true, configurable: true, writable: true });
    return result;
  });
}

/** Form-encodes an object as PVE's clients do: lists repeat the key, objects go as JSON text. */
function formEncode(body: Record<string, unknown>): string {
  const form = new URLSearchParams();
  const text = (value: unknown): string => (typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));
  for (const [key, value] of Object.entries(body)) {
    if (Array.isArray(value)) for (const item of value) form.append(key, text(item));
    else form.append(key, text(value));
  }
  return form.toString();
}

// "." and ".." are dot segments, which URL normalisation removes before routing, so they name another path.
const pathValue = fc
  .oneof(fc.constantFrom(knownDomain, knownService, 'default', 'missing.example.org', 'app.example.com.', 'APP.EXAMPLE.COM', '*.example.com'), nameLike, anyString)
  .filter((value) => value !== '' && value !== '.' && value !== '..');

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** Secret values the request sent, which the response must not contain. */
  secrets: string[];
}

/** Returns `value` with the values of secret fields left out, to tell which secrets the request also sends in the open. */
function withoutSecrets(value: unknown, field: string): unknown {
  if (secretFields.has(field)) return null;
  if (Array.isArray(value)) return value.map((item) => withoutSecrets(item, field));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutSecrets(item, key)]));
  return value;
}

function collectSecrets(value: unknown, field: string, found: string[]): void {
  if (typeof value === 'string' && secretFields.has(field) && value.length >= 12) found.push(value);
  if (Array.isArray(value)) for (const item of value) collectSecrets(item, field, found);
  else if (typeof value === 'object' && value !== null) for (const [key, item] of Object.entries(value)) collectSecrets(item, key, found);
}

function requestFor(endpoint: Endpoint): fc.Arbitrary<Request> {
  const pathValues = fc.tuple(...endpoint.pathParameters.map(() => pathValue));
  const query = fc.oneof(objectFor(endpoint.query, 1).map((object) => formEncode(object)), anyString.map((text) => encodeURI(text)), fc.constantFrom('', '%', '%zz', 'a&&=b', 'force=1&force=0', 'limit=1e3', '__proto__[x]=1'));
  const encoding = fc.constantFrom('json', 'json', 'form', 'form', 'broken', 'none');
  const body = endpoint.body === undefined ? fc.constant({}) : objectFor(endpoint.body, 0);
  return fc.tuple(pathValues, query, encoding, body, anyString).map(([values, queryText, kind, object, garbage]) => {
    let url = `/api2/json${endpoint.template}`;
    endpoint.pathParameters.forEach((parameter, index) => {
      url = url.replace(`{${parameter.name}}`, encodeURIComponent(values[index] as string));
    });
    if (queryText !== '') url += `?${queryText}`;
    const request: Request = { method: endpoint.method, url, headers: {}, secrets: [] };
    collectSecrets(object, '', request.secrets);
    // A value that the request also sends in the URL or in an ordinary field may be repeated lawfully.
    const open = `${url} ${JSON.stringify(withoutSecrets(object, ''))}`;
    request.secrets = request.secrets.filter((secret) => !open.includes(secret));
    if (kind === 'json') {
      request.headers['content-type'] = 'application/json';
      request.payload = JSON.stringify(object);
    } else if (kind === 'form') {
      request.headers['content-type'] = 'application/x-www-form-urlencoded';
      request.payload = formEncode(object);
    } else if (kind === 'broken') {
      request.headers['content-type'] = garbage.length % 2 === 0 ? 'application/json' : 'application/x-www-form-urlencoded';
      request.payload = garbage;
    }
    return request;
  });
}

/** Lists every operation of the OpenAPI document the app serves. */
async function endpointsOf(app: FastifyInstance): Promise<Endpoint[]> {
  const answer = await app.inject({ method: 'GET', url: '/api2/json/schema' });
  assert.equal(answer.statusCode, 200, answer.body);
  const document = answer.json<{ data: { paths: Record<string, Record<string, Operation>> } }>().data;
  const endpoints: Endpoint[] = [];
  for (const [template, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const parameters = operation.parameters ?? [];
      const queryProperties: Record<string, JsonSchema> = {};
      for (const parameter of parameters) if (parameter.in === 'query') queryProperties[parameter.name] = parameter.schema;
      endpoints.push({
        method: method.toUpperCase(),
        template,
        pathParameters: parameters.filter((parameter) => parameter.in === 'path').map(({ name, schema }) => ({ name, schema })),
        query: { type: 'object', properties: queryProperties },
        body: operation.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return endpoints;
}

/**
 * Stops the secured app. inject() resolves before the onResponse hook has appended to the audit
 * log, so removing the folder can meet a pending append (ENOTEMPTY). The removal is then retried.
 */
async function stopSecured(secured: SecuredApi): Promise<void> {
  try {
    await secured.stop();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await rm(secured.dir, { recursive: true, force: true });
  }
}

const readyVerification = { ready: true, zone: null, checkedAt: '2026-01-01T00:00:00.000Z', checks: [] };

export function registerApiProperties(): void {
  describe('api requests', () => {
    let dir: string;
    let app: FastifyInstance;
    let state: StateStore;
    let endpoints: Endpoint[] = [];

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pve-domains-fuzz-api-'));
      state = await StateStore.open(join(dir, 'state'));
      const secrets = new SecretStore(join(dir, 'secrets'));
      const renewCertificate = (id: string): StoredCertificate => {
        throw new AppError('CERTIFICATE_NOT_FOUND', `Certificate ${id} does not exist`);
      };
      // Stands in for the Cloudflare and CA checks, which need servers; every domain passes.
      const domainVerifier = { verify: () => Promise.resolve({ ...readyVerification, checkedAt: new Date().toISOString() }) } as unknown as DomainVerifier;
      app = await buildApi({ state, secrets, enqueue: () => undefined, renewCertificate, domainVerifier, logger: pino({ level: 'silent' }) });
      await secrets.write('cloudflare', knownDomain, JSON.stringify({ kind: 'token', token: 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T' }));
      await state.update((document) => {
        document.domains.push({ name: knownDomain, acmeDirectory: 'https://acme.example.net/dir', acmeEmail: 'admin@example.com', createdAt: new Date().toISOString() });
        document.services.push({
          fqdn: knownService,
          subdomain: 'app',
          domain: knownDomain,
          vmid: 101,
          port: 8080,
          createdAt: new Date().toISOString(),
          deleting: false,
          conditions: [],
          observed: { target: null },
          retry: { failures: 0, nextAttemptAt: null, lastError: null },
        });
      });
      endpoints = await endpointsOf(app);
    });

    after(async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('answers every route without a 5xx', async (context) => {
      const statuses = new Map<number, number>();
      const absent = new Set<string>();
      assert.ok(endpoints.length >= 10, `the schema lists only ${endpoints.length} operations`);
      const request = fc.oneof(...endpoints.map((endpoint) => requestFor(endpoint)));
      await checkProperty(
        'api: requests to every route',
        request,
        async ({ method, url, headers, payload, secrets }) => {
          const answer = await app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) });
          statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
          // The app here runs without the daemon's parts that need servers (diagnostics, status);
          // their routes return 500 "started without ..." by design and are listed, not failed.
          if (answer.statusCode === 500 && /was started without/.test(answer.body)) {
            absent.add(`${method} ${url.replace(/[?].*$/, '').split('/').slice(0, 4).join('/')}`);
            return;
          }
          assert.ok(answer.statusCode < 500, `${method} ${url} got ${answer.statusCode}: ${answer.body.slice(0, 500)}`);
          if (answer.headers['content-type']?.toString().startsWith('application/json') === true && answer.statusCode >= 400) {
            const body = answer.json<{ message?: unknown }>();
            assert.equal(typeof body.message, 'string', answer.body);
          }
          for (const secret of secrets) assert.ok(!answer.body.includes(secret), `${method} ${url} repeats a secret value in its response`);
        },
        3000,
      );
      const summary = [...statuses].sort(([first], [second]) => first - second).map(([status, count]) => `${status}: ${count}`);
      context.diagnostic(`api statuses over ${endpoints.length} operations: ${summary.join(', ')}`);
      if (absent.size > 0) context.diagnostic(`routes whose daemon part this app lacks: ${[...absent].sort().join(', ')}`);
    });

    it('answers any credentials without a 5xx', async () => {
      const secured: SecuredApi = await startSecuredApi({ corsOrigins: ['https://pve.example.com:8006'] });
      try {
        const session = await userSession(secured.pve, 'fuzz@pve', { '/': ['Sys.Audit'] });
        const ticket = fc.oneof(fc.constant(session.ticket), anyString, fc.tuple(hostileString, fc.nat()).map(([user, time]) => `PVE:${user}:${time.toString(16).toUpperCase().padStart(8, '0')}::${user}`));
        const headerValue = fc.oneof(anyString.map((text) => text.replace(/[^\t\x20-\x7e]/g, '')), fc.constantFrom('', ';', '=', 'PVEAuthCookie', 'PVEAPIToken=', 'PVEAPIToken=root@pam!x=', 'PVEAPIToken=a@b!c=d=e'));
        const headers = fc.record(
          {
            cookie: fc.oneof(ticket.map((value) => `PVEAuthCookie=${encodeURIComponent(value)}`), headerValue),
            authorization: fc.oneof(ticket.map((value) => `PVEAuthCookie=${value}`), headerValue),
            csrfpreventiontoken: fc.oneof(fc.constant(session.csrfToken), headerValue),
            origin: fc.oneof(fc.constantFrom('https://pve.example.com:8006', 'https://pve1.example.com:8006', 'null'), fc.webUrl(), headerValue),
            host: fc.oneof(fc.constantFrom('pve1.example.com:8016', '[::1]:8016', ''), headerValue),
          },
          { requiredKeys: [] },
        );
        // The route's own method, or a preflight; other methods get PVE's 501 for an unknown method by design.
        const target = fc.tuple(fc.constantFrom(...endpoints), fc.boolean()).map(([endpoint, preflight]): [Endpoint, string] => [endpoint, preflight ? 'OPTIONS' : endpoint.method]);
        await checkProperty(
          'api: credentials and origins',
          fc.tuple(target, headers),
          async ([[endpoint, preflightOrMethod], sent]) => {
            // OPTIONS without Origin is no preflight, and PVE returns 501 for it as an unknown method.
            const method = preflightOrMethod === 'OPTIONS' && sent.origin === undefined ? endpoint.method : preflightOrMethod;
            const url = `/api2/json${endpoint.template.replace(/\{\w+\}/g, knownService)}`;
            const answer = await secured.app.inject({ method: method as 'GET', url, headers: sent, ...(method === 'GET' || method === 'OPTIONS' ? {} : { payload: {} }) });
            if (answer.statusCode === 500 && /was started without/.test(answer.body)) return;
            assert.ok(answer.statusCode < 500, `${method} ${url} with ${JSON.stringify(sent)} got ${answer.statusCode}: ${answer.body.slice(0, 300)}`);
          },
          600,
        );
      } finally {
        await stopSecured(secured);
      }
    });

    it('stores only names and options the proxy accepts', () => {
      const document = state.snapshot();
      for (const domain of document.domains) assert.deepEqual(normaliseHostname(domain.name), { ok: true, name: domain.name });
      for (const service of document.services) {
        assert.ok(isHostname(service.fqdn), `stored service ${JSON.stringify(service.fqdn)} is not a host name`);
        assert.doesNotThrow(() => normaliseRouteOptions(service.options), `stored options of ${service.fqdn}`);
      }
    });
  });
}
