import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import acme from 'acme-client';
import type { DnsProvider, DnsZone } from '../../daemon/src/dns/provider.js';
import { AppError } from '../../daemon/src/errors.js';
import { caOperation, countCaRequests } from '../../daemon/src/metrics/ca-requests.js';
import { backendFamilies, certificateFamilies, DaemonMetrics } from '../../daemon/src/metrics/daemon-metrics.js';
import { instrumentDnsProvider } from '../../daemon/src/metrics/dns-requests.js';
import type { RouteStatus } from '../../daemon/src/proxy/ingress.js';
import { emptyState, type StateDocument, type StoredCertificate } from '../../daemon/src/store/model.js';

function certificate(id: string, notBefore: string, notAfter: string): StoredCertificate {
  return { id, domain: 'example.com', names: [id], serial: '01', notBefore, notAfter, issuedAt: notBefore, directory: 'https://ca.example/dir' };
}

function stateWith(certificates: StoredCertificate[]): StateDocument {
  const state = emptyState();
  state.certificates = certificates;
  return state;
}

describe('daemon metrics', () => {
  it('reports certificate times', () => {
    const state = stateWith([certificate('app.example.com', '2026-01-01T00:00:00Z', '2026-03-31T00:00:00Z')]);
    const families = certificateFamilies(state);
    const notAfter = families.find((family) => family.name === 'pve_domains_certificate_not_after_timestamp_seconds');
    const next = families.find((family) => family.name === 'pve_domains_certificate_next_renewal_timestamp_seconds');
    assert.deepEqual(notAfter?.samples, [{ labels: { id: 'app.example.com', domain: 'example.com' }, value: Date.parse('2026-03-31T00:00:00Z') / 1000 }]);
    // 89 days of lifetime, renewed with one third left.
    const expected = (Date.parse('2026-03-31T00:00:00Z') - (89 * 86_400_000) / 3) / 1000;
    assert.equal(next?.samples[0]?.value, expected);
  });

  it('reports renewal failures', () => {
    const state = stateWith([certificate('*.example.com', '2026-01-01T00:00:00Z', '2026-03-31T00:00:00Z')]);
    state.certificateLifecycles = [
      {
        id: '*.example.com',
        domain: 'example.com',
        names: ['example.com', '*.example.com'],
        failures: 4,
        lastError: 'boom',
        lastErrorAt: null,
        nextAttemptAt: null,
        blocked: true,
        configFingerprint: 'x',
        pendingOrder: null,
        ari: null,
        renewAt: null,
        renewRule: 'blocked',
        issuerIndex: 0,
        warning: null,
        warnedAt: null,
      },
    ];
    const families = certificateFamilies(state);
    const value = (name: string): number | undefined => families.find((family) => family.name === name)?.samples[0]?.value;
    assert.equal(value('pve_domains_certificate_renewal_failures'), 4);
    assert.equal(value('pve_domains_certificate_renewal_blocked'), 1);
    assert.equal(families.find((family) => family.name === 'pve_domains_certificate_next_renewal_timestamp_seconds')?.samples.length, 0);
  });

  it('reports backend states', () => {
    const routes: RouteStatus[] = [
      { hostname: 'app.example.com', targets: [{ address: '10.0.0.1', port: 80, state: 'up', check: 'L7OK' }, { address: '10.0.0.2', port: 80, state: 'down', check: 'L4CON' }], requests: 0, errors: 0 },
      { hostname: 'down.example.com', targets: [{ address: '10.0.0.3', port: 80, state: 'down', check: 'L4TOUT' }], requests: 0, errors: 0 },
    ];
    const families = backendFamilies(routes);
    const up = families.find((family) => family.name === 'pve_domains_backend_up');
    assert.deepEqual(up?.samples, [
      { labels: { fqdn: 'app.example.com' }, value: 1 },
      { labels: { fqdn: 'down.example.com' }, value: 0 },
    ]);
    const targets = families.find((family) => family.name === 'pve_domains_backend_targets');
    assert.equal(targets?.samples.length, 3);
    assert.equal(families.find((family) => family.name === 'pve_domains_haproxy_stats_up')?.samples[0]?.value, 1);
  });

  it('reports unreadable HAProxy stats', async () => {
    const metrics = new DaemonMetrics({
      state: { snapshot: () => emptyState() },
      routeStatus: () => Promise.reject(new Error('socket gone')),
      reconcileQueue: () => ({ pending: 2, scheduled: 5 }),
    });
    const text = await metrics.registry.render();
    assert.match(text, /^pve_domains_haproxy_stats_up 0$/m);
    assert.match(text, /^pve_domains_reconcile_queue_length 2$/m);
    assert.match(text, /^pve_domains_reconcile_retries_scheduled 5$/m);
  });

  it('declares every family once', async () => {
    const metrics = new DaemonMetrics({ state: { snapshot: () => emptyState() }, routeStatus: () => Promise.resolve([]), reconcileQueue: () => ({ pending: 0, scheduled: 0 }) });
    const text = await metrics.registry.render();
    const types = text.split('\n').filter((line) => line.startsWith('# TYPE '));
    const names = types.map((line) => line.split(' ')[2]);
    assert.equal(new Set(names).size, names.length);
    for (const line of types.filter((item) => item.endsWith(' counter'))) assert.match(line, /_total counter$/);
    assert.ok(names.includes('pve_domains_api_requests_total'));
    assert.ok(names.includes('pve_domains_reconcile_errors_total'));
  });
});

