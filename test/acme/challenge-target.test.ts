import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { challengeTarget } from '../../daemon/src/acme/challenge-records.js';
import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import { AppError } from '../../daemon/src/errors.js';
import { startCloudflareSimulator, type CloudflareSimulator } from '../sandbox/cloudflare/index.js';

const bothZones = 'tokenForBothZonesOnly0123456789abcdefghi';
const firstZoneOnly = 'tokenForExampleComOnly0123456789abcdefgh';

/** `_acme-challenge` delegated by CNAME to another zone (RFC 8555 section 8.4 follows CNAMEs). */
describe('challengeTarget', () => {
  let sim: CloudflareSimulator;
  const logger = pino({ level: 'silent' });

  before(async () => {
    sim = await startCloudflareSimulator();
    sim.addZone('example.com');
    sim.addZone('acme-validation.co.uk');
    sim.addToken(bothZones, { zones: ['example.com', 'acme-validation.co.uk'], permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
    sim.addToken(firstZoneOnly, { zones: ['example.com'], permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
    sim.addRecord('example.com', { type: 'CNAME', name: '_acme-challenge.app.example.com', content: 'app.acme-validation.co.uk' });
  });

  after(async () => {
    await sim.stop();
  });

  it('keeps a name without cname', async () => {
    const dns = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: bothZones }, logger });
    const target = await challengeTarget(dns, '_acme-challenge.www.example.com', 'example.com');
    assert.equal(target.name, '_acme-challenge.www.example.com');
    assert.equal(target.zone.name, 'example.com');
  });

  it('follows the cname to its zone', async () => {
    const dns = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: bothZones }, logger });
    const target = await challengeTarget(dns, '_acme-challenge.app.example.com', 'example.com');
    assert.equal(target.name, 'app.acme-validation.co.uk');
    assert.equal(target.zone.name, 'acme-validation.co.uk');
  });

  it('never asks for the public suffix', async () => {
    const dns = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: bothZones }, logger });
    const before = sim.requestLog.length;
    await challengeTarget(dns, '_acme-challenge.app.example.com', 'example.com');
    const asked = sim.requestLog.slice(before).filter((entry) => entry.path.endsWith('/zones')).map((entry) => entry.query);
    assert.ok(!asked.some((query) => /name=co\.uk(&|$)/.test(query)), asked.join(' | '));
  });

  it('names the unreachable target zone', async () => {
    const dns = new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: firstZoneOnly }, logger });
    await assert.rejects(challengeTarget(dns, '_acme-challenge.app.example.com', 'example.com'), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'DNS_ZONE_NOT_FOUND');
      assert.match(err.message, /delegated by CNAME to app\.acme-validation\.co\.uk/);
      assert.equal(err.retryable, false);
      return true;
    });
  });
});
