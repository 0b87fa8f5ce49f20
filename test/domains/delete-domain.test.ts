import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';

/** Deleting a domain that still has services: rejected with the list, or removed with them. */
describe('delete a domain with services', () => {
  let sandbox: Sandbox;
  const fqdn = 'app.example.com';

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
    const service = await sandbox.api('POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port: sandbox.containers[0]?.port });
    assert.equal(service.status, 200, JSON.stringify(service.body));
    await sandbox.waitForService(fqdn, 'active', 90_000);
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('rejects and lists the services', async () => {
    const answer = await sandbox.api('DELETE', '/domains/example.com');
    assert.equal(answer.status, 409);
    assert.match(JSON.stringify(answer.body), /app\.example\.com/);
    assert.match(JSON.stringify(answer.body), /remove-services=1/);
  });

  it('marks the services with remove-services', async () => {
    const answer = await sandbox.api('DELETE', '/domains/example.com?remove-services=1');
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const data = (answer.body as { data: { deleting: boolean; services: string[] } }).data;
    assert.equal(data.deleting, true);
    assert.deepEqual(data.services, [fqdn]);
  });

  it('removes the domain after its services', async () => {
    const deadline = Date.now() + 30_000;
    while ((await sandbox.api('GET', '/domains/example.com')).status !== 404) {
      assert.ok(Date.now() < deadline, 'the domain was not removed within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal((await sandbox.api('GET', `/services/${fqdn}`)).status, 404);
    assert.equal(sandbox.cloudflare.records('example.com').filter((record) => record.name === fqdn).length, 0);
  });

  it('removes the cloudflare secret', async () => {
    await assert.rejects(access(join(sandbox.dir, 'secrets', 'cloudflare', 'example.com.secret')));
  });
});
