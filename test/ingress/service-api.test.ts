import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';

import { buildApi } from '../../daemon/src/api/server.js';
import type { LiveRouteSource } from '../../daemon/src/api/services.js';
import type { ApiContext } from '../../daemon/src/api/context.js';
import type { RouteStatus } from '../../daemon/src/proxy/ingress.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';

/** Service options through the API: create, change with PUT, validation and the view. */

let dir: string;
let app: FastifyInstance;
let state: StateStore;
const base = '/api2/json/services';
const live: RouteStatus[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'svc-api-'));
  state = await StateStore.open(join(dir, 'state'));
  await state.update((document) => {
    document.domains.push({ name: 'example.com', acmeDirectory: 'https://acme.test/dir', acmeEmail: 'a@example.com', createdAt: new Date().toISOString() });
  });
  const context: ApiContext & LiveRouteSource = {
    state,
    secrets: new SecretStore(join(dir, 'secrets')),
    enqueue: () => undefined,
    routeStatus: () => Promise.resolve(live),
    logger: pino({ level: 'silent' }),
  };
  app = await buildApi(context);
});

after(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

interface ServiceBody {
  data: {
    options: Record<string, unknown>;
    live: { servers: Array<{ state: string }>; requests: number } | null;
    interface: string | null;
  };
  errors?: Record<string, string>;
}

describe('service options api', () => {
  it('creates a service with options', async () => {
    const answer = await app.inject({
      method: 'POST',
      url: base,
      payload: {
        subdomain: 'app',
        domain: 'example.com',
        vmid: 101,
        port: 8080,
        'https-redirect': false,
        'hsts-max-age': 600,
        'hsts-include-subdomains': true,
        'basic-auth': [{ user: 'admin', password: 'pa ss' }],
        'request-headers': [{ name: 'X-Env', value: 'prod # "quoted"' }],
        'allowed-networks': ['192.0.2.0/24'],
        interface: 'net1',
      },
    });
    assert.equal(answer.statusCode, 200, answer.body);
    const body = answer.json<ServiceBody>();
    assert.equal(body.data.options['https-redirect'], false);
    assert.equal(body.data.options['hsts-max-age'], 600);
    assert.deepEqual(body.data.options['basic-auth'], [{ user: 'admin' }]);
    assert.equal(body.data.interface, 'net1');
    assert.doesNotMatch(answer.body, /\$6\$/);
    const stored = state.snapshot().services[0]?.options?.basicAuth?.[0]?.passwordHash ?? '';
    assert.match(stored, /^\$6\$/);
  });

  it('changes options with put', async () => {
    const answer = await app.inject({ method: 'PUT', url: `${base}/app.example.com`, payload: { 'hsts-max-age': null, 'basic-auth': [{ user: 'admin' }], balance: 'leastconn' } });
    assert.equal(answer.statusCode, 200, answer.body);
    const body = answer.json<ServiceBody>();
    assert.equal(body.data.options['hsts-max-age'], null);
    assert.equal(body.data.options.balance, 'leastconn');
    assert.match(state.snapshot().services[0]?.options?.basicAuth?.[0]?.passwordHash ?? '', /^\$6\$/);
  });

  it('rejects injection attempts', async () => {
    const bad: Array<[string, unknown]> = [
      ['request-headers', [{ name: 'X-A\nX-B', value: 'v' }]],
      ['request-headers', [{ name: 'X-A', value: 'v\r\nX-B: w' }]],
      ['response-headers', [{ name: 'X A', value: 'v' }]],
      ['health-check', { path: '/h ealth#x', interval: 2 }],
      ['allowed-networks', ['10.0.0.0/8 0.0.0.0/0']],
      ['basic-auth', [{ user: 'ad min', password: 'x' }]],
      ['basic-auth', [{ user: 'admin', password: 'a\nb' }]],
      ['interface', 'eth0'],
      ['address', '10.0.0.1;x'],
    ];
    for (const [field, value] of bad) {
      const answer = await app.inject({ method: 'PUT', url: `${base}/app.example.com`, payload: { [field]: value } });
      assert.equal(answer.statusCode, 400, `${field}: ${answer.body}`);
    }
    assert.equal(state.snapshot().services[0]?.options?.requestHeaders?.[0]?.value, 'prod # "quoted"');
  });

  it('shows live state', async () => {
    live.push({ hostname: 'app.example.com', targets: [{ address: '192.0.2.5', port: 8080, state: 'down', check: 'L4CON' }], requests: 7, errors: 1 });
    const answer = await app.inject({ method: 'GET', url: `${base}/app.example.com` });
    const body = answer.json<ServiceBody>();
    assert.equal(body.data.live?.servers[0]?.state, 'down');
    assert.equal(body.data.live?.requests, 7);
  });

  it('rejects put on unknown service', async () => {
    const answer = await app.inject({ method: 'PUT', url: `${base}/nope.example.com`, payload: { balance: 'source' } });
    assert.equal(answer.statusCode, 404);
  });
});
