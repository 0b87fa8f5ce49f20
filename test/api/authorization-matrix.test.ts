import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registeredRoutes } from '../../daemon/src/api/access-control.js';
import { routePolicy } from '../../daemon/src/api/privileges.js';
import { startSecuredApi, storeDomain, storeService, ticketHeaders, tokenHeaders, userSession, validCloudflareToken, type SecuredApi, type Session } from './fixtures.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Identity = 'none' | 'bad ticket' | 'expired ticket' | 'no csrf' | 'no privileges' | 'Sys.Audit only' | 'other guest' | 'privsep token' | 'admin';
const identities: Identity[] = ['none', 'bad ticket', 'expired ticket', 'no csrf', 'no privileges', 'Sys.Audit only', 'other guest', 'privsep token', 'admin'];

interface Request {
  url: string;
  payload?: Record<string, unknown>;
}

interface Endpoint {
  name: string;
  method: Method;
  /** Prepares the objects the request needs and returns its URL and body. */
  prepare(api: SecuredApi, cell: number): Promise<Request> | Request;
  /** Tells whether the request's change happened (writes only). */
  changed?(api: SecuredApi, cell: number): boolean;
}

const domain = 'matrix.example';
const base = '/api2/json';

const endpoints: Endpoint[] = [
  { name: 'GET /domains', method: 'GET', prepare: () => ({ url: `${base}/domains` }) },
  { name: 'GET /domains/{domain}', method: 'GET', prepare: () => ({ url: `${base}/domains/${domain}` }) },
  {
    name: 'POST /domains',
    method: 'POST',
    prepare: (_api, cell) => ({
      url: `${base}/domains`,
      payload: { domain: `new${cell}.example`, 'acme-directory': 'https://acme.example.net/dir', 'acme-email': 'admin@example.com', 'cloudflare-token': validCloudflareToken },
    }),
    changed: (api, cell) => api.state.snapshot().domains.some((item) => item.name === `new${cell}.example`),
  },
  {
    name: 'PUT /domains/{domain}',
    method: 'PUT',
    prepare: async (api, cell) => {
      await storeDomain(api, `put${cell}.example`);
      return { url: `${base}/domains/put${cell}.example`, payload: { 'key-type': 'rsa-2048' } };
    },
    changed: (api, cell) => api.state.snapshot().domains.find((item) => item.name === `put${cell}.example`)?.keyType === 'rsa-2048',
  },
  {
    name: 'DELETE /domains/{domain}',
    method: 'DELETE',
    prepare: async (api, cell) => {
      await storeDomain(api, `old${cell}.example`);
      return { url: `${base}/domains/old${cell}.example` };
    },
    changed: (api, cell) => !api.state.snapshot().domains.some((item) => item.name === `old${cell}.example`),
  },
  { name: 'GET /services', method: 'GET', prepare: () => ({ url: `${base}/services` }) },
  { name: 'GET /services/{fqdn}', method: 'GET', prepare: () => ({ url: `${base}/services/app.${domain}` }) },
  {
    name: 'POST /services',
    method: 'POST',
    prepare: (_api, cell) => ({ url: `${base}/services`, payload: { subdomain: `new${cell}`, domain, vmid: 101, port: 8080 } }),
    changed: (api, cell) => api.state.snapshot().services.some((item) => item.fqdn === `new${cell}.${domain}`),
  },
  {
    name: 'PUT /services/{fqdn}',
    method: 'PUT',
    prepare: async (api, cell) => ({ url: `${base}/services/${await storeService(api, `put${cell}`, domain, 101)}`, payload: { port: 9090 } }),
    changed: (api, cell) => api.state.snapshot().services.find((item) => item.fqdn === `put${cell}.${domain}`)?.port === 9090,
  },
  {
    name: 'DELETE /services/{fqdn}',
    method: 'DELETE',
    prepare: async (api, cell) => ({ url: `${base}/services/${await storeService(api, `old${cell}`, domain, 101)}` }),
    changed: (api, cell) => api.state.snapshot().services.find((item) => item.fqdn === `old${cell}.${domain}`)?.deleting === true,
  },
  { name: 'GET /audit', method: 'GET', prepare: () => ({ url: `${base}/audit` }) },
];

