import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';

import Cloudflare, { APIError } from 'cloudflare';

import { startCloudflareSimulator, type CloudflareSimulator, type SimZone } from './cloudflare/index.js';

/** SRV records in the Cloudflare simulator: the `data` object, name rules, errors and DNS answers. */

const TOKEN = 'srv-test-'.padEnd(40, 'x');
const NAME = '_minecraft._tcp.mc.example.com';
const DATA = { priority: 10, weight: 5, port: 25565, target: 'mc.example.com' };

let sim: CloudflareSimulator;
let cf: Cloudflare;
let zone: SimZone;

before(async () => {
  sim = await startCloudflareSimulator();
  zone = sim.addZone('example.com');
  sim.addToken(TOKEN, { zones: 'all', permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
  cf = new Cloudflare({ apiToken: TOKEN, apiKey: null, apiEmail: null, baseURL: sim.apiBaseUrl, apiVersion: '2026-12-04', maxRetries: 0 });
});

after(async () => {
  await sim.stop();
});

/** Awaits a call that must fail and returns its status, first code and message. */
async function rejection(call: Promise<unknown>): Promise<{ status: number; code: number | undefined; message: string }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof APIError)) throw err;
    const first = (err.errors as Array<{ code?: number; message?: string }>)[0];
    return { status: Number(err.status), code: first?.code, message: first?.message ?? '' };
  }
  throw new assert.AssertionError({ message: 'expected the call to fail with an APIError' });
}

function createSrv(name: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<unknown> {
  // The SDK's parameter types forbid the invalid bodies these tests send on purpose.
  const body = { zone_id: zone.id, type: 'SRV', name, data, ttl: 1, ...extra } as unknown as Parameters<Cloudflare['dns']['records']['create']>[0];
  return cf.dns.records.create(body);
}

describe('cloudflare simulator srv records', () => {
  let recordId = '';

  it('creates a record from data', async () => {
    const created = (await createSrv(NAME, DATA, { comment: 'pve-domains cluster=test service=mc.example.com' })) as { id: string; type: string; name: string; content: string; proxiable: boolean; data: unknown; comment: string };
    recordId = created.id;
    assert.equal(created.type, 'SRV');
    assert.equal(created.name, NAME);
    assert.deepEqual(created.data, DATA);
    assert.equal(created.content, '10 5 25565 mc.example.com');
    assert.equal(created.proxiable, false);
    assert.equal(created.comment, 'pve-domains cluster=test service=mc.example.com');
  });

  it('lists the record by name', async () => {
    const page = await cf.dns.records.list({ zone_id: zone.id, name: { exact: NAME }, type: 'SRV' });
    assert.equal(page.result.length, 1);
    assert.equal(page.result[0]?.id, recordId);
  });

  it('answers srv queries', async () => {
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`${sim.dnsAddress}:${sim.dnsPort}`]);
    const answers = await resolver.resolveSrv(NAME);
    assert.deepEqual(answers, [{ name: 'mc.example.com', port: 25565, priority: 10, weight: 5 }]);
  });

  it('accepts the content form', async () => {
    const body = { zone_id: zone.id, type: 'SRV', name: '_sip._udp.example.com', content: '0 1 5060 sip.example.com', ttl: 1 } as unknown as Parameters<Cloudflare['dns']['records']['create']>[0];
    const created = (await cf.dns.records.create(body)) as { data: unknown };
    assert.deepEqual(created.data, { priority: 0, weight: 1, port: 5060, target: 'sip.example.com' });
  });

  it('rejects an identical record', async () => {
    const failure = await rejection(createSrv(NAME, DATA));
    assert.equal(failure.status, 400);
    assert.equal(failure.code, 81058);
  });

  it('rejects a name without service', async () => {
    const failure = await rejection(createSrv('mc.example.com', DATA));
    assert.equal(failure.status, 400);
    assert.match(failure.message, /^Invalid service value\./);
  });

  it('rejects an unknown protocol', async () => {
    const failure = await rejection(createSrv('_minecraft._xyz.example.com', DATA));
    assert.equal(failure.status, 400);
    assert.match(failure.message, /^Invalid protocol value\./);
  });

  it('rejects deprecated data fields', async () => {
    const failure = await rejection(createSrv(NAME, { ...DATA, service: '_minecraft', proto: '_tcp' }));
    assert.equal(failure.status, 400);
    assert.match(failure.message, /service, proto are no longer supported/);
  });

  it('rejects a port out of range', async () => {
    const failure = await rejection(createSrv(NAME, { ...DATA, port: 70000 }));
    assert.equal(failure.status, 400);
    assert.match(failure.message, /SRV port 70000 is invalid/);
  });

  it('rejects an invalid target', async () => {
    const failure = await rejection(createSrv(NAME, { ...DATA, target: 'bad target' }));
    assert.equal(failure.status, 400);
    assert.match(failure.message, /SRV target "bad target" is not a valid host name/);
  });

  it('rejects proxying', async () => {
    const failure = await rejection(createSrv(NAME, { ...DATA, port: 25566 }, { proxied: true }));
    assert.equal(failure.status, 400);
    assert.equal(failure.code, 9004);
  });

  it('edits the port', async () => {
    const edited = (await cf.dns.records.edit(recordId, { zone_id: zone.id, type: 'SRV', name: NAME, ttl: 1, data: { ...DATA, port: 25570 } })) as { content: string; data: { port: number } };
    assert.equal(edited.data.port, 25570);
    assert.equal(edited.content, '10 5 25570 mc.example.com');
  });

  it('deletes the record', async () => {
    await cf.dns.records.delete(recordId, { zone_id: zone.id });
    assert.equal(sim.records('example.com').some((record) => record.id === recordId), false);
  });
});
