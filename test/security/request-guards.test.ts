import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { registeredRoutes } from '../../daemon/src/api/access-control.js';
import { buildApi, listenOnSocket } from '../../daemon/src/api/server.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { startSecuredApi, storeDomain, storeService, ticketHeaders, userSession, type SecuredApi, type Session } from '../api/fixtures.js';
import { TicketAuthority } from '../sandbox/pve/tickets.js';

/**
 * CSRF, CORS and body size limits of the API, for every route the app registers. The
 * authorization matrix in test/api covers who may call which route; these tests cover how a
 * request that carries valid credentials can still be refused.
 */

const base = '/api2/json';
const domain = 'guards.example';
const service = `app.${domain}`;
const host = 'pve1.example.com:8016';
const bodyLimit = 1024 * 1024;

/** Fills a route pattern's parameters with objects the test stored. */
function urlOf(route: string): string {
  const values: Record<string, string> = { domain, fqdn: service, site: 'default', id: service, name: service };
  return `${base}${route.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(values[name] ?? 'x'))}`;
}

function writeRoutes(app: FastifyInstance): Array<{ method: string; route: string }> {
  return registeredRoutes(app).filter(({ method }) => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS');
}

/** Changes one character of the signature part, keeping the token's format. */
function tamper(token: string): string {
  const last = token.at(-1) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -1)}${last}`;
}

describe('csrf', () => {
  let api: SecuredApi;
  let admin: Session;
  const badTokens = new Map<string, string | undefined>();

  before(async () => {
    api = await startSecuredApi();
    admin = await userSession(api.pve, 'admin@pve', { '/': ['Sys.Audit', 'Sys.Modify'], '/vms': ['VM.Audit', 'VM.Config.Network'] });
    await storeDomain(api, domain);
    await storeService(api, 'app', domain, 101);
    const hoursAgo = new TicketAuthority(() => Date.now() - 3 * 3600_000, api.pve.wwwKey);
    const later = new TicketAuthority(() => Date.now() + 10 * 60_000, api.pve.wwwKey);
    const now = new TicketAuthority(() => Date.now(), api.pve.wwwKey);
    badTokens.set('missing', undefined);
    badTokens.set('tampered', tamper(admin.csrfToken));
    badTokens.set('expired', hoursAgo.issueCsrfToken('admin@pve'));
    badTokens.set('from the future', later.issueCsrfToken('admin@pve'));
    badTokens.set("another user's", now.issueCsrfToken('other@pve'));
    badTokens.set('another www key', new TicketAuthority(() => Date.now(), `${api.pve.wwwKey}x`).issueCsrfToken('admin@pve'));
    badTokens.set('empty', '');
  });

  after(async () => {
    await api.stop();
  });

  it('refuses every write without a valid token', async () => {
    const routes = writeRoutes(api.app);
    assert.ok(routes.length >= 8, `only ${routes.length} write routes are registered`);
    for (const { method, route } of routes) {
      for (const [kind, token] of badTokens) {
        const before = JSON.stringify(api.state.snapshot());
        const headers = { ...ticketHeaders(admin, false), ...(token === undefined ? {} : { csrfpreventiontoken: token }) };
        const answer = await api.app.inject({ method: method as 'POST', url: urlOf(route), headers, payload: {} });
        assert.equal(answer.statusCode, 401, `${method} ${route} with a ${kind} token: ${answer.body}`);
        assert.equal(answer.statusMessage, 'Permission denied - invalid csrf token', `${method} ${route} with a ${kind} token`);
        assert.equal(JSON.stringify(api.state.snapshot()), before, `${method} ${route} with a ${kind} token changed the state`);
      }
    }
  });

  it('records refused writes as denied', async () => {
    const entries = await api.audit.read(10_000);
    const denied = entries.filter((entry) => entry.result === 'denied' && entry.status === 401);
    assert.ok(denied.length >= writeRoutes(api.app).length, `only ${denied.length} refused writes are in the audit log`);
  });

  it('accepts the valid token', async () => {
    const answer = await api.app.inject({ method: 'PUT', url: urlOf('/domains/:domain'), headers: ticketHeaders(admin, true), payload: { 'key-type': 'rsa-2048' } });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(api.state.snapshot().domains.find((item) => item.name === domain)?.keyType, 'rsa-2048');
  });

  it('needs no token to read', async () => {
    const answer = await api.app.inject({ method: 'GET', url: urlOf('/domains'), headers: ticketHeaders(admin, false) });
    assert.equal(answer.statusCode, 200, answer.body);
  });
});

describe('cors', () => {
  let api: SecuredApi;
  let admin: Session;
  const foreignOrigins = [
    'https://evil.example.net',
    'null',
    'https://pve1.example.com:8006.evil.example.net',
    'https://evil.pve1.example.com:8006',
    'https://pve1.example.com.evil.example.net:8006',
    'http://pve1.example.com:8006',
    'https://pve1.example.com',
    'https://pve1.example.com:8007',
    'file://',
    'https://pve.example.com:8006 https://evil.example.net',
  ];

  before(async () => {
    api = await startSecuredApi({ corsOrigins: ['https://pve.example.com:8006'] });
    admin = await userSession(api.pve, 'admin@pve', { '/': ['Sys.Audit', 'Sys.Modify'], '/vms': ['VM.Audit', 'VM.Config.Network'] });
    await storeDomain(api, domain);
    await storeService(api, 'app', domain, 101);
  });

  after(async () => {
    await api.stop();
  });

  function corsHeaders(headers: Record<string, unknown>): string[] {
    return Object.keys(headers).filter((name) => name.toLowerCase().startsWith('access-control-'));
  }

  it('gives foreign origins no cors headers', async () => {
    const routes = registeredRoutes(api.app);
    for (const { method, route } of routes) {
      for (const origin of foreignOrigins) {
        const before = JSON.stringify(api.state.snapshot());
        const actual = await api.app.inject({ method: method as 'GET', url: urlOf(route), headers: { host, origin, ...ticketHeaders(admin, true) }, ...(method === 'GET' ? {} : { payload: {} }) });
        assert.deepEqual(corsHeaders(actual.headers), [], `${method} ${route} from ${origin}`);
        assert.equal(actual.statusCode, 403, `${method} ${route} from ${origin}: ${actual.body}`);
        assert.equal(JSON.stringify(api.state.snapshot()), before, `${method} ${route} from ${origin} changed the state`);
        const preflight = await api.app.inject({ method: 'OPTIONS', url: urlOf(route), headers: { host, origin, 'access-control-request-method': method, 'access-control-request-headers': 'csrfpreventiontoken' } });
        assert.deepEqual(corsHeaders(preflight.headers), [], `preflight of ${method} ${route} from ${origin}`);
        assert.notEqual(preflight.statusCode, 204, `preflight of ${method} ${route} from ${origin}`);
      }
    }
  });

  it('gives no cors headers to failed requests', async () => {
    const unknown = await api.app.inject({ method: 'GET', url: `${base}/no-such-collection`, headers: { host, origin: 'https://evil.example.net' } });
    assert.deepEqual(corsHeaders(unknown.headers), []);
    const anonymous = await api.app.inject({ method: 'GET', url: urlOf('/domains'), headers: { host, origin: 'https://evil.example.net' } });
    assert.deepEqual(corsHeaders(anonymous.headers), []);
  });
});

/** Sends a request over the unix socket and returns its status once the daemon has responded. */
function socketRequest(socketPath: string, method: string, path: string, headers: Record<string, string | number>, body: Buffer | null, chunked: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ socketPath, method, path, headers, timeout: 20_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer to ${method} ${path}`)));
    request.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close the connection after its 413 while the body is still being sent.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') resolve(-1);
      else reject(err);
    });
    if (body === null) {
      request.end();
    } else if (chunked) {
      for (let offset = 0; offset < body.length; offset += 64 * 1024) request.write(body.subarray(offset, offset + 64 * 1024));
      request.end();
    } else {
      request.end(body);
    }
  });
}

