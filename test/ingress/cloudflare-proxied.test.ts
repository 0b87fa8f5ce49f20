import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';

import { publishChallenge } from '../../daemon/src/acme/challenge-records.js';
import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import type { DnsZone } from '../../daemon/src/dns/provider.js';
import { ensureAddressRecords } from '../../daemon/src/reconcile/dns-records.js';
import { startCloudflareSimulator, type CloudflareSimulator, type DnsRecordView } from '../sandbox/cloudflare/index.js';

/**
 * The `cloudflare-proxied` service option in the DNS step, against the Cloudflare simulator, which
 * rejects a proxied record of a type Cloudflare cannot proxy (error 9004) as the live API does.
 */

const token = 'proxiedOptionToken0123456789abcdefghijkl';
const logger = pino({ level: 'silent' });
const name = 'app.example.com';
const comment = 'pve-domains cluster=test service=app.example.com';
const addresses = ['198.51.100.20', '2001:db8::20'];

describe('cloudflare-proxied records', () => {
  let sim: CloudflareSimulator;
  let provider: CloudflareProvider;
  let zone: DnsZone;

  const addressRecords = (): DnsRecordView[] => sim.records('example.com').filter((record) => record.name === name && (record.type === 'A' || record.type === 'AAAA'));
  const ensure = (proxied: boolean): Promise<void> => ensureAddressRecords(provider, zone, name, addresses, comment, logger, undefined, { proxied });

  before(async () => {
    sim = await startCloudflareSimulator();
    sim.addZone('example.com');
    sim.addToken(token, { zones: ['example.com'], permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
    provider = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token }, logger });
    zone = await provider.findZone(name, 'example.com');
  });

  after(async () => {
    await sim.stop();
  });

  it('creates proxied A and AAAA', async () => {
    await ensure(true);
    const records = addressRecords();
    assert.deepEqual(records.map((record) => record.type).sort(), ['A', 'AAAA']);
    for (const record of records) {
      assert.equal(record.proxied, true, `${record.type} ${record.content}`);
      assert.equal(record.ttl, 1, `${record.type} ${record.content}`);
    }
  });

  it('keeps converged records unchanged', async () => {
    const before = sim.requestLog.length;
    await ensure(true);
    const writes = sim.requestLog.slice(before).filter((entry) => entry.method !== 'GET');
    assert.deepEqual(writes, []);
  });

  it('switches off in place', async () => {
    const ids = addressRecords().map((record) => record.id).sort();
    const before = sim.requestLog.length;
    await ensure(false);
    const records = addressRecords();
    assert.deepEqual(records.map((record) => record.id).sort(), ids);
    for (const record of records) assert.equal(record.proxied, false, `${record.type} ${record.content}`);
    const methods = sim.requestLog.slice(before).map((entry) => entry.method).filter((method) => method !== 'GET');
    assert.deepEqual(methods, ['PATCH', 'PATCH']);
  });

  it('switches on in place', async () => {
    const ids = addressRecords().map((record) => record.id).sort();
    await ensure(true);
    const records = addressRecords();
    assert.deepEqual(records.map((record) => record.id).sort(), ids);
    for (const record of records) assert.equal(record.proxied, true, `${record.type} ${record.content}`);
  });

  it('never proxies a challenge TXT', async () => {
    // The caller asks for proxied; the provider must still send false for a TXT record.
    const target = { zone, name: '_acme-challenge.app.example.com' };
    const record = await provider.createRecord(zone, { type: 'TXT', name: target.name, content: 'token-one', ttl: 60, comment, proxied: true });
    const published = await publishChallenge(provider, target, 'token-two', comment);
    const stored = sim.records('example.com').filter((item) => item.type === 'TXT');
    assert.equal(record.proxied, false);
    assert.equal(published.recordName, target.name);
    assert.equal(stored.length, 2);
    for (const item of stored) assert.equal(item.proxied, false);
  });
});
