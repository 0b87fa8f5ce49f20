import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessCache, CallerAccess } from '../auth/access-cache.js';
import type { AuditEntry, AuditLog } from '../auth/audit-log.js';
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_MAX_AGE_S, type CorsPolicy } from '../auth/cors.js';
import { extractCredential, withinValidityWindow } from '../auth/credentials.js';
import type { CsrfVerifier } from '../auth/csrf.js';
import { AccessError, permissionDenied, unauthorized } from '../auth/errors.js';
import type { ApiContext } from './context.js';
import { guestPath, routePolicy, type RoutePolicy } from './privileges.js';

/** Authentication of requests that do not arrive through the root-only unix socket. */
export interface RemoteAccess {
  cors: CorsPolicy;
  csrf: CsrfVerifier;
  permissions: AccessCache;
  /** Clock in milliseconds, for ticket and CSRF token ages; defaults to Date.now. */
  now?: () => number;
}

export interface ApiSecurity {
  /**
   * When set, only requests from connections of a server passed to `trustSocketConnections`
   * act as root, and every other request must carry a PVE ticket or API token. When unset,
   * every request acts as root, so such an app may be served on the unix socket only.
   */
  remote?: RemoteAccess;
  /** Records every change request when set. */
  audit?: AuditLog;
}

/** The audit log's name for root on the unix socket. */
export const SOCKET_USER = 'root@pam (socket)';

interface RequestState {
  user: string;
  /** Null for root on the unix socket, who passes every check. */
  access: CallerAccess | null;
  policy?: RoutePolicy | undefined;
  error?: string;
}

const states = new WeakMap<FastifyRequest, RequestState>();
const routesByApp = new WeakMap<FastifyInstance, Array<{ method: string; route: string }>>();
const trustedConnections = new WeakSet<Socket>();

/** Maximum concurrent privilege lookups while filtering one list. */
const filterConcurrency = 8;

/**
 * Marks every connection accepted by `server` as root's. The caller passes only the server
 * listening on the unix socket. Node offers no SO_PEERCRED, so the daemon cannot read the peer's
 * uid. The socket is root-only because connecting to a unix socket needs write permission on its
 * file, which is root-owned with mode 0600.
 */
export function trustSocketConnections(server: Server): void {
  server.on('connection', (socket: Socket) => trustedConnections.add(socket));
}

/** Returns every route registered below the prefix (HEAD routes left out), for checks that each has a privilege rule. */
export function registeredRoutes(app: FastifyInstance): ReadonlyArray<{ method: string; route: string }> {
  return routesByApp.get(app) ?? [];
}

function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

