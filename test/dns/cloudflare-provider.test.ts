import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import type { DnsZone } from '../../daemon/src/dns/provider.js';
import { AppError } from '../../daemon/src/errors.js';
import { startCloudflareSimulator, type CloudflareSimulator } from '../sandbox/cloudflare/index.js';

const scopedToken = 'scopedTokenForExampleCom0123456789abcdef';
const otherToken = 'tokenForAnotherZoneOnly0123456789abcdefg';
const logger = pino({ level: 'silent' });

async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('CloudflareProvider', () => {
  let sim: CloudflareSimulator;
  let provider: CloudflareProvider;
  let zone: DnsZone;

  before(async () => {
    sim = await startCloudflareSimulator();
    sim.addZone('example.com');
    sim.addZone('lab.example.com');
    sim.addZone('example.org');
    sim.addToken(scopedToken, { zones: ['example.com'], permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
    sim.addToken(otherToken, { zones: ['example.org'], permissions: ['zone:read', 'dns_records:edit'] });
    provider = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: scopedToken }, logger });
    zone = await provider.findZone('svc.k8s.example.com', 'example.com');
  });

  after(async () => {
    await sim.stop();
  });

  it('walks labels to the zone', () => {
    assert.equal(zone.name, 'example.com');
    assert.deepEqual(zone.nameServers, sim.nameServers);
  });

  it('sends only the bearer token', () => {
    const schemes = new Set(sim.requestLog.map((entry) => entry.authScheme));
    assert.deepEqual([...schemes], ['bearer']);
  });

  it('prefers the longest zone', async () => {
    const admin = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: 'adminTokenAllZones0123456789abcdefghijkl' }, logger });
    sim.addToken('adminTokenAllZones0123456789abcdefghijkl', { zones: 'all', permissions: ['zone:read', 'dns_records:edit'] });
    assert.equal((await admin.findZone('web.lab.example.com', 'example.com')).name, 'lab.example.com');
  });

  it('reports a zone outside the token', async () => {
    const other = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: otherToken }, logger });
    const err = await rejectionOf(other.findZone('app.example.com', 'example.com'));
    assert.ok(['DNS_ZONE_NOT_FOUND', 'DNS_AUTH_FAILED'].includes(err.code), err.code);
    assert.match(err.message, /example\.com/);
  });

  it('stops at rejected credentials', async () => {
    const revoked = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: 'revokedTokenXYZ0123456789abcdefghijklmn' }, logger });
    const before = sim.requestLog.length;
    const err = await rejectionOf(revoked.findZone('a.b.example.com', 'example.com'));
    assert.equal(err.code, 'DNS_AUTH_FAILED');
    assert.match(err.message, /rejected the credentials/);
    assert.ok(sim.requestLog.length - before <= 2, `${sim.requestLog.length - before} requests`);
  });

  it('adopts an identical record', async () => {
    const record = { type: 'TXT' as const, name: '_acme-challenge.app.example.com', content: 'digest-D', ttl: 60, comment: 'pve-domains test' };
    const first = await provider.createRecord(zone, record);
    const second = await provider.createRecord(zone, record);
    assert.equal(second.id, first.id);
    assert.equal(sim.records('example.com').filter((item) => item.name === record.name).length, 1);
  });

  it('keeps case in txt content', async () => {
    const created = await provider.createRecord(zone, { type: 'TXT', name: 'case.example.com', content: 'AbC-dEf_123', ttl: 60, comment: 'x' });
    assert.equal(created.content, 'AbC-dEf_123');
  });

  it('lists records by exact name', async () => {
    sim.addRecord('example.com', { type: 'A', name: 'listed.example.com', content: '192.0.2.1' });
    sim.addRecord('example.com', { type: 'A', name: 'notlisted.listed.example.com', content: '192.0.2.2' });
    const records = await provider.listRecords(zone, { name: 'listed.example.com' });
    assert.deepEqual(
      records.map((record) => record.content),
      ['192.0.2.1'],
    );
  });

  it('leaves no abort listener', async () => {
    const shared = new AbortController();
    for (let index = 0; index < 5; index += 1) {
      await provider.listRecords(zone, { name: 'www.example.com' }, shared.signal);
      await provider.findZone('svc.example.com', 'example.com', shared.signal);
    }
    assert.equal(getEventListeners(shared.signal, 'abort').length, 0);
  });

  it('aborts with the shared signal', async () => {
    const shared = new AbortController();
    shared.abort(new Error('daemon stopping'));
    await assert.rejects(provider.listRecords(zone, { name: 'www.example.com' }, shared.signal));
  });

  it('treats a gone record as deleted', async () => {
    const created = await provider.createRecord(zone, { type: 'TXT', name: 'gone.example.com', content: 'x', ttl: 60, comment: 'x' });
    await provider.deleteRecord(zone, created.id);
    await provider.deleteRecord(zone, created.id);
    assert.equal(sim.records('example.com').filter((item) => item.id === created.id).length, 0);
  });

  it('names the code of a refused write', async () => {
    const err = await rejectionOf(provider.createRecord(zone, { type: 'TXT', name: 'long.example.com', content: 'x', ttl: 60, comment: 'c'.repeat(101) }));
    assert.equal(err.code, 'DNS_API_FAILED');
    assert.match(err.message, /9313/);
  });
});
