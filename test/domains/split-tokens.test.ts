import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import { AppError } from '../../daemon/src/errors.js';
import { checksOf, newToken, startDomainsFixture, type DomainsFixture } from './fixtures.js';

describe('split cloudflare tokens', () => {
  let fx: DomainsFixture;
  const zoneToken = newToken('splitZoneReadToken');
  const dnsToken = newToken('splitDnsEditToken');
  const unknownToken = newToken('splitUnknownToken');

  before(async () => {
    fx = await startDomainsFixture();
    for (const zone of ['example.com', 'example.org']) fx.cloudflare.addZone(zone);
    fx.cloudflare.addToken(zoneToken, { zones: 'all', permissions: ['zone:read'] });
    fx.cloudflare.addToken(dnsToken, { zones: 'all', permissions: ['dns_records:edit'] });
  });

  after(async () => {
    await fx.stop();
  });

  function body(domain: string, tokens: Record<string, string>): Record<string, unknown> {
    return { domain, 'acme-directory': fx.pebble.directoryUrl, 'acme-email': 'admin@example.com', ...tokens };
  }

  function provider(zone: string, dns: string): CloudflareProvider {
    return new CloudflareProvider({ apiBaseUrl: fx.cloudflare.apiBaseUrl, credentials: { kind: 'split', zoneToken: zone, dnsToken: dns }, logger: pino({ level: 'silent' }) });
  }

  it('looks zones up with the zone token', async () => {
    const zone = await provider(zoneToken, unknownToken).findZone('app.example.com', 'example.com');
    assert.equal(zone.name, 'example.com');
    await assert.rejects(provider(unknownToken, dnsToken).findZone('app.example.com', 'example.com'), (err: unknown) => err instanceof AppError && err.code === 'DNS_AUTH_FAILED');
  });

  it('edits records with the DNS token', async () => {
    const zone = await provider(zoneToken, dnsToken).findZone('example.com', 'example.com');
    const record = { type: 'TXT' as const, name: 'split.example.com', content: 'split', comment: 'test', ttl: 60 };
    await assert.rejects(provider(zoneToken, zoneToken).createRecord(zone, record), (err: unknown) => err instanceof AppError && err.code === 'DNS_AUTH_FAILED');
    const created = await provider(zoneToken, dnsToken).createRecord(zone, record);
    await provider(zoneToken, dnsToken).deleteRecord(zone, created.id);
    assert.equal(fx.cloudflare.records('example.com').filter((item) => item.name === 'split.example.com').length, 0);
  });

  it('requires both tokens', async () => {
    const answer = await fx.call('POST', '/domains', body('example.com', { 'cloudflare-zone-token': zoneToken }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['cloudflare-dns-token'] ?? '', /needs cloudflare-dns-token/);
  });

  it('rejects split tokens with a token', async () => {
    const answer = await fx.call('POST', '/domains', body('example.com', { 'cloudflare-zone-token': zoneToken, 'cloudflare-dns-token': dnsToken, 'cloudflare-token': dnsToken }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['cloudflare-zone-token'] ?? '', /not several/);
  });

  it('names a rejected zone token', async () => {
    const answer = await fx.call('POST', '/domains', body('example.com', { 'cloudflare-zone-token': unknownToken, 'cloudflare-dns-token': dnsToken }));
    assert.equal(answer.status, 400);
    const checks = checksOf(answer.body);
    assert.match(checks['credentials'] ?? '', /^fail: The zone token \(cloudflare-zone-token\)/);
    assert.match(checks['credentials-1'] ?? '', /^pass: The DNS token \(cloudflare-dns-token\)/);
  });

  it('names a rejected DNS token', async () => {
    const answer = await fx.call('POST', '/domains', body('example.com', { 'cloudflare-zone-token': zoneToken, 'cloudflare-dns-token': unknownToken }));
    assert.equal(answer.status, 400);
    const checks = checksOf(answer.body);
    assert.match(checks['credentials'] ?? '', /^pass: The zone token \(cloudflare-zone-token\)/);
    assert.match(checks['credentials-1'] ?? '', /^fail: The DNS token \(cloudflare-dns-token\)/);
  });

  it('names a DNS token without edit', async () => {
    const answer = await fx.call('POST', '/domains', body('example.com', { 'cloudflare-zone-token': zoneToken, 'cloudflare-dns-token': zoneToken }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['dns-edit'] ?? '', /^fail: .*grant the DNS token \(cloudflare-dns-token\) Zone:DNS:Edit/);
  });

  it('saves verified split tokens', async () => {
    const answer = await fx.call('POST', '/domains', body('example.com', { 'cloudflare-zone-token': ` ${zoneToken}\n`, 'cloudflare-dns-token': `${dnsToken} ` }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const data = answer.body['data'] as Record<string, unknown>;
    assert.equal(data['ready'], true);
    assert.equal(data['cloudflare-credentials'], 'split');
    assert.equal(data['cloudflare-secret'], `…${zoneToken.slice(-4)}`);
    assert.equal(data['cloudflare-dns-secret'], `…${dnsToken.slice(-4)}`);
  });

  it('stores both tokens mode 0600', async () => {
    const file = join(fx.dir, 'secrets', 'cloudflare', 'example.com.secret');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { kind: 'split', zoneToken, dnsToken });
  });

  it('switches to a single token', async () => {
    const single = newToken('splitSingleToken');
    fx.cloudflare.addToken(single, { zones: 'all', permissions: ['zone:read', 'dns_records:edit'] });
    const answer = await fx.call('PUT', '/domains/example.com', { 'cloudflare-token': single });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const data = answer.body['data'] as Record<string, unknown>;
    assert.equal(data['cloudflare-credentials'], 'api-token');
    assert.equal(data['cloudflare-dns-secret'], null);
  });

  it('never leaks a token', () => {
    for (const secret of [zoneToken, dnsToken]) {
      for (const text of fx.responses) assert.ok(!text.includes(secret), 'a response contains a token');
      for (const line of fx.logLines) assert.ok(!line.includes(secret), 'a log line contains a token');
    }
  });
});
