import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';

import { pino } from 'pino';

import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import type { DnsZone } from '../../daemon/src/dns/provider.js';
import { ownershipComment } from '../../daemon/src/names.js';
import { deleteOwnedRecords } from '../../daemon/src/reconcile/dns-records.js';
import { ensureSrvRecord, srvPublication } from '../../daemon/src/reconcile/srv-records.js';
import { startCloudflareSimulator, type CloudflareSimulator, type DnsRecordView } from '../sandbox/cloudflare/index.js';

/** SRV records of tcp and udp services through the Cloudflare provider against the simulator. */

const TOKEN = 'srv-owner-'.padEnd(40, 'x');
const FQDN = 'mc.example.com';
const COMMENT = ownershipComment('test', 'service', FQDN);
const logger = pino({ level: 'silent' });

let sim: CloudflareSimulator;
let dns: CloudflareProvider;
let zone: DnsZone;

before(async () => {
  sim = await startCloudflareSimulator();
  sim.addZone('example.com');
  sim.addToken(TOKEN, { zones: 'all', permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
  dns = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: TOKEN }, logger });
  zone = await dns.findZone(FQDN, 'example.com');
});

after(async () => {
  await sim.stop();
});

function srvRecords(): DnsRecordView[] {
  return sim.records('example.com').filter((record) => record.type === 'SRV');
}

function dataOf(record: DnsRecordView | undefined): unknown {
  return record !== undefined && 'data' in record ? record.data : undefined;
}

describe('srv records of services', () => {
  let firstId = '';

  it('builds the name from label and protocol', () => {
    const publication = srvPublication(FQDN, 'udp', '_minecraft', 19132, 0, 5);
    assert.equal(publication.name, '_minecraft._udp.mc.example.com');
    assert.deepEqual(publication.data, { priority: 0, weight: 5, port: 19132, target: FQDN });
  });

  it('creates an owned record', async () => {
    await ensureSrvRecord(dns, zone, srvPublication(FQDN, 'tcp', '_minecraft', 25565, 10, 5), null, COMMENT, logger);
    const records = srvRecords();
    assert.equal(records.length, 1);
    firstId = records[0]?.id ?? '';
    assert.equal(records[0]?.name, '_minecraft._tcp.mc.example.com');
    assert.equal(records[0]?.comment, COMMENT);
    assert.deepEqual(dataOf(records[0]), { priority: 10, weight: 5, port: 25565, target: FQDN });
  });

  it('serves the record over dns', async () => {
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`${sim.dnsAddress}:${sim.dnsPort}`]);
    assert.deepEqual(await resolver.resolveSrv('_minecraft._tcp.mc.example.com'), [{ name: FQDN, port: 25565, priority: 10, weight: 5 }]);
  });

  it('leaves an equal record alone', async () => {
    const before = srvRecords()[0]?.modified_on;
    await ensureSrvRecord(dns, zone, srvPublication(FQDN, 'tcp', '_minecraft', 25565, 10, 5), '_minecraft._tcp.mc.example.com', COMMENT, logger);
    assert.equal(srvRecords().length, 1);
    assert.equal(srvRecords()[0]?.modified_on, before);
  });

  it('updates the port in place', async () => {
    await ensureSrvRecord(dns, zone, srvPublication(FQDN, 'tcp', '_minecraft', 25570, 10, 5), '_minecraft._tcp.mc.example.com', COMMENT, logger);
    const records = srvRecords();
    assert.equal(records.length, 1);
    assert.equal(records[0]?.id, firstId);
    assert.deepEqual(dataOf(records[0]), { priority: 10, weight: 5, port: 25570, target: FQDN });
  });

  it('keeps foreign records', async () => {
    sim.addRecord('example.com', { type: 'SRV', name: '_mc._tcp.mc.example.com', content: '0 0 25565 other.example.net', comment: 'added by hand' });
    await ensureSrvRecord(dns, zone, srvPublication(FQDN, 'tcp', '_mc', 25570, 10, 5), '_minecraft._tcp.mc.example.com', COMMENT, logger);
    const names = srvRecords().map((record) => `${record.name} ${record.comment ?? ''}`).sort();
    assert.deepEqual(names, ['_mc._tcp.mc.example.com added by hand', `_mc._tcp.mc.example.com ${COMMENT}`]);
  });

  it('removes the record when srv is unset', async () => {
    await ensureSrvRecord(dns, zone, null, '_mc._tcp.mc.example.com', COMMENT, logger);
    const owned = srvRecords().filter((record) => record.comment === COMMENT);
    assert.deepEqual(owned, []);
    assert.equal(srvRecords().length, 1);
  });

  it('deletes owned records with the service', async () => {
    await ensureSrvRecord(dns, zone, srvPublication(FQDN, 'tcp', '_mc', 25570, 10, 5), null, COMMENT, logger);
    const deleted = await deleteOwnedRecords(dns, zone, [FQDN, '_mc._tcp.mc.example.com'], [COMMENT]);
    assert.equal(deleted, 1);
    assert.deepEqual(srvRecords().map((record) => record.comment), ['added by hand']);
  });
});