// Expected status per endpoint, in the order of `identities`.
const expected: Record<string, number[]> = {
  'GET /domains': [401, 401, 401, 200, 403, 200, 200, 200, 200],
  'GET /domains/{domain}': [401, 401, 401, 200, 403, 200, 200, 200, 200],
  'POST /domains': [401, 401, 401, 401, 403, 403, 403, 403, 200],
  'PUT /domains/{domain}': [401, 401, 401, 401, 403, 403, 403, 403, 200],
  'DELETE /domains/{domain}': [401, 401, 401, 401, 403, 403, 403, 403, 200],
  'GET /services': [401, 401, 401, 200, 200, 200, 200, 200, 200],
  'GET /services/{fqdn}': [401, 401, 401, 200, 403, 403, 403, 403, 200],
  'POST /services': [401, 401, 401, 401, 403, 403, 403, 403, 200],
  'PUT /services/{fqdn}': [401, 401, 401, 401, 403, 403, 403, 403, 200],
  'DELETE /services/{fqdn}': [401, 401, 401, 401, 403, 403, 403, 403, 200],
  'GET /audit': [401, 401, 401, 200, 403, 200, 200, 200, 200],
};

describe('authorization matrix', () => {
  let api: SecuredApi;
  const headers = new Map<Identity, Record<string, string>>();
  let cell = 0;

  before(async () => {
    api = await startSecuredApi();
    const admin = await userSession(api.pve, 'admin@pve', { '/': ['Sys.Audit', 'Sys.Modify'], '/vms': ['VM.Audit', 'VM.Config.Network'] });
    const nobody = await userSession(api.pve, 'nobody@pve', {});
    const auditor = await userSession(api.pve, 'auditor@pve', { '/': ['Sys.Audit'] });
    const other = await userSession(api.pve, 'other@pve', { '/': ['Sys.Audit'], '/vms/102': ['VM.Audit', 'VM.Config.Network'] });
    // A token of an administrator whose privilege separation leaves it Sys.Audit only.
    const tokenSecret = randomUUID();
    api.pve.addUser('owner@pve', randomUUID(), { '/': ['Sys.Audit', 'Sys.Modify'], '/vms': ['VM.Audit', 'VM.Config.Network'] });
    const tokenId = api.pve.addApiToken('owner@pve', 'readonly', tokenSecret, { privsep: true, privileges: { '/': ['Sys.Audit'] } });

    api.setClockSkew(-3 * 3600_000);
    const expired: Session = await userSession(api.pve, 'late@pve', { '/': ['Sys.Audit', 'Sys.Modify'], '/vms': ['VM.Audit', 'VM.Config.Network'] });
    api.setClockSkew(0);
    const forged = admin.ticket.replace(/::.*$/, `::${Buffer.alloc(32, 7).toString('base64')}`);

    headers.set('none', {});
    headers.set('bad ticket', ticketHeaders({ ticket: forged, csrfToken: admin.csrfToken }, true));
    headers.set('expired ticket', ticketHeaders(expired, true));
    headers.set('no csrf', ticketHeaders(admin, false));
    headers.set('no privileges', ticketHeaders(nobody, true));
    headers.set('Sys.Audit only', ticketHeaders(auditor, true));
    headers.set('other guest', ticketHeaders(other, true));
    headers.set('privsep token', tokenHeaders(tokenId, tokenSecret));
    headers.set('admin', ticketHeaders(admin, true));

    await storeDomain(api, domain);
    await storeService(api, 'app', domain, 101);
    await storeService(api, 'wiki', domain, 102);
  });

  after(async () => {
    await api.stop();
  });

  it('covers every registered route', () => {
    const covered = new Set(endpoints.map((endpoint) => endpoint.name.replace(/\{(\w+)\}/g, ':$1')));
    for (const { method, route } of registeredRoutes(api.app)) {
      assert.notEqual(routePolicy({ method, route, params: {}, body: undefined }, () => undefined), undefined, `${method} ${route} has no privilege rule`);
      if (/^\/(domains|services|audit)(\/:\w+)?$/.test(route)) assert.ok(covered.has(`${method} ${route}`), `${method} ${route} is missing from the matrix`);
    }
  });

  for (const endpoint of endpoints) {
    identities.forEach((identity, index) => {
      const status = expected[endpoint.name]?.[index];
      it(`${endpoint.name} as ${identity} gets ${status}`, async () => {
        cell += 1;
        const { url, payload } = await endpoint.prepare(api, cell);
        const answer = await api.app.inject({ method: endpoint.method, url, headers: headers.get(identity) ?? {}, ...(payload === undefined ? {} : { payload }) });
        assert.equal(answer.statusCode, status, answer.body);
        if (endpoint.changed !== undefined) assert.equal(endpoint.changed(api, cell), status === 200, 'state change does not match the status');
      });
    });
  }

  it('names the missing privilege and path', async () => {
    const answer = await api.app.inject({ method: 'POST', url: `${base}/services`, headers: headers.get('other guest'), payload: { subdomain: 'denied', domain, vmid: 101, port: 80 } });
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.json<{ message: string }>().message, 'Permission check failed (/vms/101, VM.Config.Network)');
    assert.equal(answer.statusMessage, 'Permission check failed (/vms/101, VM.Config.Network)');
  });

  it('names Sys.Modify for domain writes', async () => {
    const answer = await api.app.inject({ method: 'DELETE', url: `${base}/domains/${domain}`, headers: headers.get('Sys.Audit only') });
    assert.equal(answer.json<{ message: string }>().message, 'Permission check failed (/, Sys.Modify)');
  });

  it('uses pveproxy reason phrases for 401', async () => {
    const none = await api.app.inject({ method: 'GET', url: `${base}/domains` });
    assert.equal(none.statusMessage, 'No ticket');
    const forged = await api.app.inject({ method: 'GET', url: `${base}/domains`, headers: headers.get('bad ticket') });
    assert.equal(forged.statusMessage, 'Authentication failed!');
    const noCsrf = await api.app.inject({ method: 'DELETE', url: `${base}/domains/${domain}`, headers: headers.get('no csrf') });
    assert.equal(noCsrf.statusMessage, 'Permission denied - invalid csrf token');
  });

  it('lists services by guest privilege', async () => {
    const fqdnsOf = async (identity: Identity): Promise<string[]> => {
      const answer = await api.app.inject({ method: 'GET', url: `${base}/services`, headers: headers.get(identity) });
      return answer
        .json<{ data: Array<{ fqdn: string }> }>()
        .data.map((item) => item.fqdn)
        .filter((fqdn) => fqdn === `app.${domain}` || fqdn === `wiki.${domain}`)
        .sort();
    };
    assert.deepEqual(await fqdnsOf('admin'), [`app.${domain}`, `wiki.${domain}`]);
    assert.deepEqual(await fqdnsOf('other guest'), [`wiki.${domain}`]);
    assert.deepEqual(await fqdnsOf('Sys.Audit only'), []);
    assert.deepEqual(await fqdnsOf('no privileges'), []);
    assert.deepEqual(await fqdnsOf('privsep token'), []);
  });

  it('needs the privilege on further targets', async () => {
    const session = await userSession(api.pve, 'single@pve', { '/': ['Sys.Audit'], '/vms/101': ['VM.Config.Network'] });
    const payload = { subdomain: 'spread', domain, vmid: 101, port: 80, 'additional-targets': [{ vmid: 102, port: 80 }] };
    const answer = await api.app.inject({ method: 'POST', url: `${base}/services`, headers: ticketHeaders(session, true), payload });
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.json<{ message: string }>().message, 'Permission check failed (/vms/102, VM.Config.Network)');
  });

  it('lets a token write without CSRF', async () => {
    const secret = randomUUID();
    const tokenId = api.pve.addApiToken('owner@pve', 'network', secret, { privsep: true, privileges: { '/': ['Sys.Audit'], '/vms/101': ['VM.Config.Network'] } });
    const answer = await api.app.inject({ method: 'POST', url: `${base}/services`, headers: tokenHeaders(tokenId, secret), payload: { subdomain: 'bytoken', domain, vmid: 101, port: 80 } });
    assert.equal(answer.statusCode, 200, answer.body);
  });

  it('respects NoAccess below a propagated grant', async () => {
    // VM.Audit on /vms propagates to /vms/101, but an empty ACL on /vms/102 removes it there.
    const session = await userSession(api.pve, 'partial@pve', { '/vms': ['VM.Audit'], '/vms/102': [] });
    const app = await api.app.inject({ method: 'GET', url: `${base}/services/app.${domain}`, headers: ticketHeaders(session, true) });
    assert.equal(app.statusCode, 200);
    const wiki = await api.app.inject({ method: 'GET', url: `${base}/services/wiki.${domain}`, headers: ticketHeaders(session, true) });
    assert.equal(wiki.statusCode, 403);
  });

  it('accepts the ticket in the Authorization header', async () => {
    const { ticket } = await userSession(api.pve, 'header@pve', { '/': ['Sys.Audit'] });
    const answer = await api.app.inject({ method: 'GET', url: `${base}/domains`, headers: { authorization: `PVEAuthCookie=${ticket}` } });
    assert.equal(answer.statusCode, 200, answer.body);
  });
});
