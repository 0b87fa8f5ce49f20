import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApi } from '../../daemon/src/api/server.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';

const token = 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T';
const domainBody = { domain: 'Example.COM', 'acme-directory': 'https://acme.example.net/dir', 'acme-email': 'admin@example.com', 'cloudflare-token': token };

describe('api', () => {
  let dir: string;
  let app: FastifyInstance;
  let state: StateStore;
  const queued: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-api-'));
    state = await StateStore.open(join(dir, 'state'));
    const secrets = new SecretStore(join(dir, 'secrets'));
    app = await buildApi({ state, secrets, enqueue: (fqdn) => queued.push(fqdn), logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a domain', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/domains', payload: domainBody });
    assert.equal(answer.statusCode, 200, answer.body);
    const data = answer.json<{ data: Record<string, unknown> }>().data;
    assert.equal(data['domain'], 'example.com');
    assert.equal(data['cloudflare-credentials'], 'api-token');
  });

  it('never returns the token', async () => {
    const answer = await app.inject({ method: 'GET', url: '/api2/json/domains' });
    assert.equal(answer.statusCode, 200);
    assert.doesNotMatch(answer.body, new RegExp(token));
  });

  it('stores the token outside the state', async () => {
    const document = await readFile(join(dir, 'state', 'domains', 'example.com.json'), 'utf8');
    assert.doesNotMatch(document, new RegExp(token));
    const files = await readdir(join(dir, 'secrets', 'cloudflare'));
    assert.deepEqual(files, ['example.com.secret']);
    const mode = (await stat(join(dir, 'secrets', 'cloudflare', 'example.com.secret'))).mode & 0o777;
    assert.equal(mode, 0o600);
  });

  it('rejects a duplicate domain', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/domains', payload: { ...domainBody, domain: 'example.com.' } });
    assert.equal(answer.statusCode, 409);
    assert.match(answer.json<{ message: string }>().message, /already registered/);
  });

  it('rejects unknown fields', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/domains', payload: { ...domainBody, domain: 'example.org', extra: 1 } });
    assert.equal(answer.statusCode, 400);
    const body = answer.json<{ data: null; message: string; errors: Record<string, string> }>();
    assert.equal(body.data, null);
    assert.equal(body.message, 'Parameter verification failed.');
    assert.match(body.errors['extra'] ?? '', /not defined in schema/);
  });

  it('names every missing field', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/services', payload: {} });
    assert.equal(answer.statusCode, 400);
    const errors = answer.json<{ errors: Record<string, string> }>().errors;
    assert.deepEqual(Object.keys(errors).sort(), ['domain', 'port', 'subdomain', 'vmid']);
  });

  it('rejects a port out of range', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/services', payload: { subdomain: 'app', domain: 'example.com', vmid: 101, port: 70000 } });
    assert.equal(answer.statusCode, 400);
    assert.match(answer.json<{ errors: Record<string, string> }>().errors['port'] ?? '', /<= 65535/);
  });

  it('rejects an unregistered domain', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/services', payload: { subdomain: 'app', domain: 'example.org', vmid: 101, port: 80 } });
    assert.equal(answer.statusCode, 400);
    assert.match(answer.json<{ errors: Record<string, string> }>().errors['domain'] ?? '', /not registered/);
  });

  it('rejects an injected subdomain', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/services', payload: { subdomain: 'app\n#x', domain: 'example.com', vmid: 101, port: 80 } });
    assert.equal(answer.statusCode, 400);
    assert.match(answer.json<{ errors: Record<string, string> }>().errors['subdomain'] ?? '', /contains/);
  });

  it('creates and queues a service', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/services', payload: { subdomain: 'App', domain: 'example.com', vmid: '101', port: '8080' } });
    assert.equal(answer.statusCode, 200, answer.body);
    const data = answer.json<{ data: Record<string, unknown> }>().data;
    assert.equal(data['fqdn'], 'app.example.com');
    assert.equal(data['vmid'], 101);
    assert.equal(data['status'], 'pending');
    assert.deepEqual(queued, ['app.example.com']);
  });

  it('rejects a duplicate service', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api2/json/services', payload: { subdomain: 'app', domain: 'example.com', vmid: 102, port: 80 } });
    assert.equal(answer.statusCode, 409);
    assert.match(answer.json<{ message: string }>().message, /already exposes container 101 port 8080/);
  });

  it('refuses to delete a domain in use', async () => {
    const answer = await app.inject({ method: 'DELETE', url: '/api2/json/domains/example.com' });
    assert.equal(answer.statusCode, 409);
    assert.match(answer.json<{ message: string }>().message, /app\.example\.com/);
  });

  it('marks a service for deletion', async () => {
    const answer = await app.inject({ method: 'DELETE', url: '/api2/json/services/APP.example.com' });
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.json<{ data: { status: string } }>().data.status, 'deleting');
    assert.equal(state.snapshot().services[0]?.deleting, true);
  });

  it('answers 404 for an unknown service', async () => {
    const answer = await app.inject({ method: 'GET', url: '/api2/json/services/none.example.com' });
    assert.equal(answer.statusCode, 404);
  });

  it('answers 501 for an unknown path', async () => {
    const answer = await app.inject({ method: 'GET', url: '/api2/json/nothing' });
    assert.equal(answer.statusCode, 501);
  });
});

describe('api index', () => {
  it('lists the collections', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pve-domains-index-'));
    const state = await StateStore.open(join(dir, 'state'));
    const app = await buildApi({ state, secrets: new SecretStore(join(dir, 'secrets')), enqueue: () => undefined, logger: pino({ level: 'silent' }) });
    const answer = await app.inject({ method: 'GET', url: '/api2/json/' });
    await app.close();
    await rm(dir, { recursive: true, force: true });
    assert.equal(answer.statusCode, 200, answer.body);
    const subdirs = answer.json<{ data: Array<{ subdir: string }> }>().data.map((item) => item.subdir);
    assert.ok(subdirs.includes('domains'), subdirs.join(','));
    assert.ok(subdirs.includes('services'), subdirs.join(','));
  });
});

describe('api form bodies', () => {
  it('accepts a form-encoded body', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pve-domains-form-'));
    const state = await StateStore.open(join(dir, 'state'));
    const app = await buildApi({ state, secrets: new SecretStore(join(dir, 'secrets')), enqueue: () => undefined, logger: pino({ level: 'silent' }) });
    const registered = await app.inject({ method: 'POST', url: '/api2/json/domains', payload: domainBody });
    const answer = await app.inject({
      method: 'POST',
      url: '/api2/json/services',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'subdomain=form&domain=example.com&vmid=101&port=8080',
    });
    await app.close();
    await rm(dir, { recursive: true, force: true });
    assert.equal(registered.statusCode, 200, registered.body);
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(answer.json<{ data: { vmid: number; port: number } }>().data.port, 8080);
  });
});
