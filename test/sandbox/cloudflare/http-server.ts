import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ApiContext, ApiResult } from './api-context.js';
import { detectScheme, readCredential, type CredentialRegistry, type Principal } from './auth.js';
import { failureBody, sendJson, successBody } from './envelope.js';
import {
  ApiError,
  bodyTooLarge,
  injectedFault,
  invalidAccessToken,
  invalidApiToken,
  malformedJson,
  noRoute,
  rateLimited,
  unknownGlobalKey,
} from './errors.js';
import type { RateLimiter } from './rate-limit.js';
import { batchRecords, createRecord, deleteRecord, getRecord, listRecords, recordUsage, updateRecord } from './records-api.js';
import type { SimulatorStore } from './store.js';
import { verifyAccountToken, verifyUserToken } from './tokens-api.js';
import type { AuthScheme, HttpFault, RequestLogEntry } from './types.js';
import type { Owner } from './views.js';
import { getZone, listZones } from './zones-api.js';

export const API_PREFIX = '/client/v4';
const MAX_BODY_BYTES = 1024 * 1024;

interface Route {
  method: string;
  pattern: RegExp;
  /** Verify endpoints reject unknown tokens with 401/1000 instead of 403/9109. */
  verify?: boolean;
  handle: (context: ApiContext, params: string[]) => ApiResult;
}

// Path segments match `[^/]*` so an empty or malformed id reaches the handler, which returns 7003.
const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/user\/tokens\/verify$/, verify: true, handle: (c) => verifyUserToken(c) },
  { method: 'GET', pattern: /^\/accounts\/([^/]*)\/tokens\/verify$/, verify: true, handle: (c, [a]) => verifyAccountToken(c, a ?? '') },
  { method: 'GET', pattern: /^\/zones$/, handle: (c) => listZones(c) },
  { method: 'GET', pattern: /^\/zones\/([^/]*)$/, handle: (c, [z]) => getZone(c, z ?? '') },
  { method: 'GET', pattern: /^\/zones\/([^/]*)\/dns_records$/, handle: (c, [z]) => listRecords(c, z ?? '') },
  { method: 'POST', pattern: /^\/zones\/([^/]*)\/dns_records$/, handle: (c, [z]) => createRecord(c, z ?? '') },
  { method: 'POST', pattern: /^\/zones\/([^/]*)\/dns_records\/batch$/, handle: (c, [z]) => batchRecords(c, z ?? '') },
  { method: 'GET', pattern: /^\/zones\/([^/]*)\/dns_records\/usage$/, handle: (c, [z]) => recordUsage(c, z ?? '') },
  { method: 'GET', pattern: /^\/zones\/([^/]*)\/dns_records\/([^/]*)$/, handle: (c, [z, r]) => getRecord(c, z ?? '', r ?? '') },
  {
    method: 'PUT',
    pattern: /^\/zones\/([^/]*)\/dns_records\/([^/]*)$/,
    handle: (c, [z, r]) => updateRecord(c, z ?? '', r ?? '', 'overwrite'),
  },
  {
    method: 'PATCH',
    pattern: /^\/zones\/([^/]*)\/dns_records\/([^/]*)$/,
    handle: (c, [z, r]) => updateRecord(c, z ?? '', r ?? '', 'edit'),
  },
  { method: 'DELETE', pattern: /^\/zones\/([^/]*)\/dns_records\/([^/]*)$/, handle: (c, [z, r]) => deleteRecord(c, z ?? '', r ?? '') },
];

export interface HttpApiDependencies {
  store: SimulatorStore;
  credentials: CredentialRegistry;
  rateLimiter: RateLimiter;
  owner: Owner;
  nameServers: string[];
  requestLog: RequestLogEntry[];
  faults: Array<HttpFault & { remaining: number }>;
  /** Responses held by `hang` faults; `clearFaults()` closes them. */
  held: Set<ServerResponse>;
}

function findRoute(method: string, apiPath: string): { route: Route; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(apiPath);
    if (match !== null) return { route, params: match.slice(1).map((param) => decodeURIComponent(param)) };
  }
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw bodyTooLarge(MAX_BODY_BYTES);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw malformedJson();
  }
}

/** Key of the rate-limit window: a hash of the credential, so the limiter stores no secret. */
function rateKey(request: IncomingMessage): string {
  const parts = [request.headers['authorization'], request.headers['x-auth-email'], request.headers['x-auth-key']];
  const material = parts.map((part) => (Array.isArray(part) ? part.join(',') : (part ?? ''))).join('\n');
  if (material.trim() === '') return `none:${request.socket.remoteAddress ?? ''}`;
  return createHash('sha256').update(material).digest('hex');
}