describe('request size limits', () => {
  let dir: string;
  let app: FastifyInstance;
  let socketPath: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-limits-'));
    const state = await StateStore.open(join(dir, 'state'));
    app = await buildApi({ state, secrets: new SecretStore(join(dir, 'secrets')), enqueue: () => undefined, logger: pino({ level: 'silent' }) });
    socketPath = join(dir, 'api.sock');
    await listenOnSocket(app, socketPath);
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const jsonOf = (size: number): string => {
    const prefix = '{"domain":"';
    return `${prefix}${'a'.repeat(size - prefix.length - 2)}"}`;
  };
  const formOf = (size: number): string => `domain=${'a'.repeat(size - 'domain='.length)}`;

  it('rejects a json body over the limit', async () => {
    const answer = await app.inject({ method: 'POST', url: `${base}/domains`, headers: { 'content-type': 'application/json' }, payload: jsonOf(bodyLimit + 1) });
    assert.equal(answer.statusCode, 413, answer.body);
  });

  it('rejects a form body over the limit', async () => {
    const answer = await app.inject({ method: 'POST', url: `${base}/domains`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: formOf(bodyLimit + 1) });
    assert.equal(answer.statusCode, 413, answer.body);
  });

  it('reads a body at the limit', async () => {
    const answer = await app.inject({ method: 'POST', url: `${base}/domains`, headers: { 'content-type': 'application/json' }, payload: jsonOf(bodyLimit) });
    assert.equal(answer.statusCode, 400, answer.body);
  });

  it('rejects a streamed body over the limit', async () => {
    const body = Buffer.from(jsonOf(8 * bodyLimit));
    const status = await socketRequest(socketPath, 'POST', `${base}/domains`, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body, true);
    assert.ok(status === 413 || status === -1, `a chunked 8 MiB body got ${status}`);
  });

  it('rejects a large content-length at once', async () => {
    const status = await socketRequest(socketPath, 'PUT', `${base}/sites/default`, { 'content-type': 'application/json', 'content-length': 10 * 1024 ** 3 }, Buffer.from('{}'), false);
    assert.ok(status === 413 || status === -1, `a 10 GiB content-length got ${status}`);
  });

  it('keeps serving after large bodies', async () => {
    for (let round = 0; round < 5; round++) {
      await socketRequest(socketPath, 'POST', `${base}/services`, { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(formOf(2 * bodyLimit)), false);
    }
    const status = await socketRequest(socketPath, 'GET', `${base}/domains`, {}, null, false);
    assert.equal(status, 200);
  });
});