function isChange(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'DELETE' || method === 'PATCH';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Applies CORS to a request with an Origin header; returns true when it sent the preflight response. */
function applyCors(cors: CorsPolicy, request: FastifyRequest, reply: FastifyReply): boolean {
  const origin = headerValue(request.headers.origin);
  if (origin === undefined) return false;
  if (!cors.isAllowed(origin, request.headers.host)) {
    throw new AccessError(403, `Origin ${origin} may not call this API; only the PVE web UI of this host and the origins in api.corsOrigins may`);
  }
  void reply.header('Access-Control-Allow-Origin', origin).header('Access-Control-Allow-Credentials', 'true').header('Vary', 'Origin');
  if (request.method !== 'OPTIONS') return false;
  void reply
    .header('Access-Control-Allow-Methods', CORS_ALLOWED_METHODS)
    .header('Access-Control-Allow-Headers', CORS_ALLOWED_HEADERS)
    .header('Access-Control-Max-Age', String(CORS_MAX_AGE_S))
    .code(204)
    .send();
  return true;
}

/** Authenticates a request that did not come through the unix socket, as pveproxy would. */
async function authenticate(remote: RemoteAccess, request: FastifyRequest): Promise<void> {
  const credential = extractCredential(request.headers);
  if (typeof credential === 'string') throw unauthorized(credential);
  const nowSeconds = Math.floor((remote.now ?? Date.now)() / 1000);
  // pveproxy checks the age too; checking it here keeps a cached result from outliving the ticket.
  if (credential.kind === 'ticket' && !withinValidityWindow(credential.issuedAt, nowSeconds)) throw unauthorized('Authentication failed!');

  const access = await remote.permissions.resolve(credential);
  states.set(request, { user: access.authid, access });
  if (credential.kind === 'ticket' && !isRead(request.method)) {
    const token = headerValue(request.headers.csrfpreventiontoken);
    if (!remote.csrf.verify(credential.userid, token, nowSeconds)) throw unauthorized('Permission denied - invalid csrf token');
  }
}

/** Returns the route pattern below `prefix` (such as `/services/:fqdn`), or undefined for an unknown route. */
function routeOf(request: FastifyRequest, prefix: string): string | undefined {
  const url = request.routeOptions.url;
  if (url === undefined || !url.startsWith(prefix)) return undefined;
  return url.slice(prefix.length);
}

async function mapWithLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Keeps the list items whose guest the caller has VM.Audit on. */
async function filterByGuest(access: CallerAccess, payload: unknown): Promise<unknown> {
  if (typeof payload !== 'object' || payload === null) return payload;
  const data = (payload as { data?: unknown }).data;
  if (!Array.isArray(data)) return payload;
  const vmidOf = (item: unknown): number | undefined => {
    const vmid = typeof item === 'object' && item !== null ? (item as { vmid?: unknown }).vmid : undefined;
    return typeof vmid === 'number' ? vmid : undefined;
  };
  const guests = [...new Set(data.map(vmidOf).filter((vmid): vmid is number => vmid !== undefined))];
  const allowed = await mapWithLimit(guests, filterConcurrency, (vmid) => access.has(guestPath(vmid), 'VM.Audit'));
  const visible = new Set(guests.filter((_, index) => allowed[index] === true));
  return { ...payload, data: data.filter((item) => visible.has(vmidOf(item) ?? -1)) };
}

function auditResult(status: number): AuditEntry['result'] {
  if (status < 400) return 'ok';
  return status === 401 || status === 403 ? 'denied' : 'failed';
}

/**
 * Adds the hooks that decide who may call the API: CORS and authentication on request,
 * privileges before validation (as PVE checks permissions before parameters), list filtering
 * before serialization and the audit log after the response.
 */
export function registerAccessControl(app: FastifyInstance, context: ApiContext, security: ApiSecurity, prefix: string): void {
  const { remote, audit } = security;
  const guestOf = (fqdn: string): number[] | undefined => {
    const service = context.state.snapshot().services.find((item) => item.fqdn === fqdn);
    if (service === undefined) return undefined;
    return [service.vmid, ...(service.extraTargets ?? []).map((target) => target.vmid)];
  };
  const policyOf = (request: FastifyRequest): RoutePolicy | undefined => {
    const route = routeOf(request, prefix);
    if (route === undefined) return undefined;
    return routePolicy({ method: request.method, route, params: request.params, body: request.body }, guestOf);
  };

  const routes: Array<{ method: string; route: string }> = [];
  routesByApp.set(app, routes);
  app.addHook('onRoute', (options) => {
    const methods = Array.isArray(options.method) ? options.method : [options.method];
    if (!options.url.startsWith(prefix)) return;
    for (const method of methods) {
      if (method === 'HEAD') continue;
      const route = options.url.slice(prefix.length);
      routes.push({ method, route });
      if (routePolicy({ method, route, params: {}, body: undefined }, () => undefined) === undefined) {
        app.log.warn({ method, route }, 'route has no privilege rule; only root may call it');
      }
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    if (remote === undefined || trustedConnections.has(request.raw.socket)) {
      states.set(request, { user: SOCKET_USER, access: null });
      return;
    }
    if (applyCors(remote.cors, request, reply)) return reply;
    await authenticate(remote, request);
    return undefined;
  });

  app.addHook('preValidation', async (request) => {
    const state = states.get(request);
    if (state === undefined) throw unauthorized('No ticket');
    const route = routeOf(request, prefix);
    if (route === undefined) return;
    state.policy = policyOf(request);
    if (state.access === null) return;
    if (state.policy === undefined) {
      request.log.error({ method: request.method, route }, 'route has no privilege rule; refusing it for every caller but root');
      throw new AccessError(403, `Permission check failed (no privilege rule for ${request.method} ${route}; only root may call it)`);
    }
    for (const requirement of state.policy.requirements) {
      if (!(await state.access.has(requirement.path, requirement.privilege))) throw permissionDenied(requirement.path, requirement.privilege);
    }
  });

  app.addHook('preSerialization', async (request, _reply, payload: unknown) => {
    const state = states.get(request);
    if (state?.access === null || state?.access === undefined || state.policy?.filterServicesByGuest !== true) return payload;
    return filterByGuest(state.access, payload);
  });

  app.addHook('onError', async (request, _reply, error) => {
    const state = states.get(request);
    if (state !== undefined) state.error = error.message;
  });

  if (audit === undefined) return;
  app.addHook('onResponse', async (request, reply) => {
    const state = states.get(request);
    const route = routeOf(request, prefix);
    if (state === undefined || route === undefined || !isChange(request.method)) return;
    const policy = state.policy ?? policyOf(request);
    const entry: AuditEntry = {
      time: new Date().toISOString(),
      user: state.user,
      action: policy?.action ?? `${request.method} ${route}`,
      object: policy?.object ?? '',
      result: auditResult(reply.statusCode),
      status: reply.statusCode,
    };
    if (state.error !== undefined && reply.statusCode >= 400) entry.message = state.error;
    try {
      await audit.append(entry);
    } catch (err) {
      request.log.error({ err, file: audit.file, action: entry.action, object: entry.object }, 'unable to append to the audit log');
    }
  });
}
