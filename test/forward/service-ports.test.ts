import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';

import { buildApi } from '../../daemon/src/api/server.js';
import { reservedPorts } from '../../daemon/src/api/service-protocol.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';

/** The tcp and udp fields of services through the API: defaults, rules and external port collisions. */

const API_PORT = 18016;
const domainBody = { domain: 'example.com', 'acme-directory': 'https://acme.example.net/dir', 'acme-email': 'admin@example.com', 'cloudflare-token': 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T' };

let dir: string;
let app: FastifyInstance;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pve-domains-ports-'));
  const state = await StateStore.open(join(dir, 'state'));
  const secrets = new SecretStore(join(dir, 'secrets'));
  const context = { state, secrets, enqueue: () => undefined, logger: pino({ level: 'silent' }), reservedPorts: reservedPorts({ apiPort: API_PORT, ingressPorts: [80, 443] }) };
  app = await buildApi(context);
  const registered = await app.inject({ method: 'POST', url: '/api2/json/domains', payload: domainBody });
  assert.equal(registered.statusCode, 200, registered.body);
});

after(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

interface Failure {
  status: number;
  errors: Record<string, string>;
}

async function create(payload: Record<string, unknown>): Promise<{ status: number; data: Record<string, unknown>; errors: Record<string, string> }> {
  const answer = await app.inject({ method: 'POST', url: '/api2/json/services', payload: { domain: 'example.com', vmid: 101, port: 25565, ...payload } });
  const body = answer.json<{ data: Record<string, unknown>; errors?: Record<string, string> }>();
  return { status: answer.statusCode, data: body.data, errors: body.errors ?? {} };
}

async function update(fqdn: string, payload: Record<string, unknown>): Promise<Failure & { data: Record<string, unknown> }> {
  const answer = await app.inject({ method: 'PUT', url: `/api2/json/services/${fqdn}`, payload });
  const body = answer.json<{ data: Record<string, unknown>; errors?: Record<string, string> }>();
  return { status: answer.statusCode, data: body.data, errors: body.errors ?? {} };
}

describe('service protocol fields', () => {
  it('creates a tcp service', async () => {
    const created = await create({ subdomain: 'mc', protocol: 'tcp', 'external-port': 25565, srv: { service: '_minecraft', priority: 5, weight: 10 } });
    assert.equal(created.status, 200);
    assert.equal(created.data['protocol'], 'tcp');
    assert.equal(created.data['external-port'], 25565);
    assert.equal(created.data['tls'], false);
    assert.deepEqual(created.data['srv'], { service: '_minecraft', priority: 5, weight: 10 });
  });

  it('returns the fields on read', async () => {
    const answer = await app.inject({ method: 'GET', url: '/api2/json/services/mc.example.com' });
    const data = answer.json<{ data: Record<string, unknown> }>().data;
    assert.equal(data['protocol'], 'tcp');
    assert.equal(data['external-port'], 25565);
  });

  it('defaults to http', async () => {
    const created = await create({ subdomain: 'web', port: 8080 });
    assert.equal(created.status, 200);
    assert.equal(created.data['protocol'], 'http');
    assert.equal(created.data['external-port'], null);
    assert.equal(created.data['srv'], null);
  });

  it('creates a tls tcp service', async () => {
    const created = await create({ subdomain: 'mqtt', port: 1883, protocol: 'tcp', 'external-port': 8883, tls: true });
    assert.equal(created.status, 200);
    assert.equal(created.data['tls'], true);
  });

  it('requires an external port', async () => {
    const failed = await create({ subdomain: 'noport', protocol: 'udp' });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['external-port'] ?? '', /a udp service needs external-port/);
  });

  it('rejects an external port on http', async () => {
    const failed = await create({ subdomain: 'httpport', 'external-port': 9000 });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['external-port'] ?? '', /applies to tcp and udp services only/);
  });

  it('rejects tls on http', async () => {
    const failed = await create({ subdomain: 'httptls', tls: true });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['tls'] ?? '', /applies to tcp services only; set protocol to tcp/);
  });

  it('rejects tls on udp', async () => {
    const failed = await create({ subdomain: 'dtls', protocol: 'udp', 'external-port': 9001, tls: true });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['tls'] ?? '', /tls applies to tcp services only/);
  });

  it('rejects a proxied record', async () => {
    const failed = await create({ subdomain: 'proxied', protocol: 'tcp', 'external-port': 9003, 'cloudflare-proxied': true });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['cloudflare-proxied'] ?? '', /needs a DNS-only record/);
  });

  it('rejects an invalid srv label', async () => {
    const failed = await create({ subdomain: 'srvbad', protocol: 'tcp', 'external-port': 9002, srv: { service: 'minecraft' } });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['srv'] ?? '', /srv\.service "minecraft" is invalid: .*_minecraft/);
  });

  const reserved: Array<[number, RegExp]> = [
    [80, /reserved for the HTTP ingress \(80\)/],
    [443, /reserved for the HTTPS ingress \(443\)/],
    [API_PORT, /reserved for the pve-domains API \(18016\)/],
    [8006, /reserved for the PVE web interface and API \(8006\)/],
    [3128, /reserved for the PVE SPICE proxy \(3128\)/],
    [22, /reserved for SSH \(22\)/],
    [5900, /reserved for PVE console \(5900-5999\)/],
    [5999, /reserved for PVE console \(5900-5999\)/],
    [5405, /reserved for corosync \(5405-5412\)/],
    [5412, /reserved for corosync \(5405-5412\)/],
    [60000, /reserved for PVE live migration \(60000-60050\)/],
    [60050, /reserved for PVE live migration \(60000-60050\)/],
  ];
  for (const [port, owner] of reserved) {
    it(`rejects reserved port ${port}`, async () => {
      const failed = await create({ subdomain: `r${port}`, protocol: 'udp', 'external-port': port });
      assert.equal(failed.status, 400);
      assert.match(failed.errors['external-port'] ?? '', owner);
    });
  }

  it('accepts ports beside reserved ranges', async () => {
    for (const port of [5899, 6000, 5404, 5413, 59999, 60051]) {
      const created = await create({ subdomain: `ok${port}`, protocol: 'tcp', 'external-port': port });
      assert.equal(created.status, 200, `port ${port}: ${JSON.stringify(created.errors)}`);
    }
  });

  it('rejects a taken port naming the owner', async () => {
    const failed = await create({ subdomain: 'mc2', protocol: 'tcp', 'external-port': 25565 });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['external-port'] ?? '', /external port 25565\/tcp is taken by the service mc\.example\.com/);
  });

  it('allows udp on a tcp port number', async () => {
    const created = await create({ subdomain: 'bedrock', protocol: 'udp', 'external-port': 25565 });
    assert.equal(created.status, 200);
  });

  it('rejects a change of protocol', async () => {
    const failed = await update('mc.example.com', { protocol: 'udp' });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['protocol'] ?? '', /cannot change from tcp to udp; delete the service and create it again/);
  });

  it('rejects moving onto a taken port', async () => {
    const failed = await update('mqtt.example.com', { 'external-port': 25565 });
    assert.equal(failed.status, 400);
    assert.match(failed.errors['external-port'] ?? '', /taken by the service mc\.example\.com/);
  });

  it('changes the port and removes srv', async () => {
    const updated = await update('mc.example.com', { 'external-port': 25570, srv: null });
    assert.equal(updated.status, 200);
    assert.equal(updated.data['external-port'], 25570);
    assert.equal(updated.data['srv'], null);
  });

  it('frees the old port', async () => {
    const created = await create({ subdomain: 'mc3', protocol: 'tcp', 'external-port': 25565 });
    assert.equal(created.status, 200);
  });
});