describe('dns request counting', () => {
  const zone: DnsZone = { id: 'z1', name: 'example.com', nameServers: [] };
  const failing = (code: 'DNS_AUTH_FAILED' | 'DNS_API_FAILED'): Promise<never> => Promise.reject(new AppError(code, 'rejected'));
  const provider: DnsProvider = {
    findZone: () => Promise.resolve(zone),
    listRecords: () => Promise.resolve([]),
    createRecord: () => failing('DNS_AUTH_FAILED'),
    updateRecord: () => failing('DNS_API_FAILED'),
    deleteRecord: () => Promise.resolve(),
  };

  it('counts operations and errors', async () => {
    const metrics = new DaemonMetrics();
    const seen: unknown[] = [];
    const counted = instrumentDnsProvider(provider, metrics, (err) => seen.push(err));
    await counted.findZone('app.example.com', 'example.com');
    await counted.listRecords(zone, { name: 'app.example.com' });
    await assert.rejects(counted.createRecord(zone, { type: 'A', name: 'app.example.com', content: '192.0.2.1', comment: '', ttl: 1 }), /rejected/);
    await assert.rejects(counted.updateRecord(zone, 'r1', { type: 'A', name: 'app.example.com', content: '192.0.2.1', comment: '', ttl: 1 }), /rejected/);
    assert.equal(metrics.cloudflareRequests.get({ operation: 'find-zone', status: 'ok' }), 1);
    assert.equal(metrics.cloudflareRequests.get({ operation: 'list-records', status: 'ok' }), 1);
    assert.equal(metrics.cloudflareRequests.get({ operation: 'create-record', status: 'DNS_AUTH_FAILED' }), 1);
    assert.equal(metrics.cloudflareErrors.get({ operation: 'create-record' }), 1);
    assert.equal(metrics.cloudflareErrors.get({ operation: 'update-record' }), 1);
    assert.equal(metrics.cloudflareErrors.get({ operation: 'find-zone' }), 0);
    assert.equal(seen.length, 2);
  });
});

describe('ca request counting', () => {
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((request, response) => {
      // 403, not 429 or 5xx: acme-client's own retries would repeat those.
      const status = request.url === '/acme/new-order' ? 403 : 200;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end('{}');
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('names ACME operations', () => {
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/directory'), 'directory');
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/acme/new-nonce'), 'new-nonce');
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/acme/new-acct'), 'account');
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/acme/new-order'), 'new-order');
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/acme/authz-v3/123'), 'authorization');
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/acme/chall-v3/123/abc'), 'challenge');
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/acme/finalize/1/2'), 'finalize');
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/acme/cert/fa01'), 'certificate');
    assert.equal(caOperation('https://acme-v02.api.letsencrypt.org/draft-ietf-acme-ari-03/renewalInfo/abc'), 'renewal-info');
    assert.equal(caOperation('https://127.0.0.1:14000/order-plz'), 'new-order');
    assert.equal(caOperation('https://127.0.0.1:14000/chalZ/x'), 'challenge');
    assert.equal(caOperation('https://127.0.0.1:14000/dir'), 'directory');
    assert.equal(caOperation('https://ca.example/unknown'), 'other');
  });

  it('counts requests and errors', async () => {
    const metrics = new DaemonMetrics();
    countCaRequests(metrics);
    await acme.axios.get(`${base}/directory`);
    await acme.axios.get(`${base}/directory`);
    await assert.rejects(acme.axios.post(`${base}/acme/new-order`, {}));
    assert.equal(metrics.caRequests.get({ operation: 'directory', status: '200' }), 2);
    assert.equal(metrics.caRequests.get({ operation: 'new-order', status: '403' }), 1);
    assert.equal(metrics.caErrors.get({ operation: 'new-order' }), 1);
    assert.equal(metrics.caErrors.get({ operation: 'directory' }), 0);
  });
});