function authenticate(
  request: IncomingMessage,
  credentials: CredentialRegistry,
  route: Route,
): Principal {
  const presented = readCredential(request.headers);
  if (presented.scheme === 'key') {
    if (!credentials.hasGlobalKey(presented.email, presented.key)) throw unknownGlobalKey();
    return { kind: 'key', email: presented.email };
  }
  const token = credentials.findToken(presented.token);
  if (token === undefined) throw route.verify === true ? invalidApiToken() : invalidAccessToken();
  // Disabled and expired tokens may still ask the verify endpoint for their status.
  if (token.status !== 'active' && route.verify !== true) throw invalidAccessToken();
  return { kind: 'token', token };
}

function applyFault(fault: HttpFault, response: ServerResponse, held: Set<ServerResponse>, reply: (status: number, body: unknown, headers?: Record<string, string>) => void): void {
  const action = fault.action ?? 'reply';
  if (action === 'hang') {
    held.add(response);
    response.once('close', () => held.delete(response));
    return;
  }
  if (action === 'reset') {
    response.socket?.resetAndDestroy();
    return;
  }
  if (action === 'malformed') {
    const text = JSON.stringify(failureBody(injectedFault(fault.status)));
    response.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.headers ?? {}) });
    response.end(text.slice(0, Math.floor(text.length / 2)));
    return;
  }
  reply(fault.status, fault.body ?? failureBody(injectedFault(fault.status)), fault.headers);
}

/** Creates the HTTP server of the v4 API; the caller listens and closes it. */
export function createApiServer(deps: HttpApiDependencies): Server {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const time = Date.now();
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://simulator.invalid');
    const scheme: AuthScheme = detectScheme(request.headers);
    const entry: RequestLogEntry = { method, path: url.pathname, query: url.search.replace(/^\?/, ''), status: 0, authScheme: scheme, time };
    deps.requestLog.push(entry);

    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      sendJson(response, status, body, headers);
    };

    const fault = deps.faults.find((candidate) => candidate.remaining > 0 && candidate.match({ method, path: url.pathname }));
    if (fault !== undefined) {
      fault.remaining -= 1;
      await readBody(request).catch(() => Buffer.alloc(0));
      applyFault(fault, response, deps.held, reply);
      return;
    }

    const limit = deps.rateLimiter.limit;
    const decision = deps.rateLimiter.take(rateKey(request), time);
    // `Ratelimit` and `Ratelimit-Policy` as Cloudflare sends them on every REST response (same limits page).
    const rateHeaders = {
      ratelimit: `"default";r=${decision.remaining};t=${decision.resetSeconds}`,
      'ratelimit-policy': `"default";q=${limit.requests};w=${Math.round(limit.windowMs / 1000)}`,
    };

    try {
      if (!decision.allowed) throw rateLimited(limit.retryAfterSeconds);
      const body = await readBody(request);
      if (!url.pathname.startsWith(`${API_PREFIX}/`)) throw noRoute();
      const found = findRoute(method, url.pathname.slice(API_PREFIX.length));
      if (found === undefined) throw noRoute();

      const principal = authenticate(request, deps.credentials, found.route);
      const context: ApiContext = {
        store: deps.store,
        owner: deps.owner,
        nameServers: deps.nameServers,
        principal,
        method,
        fullPath: url.pathname.replace(/\/{2,}/g, '/'),
        query: url.searchParams,
        body: method === 'GET' || method === 'DELETE' ? undefined : parseJsonBody(body),
      };
      reply(200, successBody(found.route.handle(context, found.params)), rateHeaders);
    } catch (error) {
      if (error instanceof ApiError) {
        reply(error.status, failureBody(error), { ...rateHeaders, ...error.headers });
        return;
      }
      // A bug in the simulator, not an API error: log it and return 500 so the test sees it.
      const message = error instanceof Error ? error.message : String(error);
      console.error(`Cloudflare simulator failed on ${method} ${url.pathname}: ${message}`);
      reply(500, { result: null, success: false, errors: [{ code: 10002, message: `Internal simulator error: ${message}` }], messages: [] });
    }
  };

  return createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      console.error(`Cloudflare simulator could not answer ${request.method ?? '?'} ${request.url ?? '?'}: ${String(error)}`);
      response.destroy();
    });
  });
}
