import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import { startAcmeFront, type AcmeFront } from '../sandbox/acme-front/index.js';
import { newToken, startDomainsFixture, type DomainsFixture } from './fixtures.js';

describe('acme profile in new orders', () => {
  let fx: DomainsFixture;
  let front: AcmeFront;
  let dns: CloudflareProvider;
  const token = newToken('profileTestToken');

  before(async () => {
    fx = await startDomainsFixture();
    front = await startAcmeFront({ pebbleDirectoryUrl: fx.pebble.directoryUrl, certFile: fx.pebble.listenerCertFile, keyFile: fx.pebble.listenerKeyFile, caFile: fx.pebble.listenerCaFile });
    for (const zone of ['example.com', 'example.net']) fx.cloudflare.addZone(zone);
    fx.cloudflare.addToken(token, { zones: 'all', permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
    dns = new CloudflareProvider({ apiBaseUrl: fx.cloudflare.apiBaseUrl, credentials: { kind: 'token', token }, logger: pino({ level: 'silent' }) });
    // Stored directly: Pebble's directory offers no meta.profiles, so a save through the API
    // would fail the profile check.
    await fx.state.update((state) => {
      const createdAt = new Date().toISOString();
      state.domains.push({ name: 'example.com', acmeDirectory: front.directoryUrl, acmeEmail: 'admin@example.com', acmeProfile: 'shortlived', createdAt });
      state.domains.push({ name: 'example.net', acmeDirectory: front.directoryUrl, acmeEmail: 'admin@example.net', createdAt });
    });
  });

  after(async () => {
    await front.stop();
    await fx.stop();
  });

  async function orderPayload(domain: string): Promise<Record<string, unknown>> {
    const before = front.orders.length;
    await fx.issuer.issue(
      {
        certificateId: `app.${domain}`,
        registeredDomain: domain,
        directory: front.directoryUrl,
        email: `admin@${domain}`,
        names: [`app.${domain}`],
        keyType: 'ecdsa-p256',
        replaces: null,
        resume: null,
        onOrderCreated: () => Promise.resolve(),
      },
      dns,
    );
    assert.equal(front.orders.length, before + 1);
    return front.orders[before] as unknown as Record<string, unknown>;
  }

  it('sends the profile when set', async () => {
    const payload = await orderPayload('example.com');
    assert.equal(payload['profile'], 'shortlived');
  });

  it('omits the profile when unset', async () => {
    const payload = await orderPayload('example.net');
    assert.equal('profile' in payload, false);
  });
});
