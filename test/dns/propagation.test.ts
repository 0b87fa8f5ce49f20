import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { waitForTxtRecord, type PropagationSettings } from '../../daemon/src/dns/propagation.js';
import type { DnsZone } from '../../daemon/src/dns/provider.js';
import { startCloudflareSimulator, type CloudflareSimulator } from '../sandbox/cloudflare/index.js';

describe('waitForTxtRecord', () => {
  let sim: CloudflareSimulator;
  let settings: PropagationSettings;
  let zone: DnsZone;

  before(async () => {
    sim = await startCloudflareSimulator();
    const created = sim.addZone('example.com');
    zone = { id: created.id, name: 'example.com', nameServers: sim.nameServers };
    settings = {
      resolvers: [`${sim.dnsAddress}:${sim.dnsPort}`],
      authoritativePort: sim.dnsPort,
      timeoutMs: 1_500,
      intervalMs: 50,
      logger: pino({ level: 'silent' }),
    };
  });

  after(async () => {
    await sim.stop();
  });

  it('returns once the value is served', async () => {
    sim.addRecord('example.com', { type: 'TXT', name: '_acme-challenge.app.example.com', content: 'value-1' });
    await waitForTxtRecord(zone, '_acme-challenge.app.example.com', 'value-1', settings);
  });

  it('waits for a delayed record', async () => {
    sim.setPropagationDelay('example.com', 400);
    const started = Date.now();
    sim.addRecord('example.com', { type: 'TXT', name: '_acme-challenge.slow.example.com', content: 'value-2' });
    await waitForTxtRecord(zone, '_acme-challenge.slow.example.com', 'value-2', settings);
    assert.ok(Date.now() - started >= 350, `returned after ${Date.now() - started} ms`);
    sim.setPropagationDelay('example.com', 0);
  });

  it('times out on a missing value', async () => {
    await assert.rejects(waitForTxtRecord(zone, '_acme-challenge.none.example.com', 'absent', { ...settings, timeoutMs: 300 }), /Timed out after 300 ms.*does not answer the value yet/);
  });

  it('reports a refusing server as such', async () => {
    sim.setDnsFault('_acme-challenge.refused.example.com', 'refused');
    await assert.rejects(waitForTxtRecord(zone, '_acme-challenge.refused.example.com', 'x', { ...settings, timeoutMs: 300 }), /REFUSED the query/);
    sim.setDnsFault('_acme-challenge.refused.example.com', null);
  });
});
