import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { RemoteAccess } from '../../daemon/src/api/access-control.js';
import { buildApi } from '../../daemon/src/api/server.js';
import { AccessCache } from '../../daemon/src/auth/access-cache.js';
import { AuditLog } from '../../daemon/src/auth/audit-log.js';
import { CorsPolicy } from '../../daemon/src/auth/cors.js';
import { CsrfVerifier } from '../../daemon/src/auth/csrf.js';
import { PvePermissionClient } from '../../daemon/src/auth/pve-permissions.js';
import type { StoredService } from '../../daemon/src/store/model.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { login } from '../sandbox/pve/client.js';
import { startPveSimulator, type PveSimulator } from '../sandbox/pve/index.js';

/** A ticket and its CSRF token, as the PVE web UI keeps them after login. */
export interface Session {
  ticket: string;
  csrfToken: string;
}

/** The daemon's API app with authentication, backed by a PVE simulator as the permissions source. */
export interface SecuredApi {
  app: FastifyInstance;
  pve: PveSimulator;
  state: StateStore;
  secrets: SecretStore;
  audit: AuditLog;
  dir: string;
  /** Shifts the simulator's clock, in milliseconds, to issue old tickets. */
  setClockSkew(ms: number): void;
  /** Counts `GET /access/permissions` calls the simulator received. */
  permissionCalls(): number;
  stop(): Promise<void>;
}

export interface SecuredApiOptions {
  corsOrigins?: string[];
  cacheTtlMs?: number;
  auditMaxBytes?: number;
}

export const validCloudflareToken = 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T';

export async function startSecuredApi(options: SecuredApiOptions = {}): Promise<SecuredApi> {
  let skew = 0;
  const pve = await startPveSimulator({ now: () => Date.now() + skew });
  const dir = await mkdtemp(join(tmpdir(), 'pve-domains-auth-'));
  const state = await StateStore.open(join(dir, 'state'));
  const secrets = new SecretStore(join(dir, 'secrets'));
  const audit = new AuditLog(join(dir, 'state', 'audit.log'), options.auditMaxBytes === undefined ? {} : { maxBytes: options.auditMaxBytes });
  const remote: RemoteAccess = {
    cors: new CorsPolicy(options.corsOrigins ?? []),
    csrf: new CsrfVerifier(pve.wwwKey),
    permissions: new AccessCache(new PvePermissionClient({ url: pve.url, caFile: null }), { ttlMs: options.cacheTtlMs ?? 15_000 }),
  };
  const app = await buildApi({ state, secrets, enqueue: () => undefined, logger: pino({ level: 'silent' }) }, { remote, audit });
  return {
    app,
    pve,
    state,
    secrets,
    audit,
    dir,
    setClockSkew: (ms) => {
      skew = ms;
    },
    permissionCalls: () => pve.requestLog.filter((entry) => entry.path === '/api2/json/access/permissions').length,
    async stop() {
      await app.close();
      await pve.stop();
      // The audit log append of the last request may still create its file while the folder is
      // removed (inject resolves first); rm retries on the resulting ENOTEMPTY.
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}

/** Adds a user with a password and ACLs on the simulator and logs in. */
export async function userSession(pve: PveSimulator, userid: string, privileges: Record<string, string[]>): Promise<Session> {
  const password = randomUUID();
  pve.addUser(userid, password, privileges);
  return login(pve.url, userid, password);
}

export function ticketHeaders(session: Session, withCsrf: boolean): Record<string, string> {
  const headers: Record<string, string> = { cookie: `PVEAuthCookie=${encodeURIComponent(session.ticket)}` };
  if (withCsrf) headers['csrfpreventiontoken'] = session.csrfToken;
  return headers;
}

export function tokenHeaders(tokenId: string, secret: string): Record<string, string> {
  return { authorization: `PVEAPIToken=${tokenId}=${secret}` };
}

/** Stores a domain directly, bypassing the API. */
export async function storeDomain(api: SecuredApi, name: string): Promise<void> {
  await api.secrets.write('cloudflare', name, JSON.stringify({ kind: 'token', token: validCloudflareToken }));
  await api.state.update((document) => {
    document.domains.push({ name, acmeDirectory: 'https://acme.example.net/dir', acmeEmail: 'admin@example.com', createdAt: new Date().toISOString() });
  });
}

/** Stores a service directly, bypassing the API. */
export async function storeService(api: SecuredApi, subdomain: string, domain: string, vmid: number): Promise<string> {
  const fqdn = `${subdomain}.${domain}`;
  const service: StoredService = {
    fqdn,
    subdomain,
    domain,
    vmid,
    port: 8080,
    createdAt: new Date().toISOString(),
    deleting: false,
    conditions: [],
    observed: { target: null },
    retry: { failures: 0, nextAttemptAt: null, lastError: null },
  };
  await api.state.update((document) => {
    document.services.push(service);
  });
  return fqdn;
}
