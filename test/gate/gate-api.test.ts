import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';

import type { ApiContext } from '../../daemon/src/api/context.js';
import { buildApi } from '../../daemon/src/api/server.js';
import { applySignInCondition, routeOptionsOf } from '../../daemon/src/reconcile/sign-in.js';
import type { Condition, StoredService } from '../../daemon/src/store/model.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';

/** The auth-server field of domains and the auth, max-body-size and buffering options of services. */

let dir: string;
let app: FastifyInstance;
let state: StateStore;

const token = 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T';

interface Answer {
  data: Record<string, unknown> & { options?: Record<string, unknown> };
  errors?: Record<string, string>;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gate-api-'));
  state = await StateStore.open(join(dir, 'state'));
  const context: ApiContext = { state, secrets: new SecretStore(join(dir, 'secrets')), enqueue: () => undefined, logger: pino({ level: 'silent' }) };
  app = await buildApi(context);
});

after(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: Record<string, unknown>): Promise<{ status: number; body: Answer }> {
  const response = await app.inject({ method, url: `/api2/json${url}`, ...(payload === undefined ? {} : { payload }) });
  return { status: response.statusCode, body: response.json<Answer>() };
}

describe('domain auth-server', () => {
  it('stores the canonical url', async () => {
    const created = await call('POST', '/domains', { domain: 'example.com', 'acme-directory': 'letsencrypt-staging', 'acme-email': 'admin@example.com', 'cloudflare-token': token, 'auth-server': 'https://Auth.Example.com/' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.data['auth-server'], 'https://auth.example.com');
    assert.equal(state.snapshot().domains[0]?.authServer, 'https://auth.example.com');
  });

  it('rejects invalid urls', async () => {
    for (const value of ['ftp://auth.example.com', 'https://u:p@auth.example.com', 'https://auth.example.com/#x', 'https://auth.example.com/path', 'not a url']) {
      const answer = await call('PUT', '/domains/example.com', { 'auth-server': value });
      assert.equal(answer.status, 400, value);
      assert.match(answer.body.errors?.['auth-server'] ?? '', /invalid auth-server/, value);
    }
    assert.equal(state.snapshot().domains[0]?.authServer, 'https://auth.example.com');
  });

  it('removes it with an empty string', async () => {
    const answer = await call('PUT', '/domains/example.com', { 'auth-server': '' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.data['auth-server'], null);
    assert.equal(state.snapshot().domains[0]?.authServer, undefined);
  });
});

describe('service gate and limit options', () => {
  it('creates a service with them', async () => {
    const answer = await call('POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port: 8080, auth: true, 'max-body-size': 10_485_760, buffering: false });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.data.options?.auth, true);
    assert.equal(answer.body.data.options?.['max-body-size'], 10_485_760);
    assert.equal(answer.body.data.options?.buffering, false);
  });

  it('clears the limit with null', async () => {
    const answer = await call('PUT', '/services/app.example.com', { 'max-body-size': null });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.data.options?.['max-body-size'], null);
  });

  it('rejects invalid values', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ 'max-body-size': 100 }, 'max-body-size'],
      [{ 'max-body-size': 2 ** 41 }, 'max-body-size'],
      [{ 'max-body-size': 'big' }, 'max-body-size'],
      [{ auth: 'yes' }, 'auth'],
      [{ buffering: 1 }, 'buffering'],
    ];
    for (const [payload, field] of cases) {
      const answer = await call('PUT', '/services/app.example.com', payload);
      assert.equal(answer.status, 400, JSON.stringify(payload));
      assert.ok(JSON.stringify(answer.body).includes(field), JSON.stringify(answer.body));
    }
  });
});

describe('sign-in status', () => {
  const service = { fqdn: 'app.example.com', domain: 'example.com', options: { authRequired: true } } as StoredService;

  it('reports a missing server', () => {
    const conditions: Condition[] = [];
    applySignInCondition(conditions, service, { name: 'example.com', acmeDirectory: '', acmeEmail: '', createdAt: '' });
    assert.equal(conditions[0]?.type, 'sign-in');
    assert.equal(conditions[0]?.status, 'false');
    assert.equal(conditions[0]?.reason, 'SignInNotConfigured');
    assert.match(conditions[0]?.message ?? '', /has no auth-server, so it returns 503/);
  });

  it('clears the condition without auth', () => {
    const conditions: Condition[] = [{ type: 'sign-in', status: 'false', reason: 'SignInNotConfigured', message: '', time: '' }];
    applySignInCondition(conditions, { ...service, options: {} }, undefined);
    assert.deepEqual(conditions, []);
  });

  it('fills in the domain server', () => {
    const options = routeOptionsOf(service, { name: 'example.com', acmeDirectory: '', acmeEmail: '', createdAt: '', authServer: 'https://auth.example.com' });
    assert.equal(options.authServer, 'https://auth.example.com');
    assert.equal(options.authRequired, true);
  });
});
