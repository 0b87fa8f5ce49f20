import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';

/**
 * The main job end to end, against real Pebble, HAProxy and DNS: expose container 101 as
 * app.example.com, serve it over HTTPS, survive a restart, and remove exactly what was created.
 */
describe('expose a container service', () => {
  let sandbox: Sandbox;
  const fqdn = 'app.example.com';
  let servedSerial = '';

  before(async () => {
    sandbox = await startSandbox();
    await sandbox.startDaemon();
    // Records the product did not create: same name with another type, and another name.
    sandbox.cloudflare.addRecord('example.com', { type: 'TXT', name: fqdn, content: '"foreign text at the service name"' });
    sandbox.cloudflare.addRecord('example.com', { type: 'A', name: 'other.example.com', content: '192.0.2.40', comment: 'made by hand' });
    const created = await sandbox.api('POST', '/domains', {
      domain: 'Example.COM.',
      'acme-directory': sandbox.pebble.directoryUrl,
      'acme-email': 'admin@example.com',
      'cloudflare-token': sandbox.cloudflareToken,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('serves the container over https', async () => {
    const port = sandbox.containers[0]?.port;
    const created = await sandbox.api('POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await sandbox.waitForService(fqdn, 'active', 90_000);

    const page = await sandbox.fetchHttps(fqdn);
    assert.equal(page.status, 200);
    assert.match(page.body, /\bapp\b/);
    assert.match(page.certificate.subjectaltname ?? '', new RegExp(`DNS:${fqdn.replaceAll('.', '\\.')}`));
    servedSerial = page.certificate.serialNumber.toLowerCase();
    assert.notEqual(servedSerial, '');
  });

  it('chains the certificate to pebble root', async () => {
    const root = new X509Certificate(await readFile(sandbox.pebble.rootFile, 'utf8'));
    const page = await sandbox.fetchHttps(fqdn);
    let issuer = page.certificate.issuerCertificate;
    while (issuer !== undefined && issuer.issuerCertificate !== undefined && issuer.issuerCertificate !== issuer) issuer = issuer.issuerCertificate;
    assert.equal(issuer?.fingerprint256, root.fingerprint256);
  });

  it('leaves an owned A record and no challenge', () => {
    const records = sandbox.cloudflare.records('example.com');
    const address = records.filter((record) => record.type === 'A' && record.name === fqdn);
    assert.equal(address.length, 1);
    assert.equal(address[0]?.content, '127.0.0.1');
    assert.match(address[0]?.comment ?? '', /^pve-domains cluster=sandbox service=app\.example\.com$/);
    assert.deepEqual(
      records.filter((record) => record.name.startsWith('_acme-challenge')),
      [],
    );
  });

  it('keeps the certificate across a restart', async () => {
    const ordersBefore = await sandbox.pebble.countOrders();
    assert.ok(ordersBefore >= 1);
    await sandbox.stopDaemon();
    await sandbox.startDaemon();
    await sandbox.waitForService(fqdn, 'active', 30_000);
    const page = await sandbox.fetchHttps(fqdn);
    assert.equal(page.status, 200);
    assert.equal(page.certificate.serialNumber.toLowerCase(), servedSerial);
    // One more full pass, so that a late order would have been sent by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await sandbox.pebble.countOrders(), ordersBefore);
  });

  it('lists the service through the cli', async () => {
    const listed = await sandbox.cli(['get', '/services', '--output-format', 'json']);
    assert.equal(listed.code, 0, listed.stderr);
    const services = JSON.parse(listed.stdout) as Array<{ fqdn: string; status: string }>;
    assert.deepEqual(
      services.map((service) => [service.fqdn, service.status]),
      [[fqdn, 'active']],
    );
  });

  it('removes only what it created on delete', async () => {
    const deleted = await sandbox.cli(['delete', `/services/${fqdn}`]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const deadline = Date.now() + 30_000;
    while ((await sandbox.api('GET', `/services/${fqdn}`)).status !== 404) {
      assert.ok(Date.now() < deadline, 'the service was not removed within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const page = await sandbox.fetchHttps(fqdn, { verify: false });
    assert.equal(page.status, 404);
    assert.doesNotMatch(page.body, /app|127\.0\.0/);

    const records = sandbox.cloudflare.records('example.com');
    assert.equal(records.filter((record) => record.name === fqdn && record.type === 'A').length, 0);
    assert.equal(records.filter((record) => record.name === fqdn && record.type === 'TXT').length, 1);
    assert.equal(records.filter((record) => record.name === 'other.example.com' && record.type === 'A').length, 1);
  });
});
