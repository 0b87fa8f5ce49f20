import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';

/** Deleting a service whose DNS records can no longer be removed: kept, explained, forced. */
describe('delete a service without dns access', () => {
  let sandbox: Sandbox;
  const fqdn = 'gone.example.com';

  before(async () => {
    sandbox = await startSandbox();
    await sandbox.startDaemon();
    const domain = await sandbox.api('POST', '/domains', {
      domain: 'example.com',
      'acme-directory': sandbox.pebble.directoryUrl,
      'acme-email': 'admin@example.com',
      'cloudflare-token': sandbox.cloudflareToken,
    });
    assert.equal(domain.status, 200, JSON.stringify(domain.body));
    const service = await sandbox.api('POST', '/services', { subdomain: 'gone', domain: 'example.com', vmid: 101, port: sandbox.containers[0]?.port });
    assert.equal(service.status, 200, JSON.stringify(service.body));
    await sandbox.waitForService(fqdn, 'active', 90_000);
    sandbox.cloudflare.revokeToken(sandbox.cloudflareToken);
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('keeps the service and names force', async () => {
    const deleted = await sandbox.api('DELETE', `/services/${fqdn}`);
    assert.equal(deleted.status, 200);
    const deadline = Date.now() + 20_000;
    let lastError = '';
    while (Date.now() < deadline) {
      const answer = await sandbox.api('GET', `/services/${fqdn}`);
      assert.equal(answer.status, 200, 'the service was removed although its records could not be');
      const value = (answer.body.data as Record<string, unknown>)['last-error'];
      lastError = typeof value === 'string' ? value : '';
      if (lastError !== '') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(lastError, /rejected the credentials/);
    assert.match(lastError, /--force 1/);
  });

  it('rejects an unknown delete parameter', async () => {
    const answer = await sandbox.api('DELETE', `/services/${fqdn}?colour=blue`);
    assert.equal(answer.status, 400);
    assert.match(answer.body.errors?.['colour'] ?? '', /not defined in schema/);
  });

  it('removes the service with force', async () => {
    const forced = await sandbox.cli(['delete', `/services/${fqdn}`, '--force', '1']);
    assert.equal(forced.code, 0, forced.stderr);
    const deadline = Date.now() + 20_000;
    while ((await sandbox.api('GET', `/services/${fqdn}`)).status !== 404) {
      assert.ok(Date.now() < deadline, 'the forced delete did not remove the service within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const page = await sandbox.fetchHttps(fqdn, { verify: false });
    assert.equal(page.status, 404);
    // The record could not be removed without credentials, so it is left in place.
    assert.equal(sandbox.cloudflare.records('example.com').filter((record) => record.name === fqdn && record.type === 'A').length, 1);
  });
});
