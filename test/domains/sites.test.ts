import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApi } from '../../daemon/src/api/server.js';
import { ensureDefaultSite, publishedAddresses } from '../../daemon/src/domains/sites.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';

describe('sites', () => {
  let dir: string;
  let state: StateStore;
  let app: FastifyInstance;
  const queued: string[] = [];

  async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
    const answer = await app.inject({ method, url: `/api2/json${url}`, ...(payload === undefined ? {} : { payload }) });
    return { status: answer.statusCode, body: answer.json<Record<string, unknown>>() };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-sites-'));
    state = await StateStore.open(join(dir, 'state'));
    await ensureDefaultSite(state, { name: 'default', addresses: ['127.0.0.1'] });
    app = await buildApi({ state, secrets: new SecretStore(join(dir, 'secrets')), enqueue: (fqdn) => queued.push(fqdn), logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the default site from the configuration', async () => {
    const answer = await call('GET', '/sites');
    const sites = answer.body['data'] as Array<Record<string, unknown>>;
    assert.equal(sites.length, 1);
    assert.equal(sites[0]?.['site'], 'default');
    assert.equal(sites[0]?.['default'], true);
    assert.equal(sites[0]?.['allow-private'], true);
  });

  it('creates the default site only once', async () => {
    await ensureDefaultSite(state, { name: 'other', addresses: ['198.51.100.1'] });
    assert.equal(state.snapshot().sites?.length, 1);
  });

  it('rejects a private address', async () => {
    const answer = await call('POST', '/sites', { site: 'edge', addresses: ['10.0.0.5'] });
    assert.equal(answer.status, 400);
    assert.match((answer.body['errors'] as Record<string, string>)['addresses'] ?? '', /allow-private/);
  });

  it('creates a public site', async () => {
    const answer = await call('POST', '/sites', { site: 'Edge', nodes: ['pve1', 'pve2'], addresses: ['198.51.100.20', '2001:db8::20'] });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const data = answer.body['data'] as Record<string, unknown>;
    assert.equal(data['site'], 'edge');
    assert.equal(data['default'], false);
  });

  it('rejects a duplicate site', async () => {
    const answer = await call('POST', '/sites', { site: 'edge', addresses: ['198.51.100.21'] });
    assert.equal(answer.status, 409);
  });

  it('moves the default flag', async () => {
    const answer = await call('PUT', '/sites/edge', { default: true });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const defaults = (state.snapshot().sites ?? []).filter((site) => site.default).map((site) => site.name);
    assert.deepEqual(defaults, ['edge']);
  });

  it('refuses to unset the only default', async () => {
    const answer = await call('PUT', '/sites/edge', { default: false });
    assert.equal(answer.status, 400);
  });

  it('points domains at their site', async () => {
    await state.update((document) => {
      document.domains.push({ name: 'example.com', acmeDirectory: 'https://ca.example/dir', acmeEmail: 'a@example.com', createdAt: '', site: 'default' });
      document.domains.push({ name: 'example.org', acmeDirectory: 'https://ca.example/dir', acmeEmail: 'a@example.com', createdAt: '' });
    });
    const snapshot = state.snapshot();
    assert.deepEqual(publishedAddresses(snapshot, snapshot.domains[0]!, ['192.0.2.1']), ['127.0.0.1']);
    assert.deepEqual(publishedAddresses(snapshot, snapshot.domains[1]!, ['192.0.2.1']), ['198.51.100.20', '2001:db8::20']);
  });

  it('refuses to delete a site in use', async () => {
    const answer = await call('DELETE', '/sites/default');
    assert.equal(answer.status, 409);
    assert.match(String(answer.body['message']), /example\.com/);
  });

  it('queues services when addresses change', async () => {
    await state.update((document) => {
      document.services.push({ fqdn: 'app.example.com', subdomain: 'app', domain: 'example.com', vmid: 101, port: 80, createdAt: '', deleting: false, conditions: [], observed: { target: null }, retry: { failures: 0, nextAttemptAt: null, lastError: null } });
    });
    const answer = await call('PUT', '/sites/default', { addresses: ['127.0.0.2'] });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(queued.includes('app.example.com'));
  });

  it('rejects turning allow-private off with a loopback address', async () => {
    const answer = await call('PUT', '/sites/default', { 'allow-private': false });
    assert.equal(answer.status, 400);
  });

  it('rejects an unknown site for a domain', async () => {
    const answer = await call('POST', '/domains', { domain: 'example.net', site: 'nowhere', 'acme-directory': 'https://ca.example/dir', 'acme-email': 'a@example.com', 'cloudflare-token': 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T' });
    assert.equal(answer.status, 400);
    assert.match((answer.body['errors'] as Record<string, string>)['site'] ?? '', /no site is named "nowhere"/);
  });

  it('gives a new domain the default site', async () => {
    const answer = await call('POST', '/domains', { domain: 'example.net', 'acme-directory': 'https://ca.example/dir', 'acme-email': 'a@example.com', 'cloudflare-token': 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal((answer.body['data'] as Record<string, unknown>)['site'], 'edge');
    assert.equal((answer.body['data'] as Record<string, unknown>)['ready'], null);
  });
});
