import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { ApiContext } from '../../daemon/src/api/context.js';
import { buildApi } from '../../daemon/src/api/server.js';
import { DaemonMetrics } from '../../daemon/src/metrics/daemon-metrics.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { startSecuredApi, ticketHeaders, tokenHeaders, userSession, type SecuredApi } from '../api/fixtures.js';

const url = '/api2/json/metrics';
const contentType = 'text/plain; version=0.0.4; charset=utf-8';

describe('metrics endpoint as root', () => {
  let dir: string;
  let app: FastifyInstance;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metrics-api-'));
    const state = await StateStore.open(join(dir, 'state'));
    await state.update((document) => {
      document.certificates.push({ id: 'app.example.com', domain: 'example.com', names: ['app.example.com'], serial: '0a', notBefore: '2026-01-01T00:00:00Z', notAfter: '2026-04-01T00:00:00Z', issuedAt: '2026-01-01T00:00:00Z', directory: 'https://ca.example/dir' });
    });
    const metrics = new DaemonMetrics({ state });
    const context = { state, secrets: new SecretStore(join(dir, 'secrets')), enqueue: () => undefined, logger: pino({ level: 'silent' }), metrics } as ApiContext;
    app = await buildApi(context);
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the text format', async () => {
    const answer = await app.inject({ method: 'GET', url });
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.headers['content-type'], contentType);
    assert.match(answer.body, /^# TYPE pve_domains_certificate_not_after_timestamp_seconds gauge$/m);
    assert.match(answer.body, /^pve_domains_certificate_not_after_timestamp_seconds\{id="app\.example\.com",domain="example\.com"\} 1775001600$/m);
  });

  it('counts API requests by status', async () => {
    await app.inject({ method: 'GET', url: '/api2/json/domains' });
    await app.inject({ method: 'GET', url: '/api2/json/domains/missing.example' });
    const answer = await app.inject({ method: 'GET', url });
    assert.match(answer.body, /^pve_domains_api_requests_total\{method="GET",status="200"\} [1-9]\d*$/m);
    assert.match(answer.body, /^pve_domains_api_requests_total\{method="GET",status="404"\} 1$/m);
  });
});

describe('metrics endpoint access', () => {
  let api: SecuredApi;

  before(async () => {
    api = await startSecuredApi();
  });

  after(async () => {
    await api.stop();
  });

  it('rejects a request without ticket', async () => {
    const answer = await api.app.inject({ method: 'GET', url });
    assert.equal(answer.statusCode, 401);
  });

  it('rejects a user without Sys.Audit', async () => {
    const session = await userSession(api.pve, 'nometrics@pve', { '/vms': ['VM.Audit'] });
    const answer = await api.app.inject({ method: 'GET', url, headers: ticketHeaders(session, false) });
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.json<{ message: string }>().message, 'Permission check failed (/, Sys.Audit)');
  });

  it('serves a ticket with Sys.Audit', async () => {
    const session = await userSession(api.pve, 'metrics@pve', { '/': ['Sys.Audit'] });
    const answer = await api.app.inject({ method: 'GET', url, headers: ticketHeaders(session, false) });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(answer.headers['content-type'], contentType);
  });

  it('serves an API token with Sys.Audit', async () => {
    const secret = randomUUID();
    api.pve.addUser('prometheus@pve', randomUUID(), { '/': ['Sys.Audit'] });
    const tokenId = api.pve.addApiToken('prometheus@pve', 'scrape', secret, { privsep: true, privileges: { '/': ['Sys.Audit'] } });
    const answer = await api.app.inject({ method: 'GET', url, headers: tokenHeaders(tokenId, secret) });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.match(answer.body, /^# TYPE pve_domains_api_requests_total counter$/m);
    assert.match(answer.body, /^pve_domains_api_requests_total\{method="GET",status="401"\} [1-9]\d*$/m);
  });
});
