import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startAuthServer, type StandInAuthServer } from '../sandbox/auth-server.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { send } from './targets.js';

/**
 * The sign-in gate through the daemon: the domain's auth-server and the service's auth option
 * reach HAProxy through the reconciler, and the service status reports a missing server.
 */
describe('sign-in gate through the daemon', () => {
  let sandbox: Sandbox;
  let auth: StandInAuthServer;
  const fqdn = 'app.example.com';

  before(async () => {
    auth = await startAuthServer('127.0.0.3');
    sandbox = await startSandbox();
    await sandbox.startDaemon();
    const created = await sandbox.api('POST', '/domains', {
      domain: 'example.com',
      'acme-directory': sandbox.pebble.directoryUrl,
      'acme-email': 'admin@example.com',
      'cloudflare-token': sandbox.cloudflareToken,
      'auth-server': auth.url,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
  });

  after(async () => {
    await sandbox?.stop();
    await auth?.close();
  });

  it('redirects a gated service', async () => {
    const created = await sandbox.api('POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port: sandbox.containers[0]?.port, auth: true });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const view = await sandbox.waitForService(fqdn, 'active', 90_000);
    const conditions = view['conditions'] as Array<{ type: string; status: string }>;
    assert.deepEqual(conditions.find((item) => item.type === 'sign-in')?.status, 'true');

    const response = await send({ port: sandbox.httpsPort, hostname: fqdn, path: '/docs?page=2' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.location, `/oauth2/start?rd=${encodeURIComponent(`https://${fqdn}/docs?page=2`)}`);
  });

  it('reports a domain without a server', async () => {
    const changed = await sandbox.api('PUT', '/domains/example.com', { 'auth-server': '' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const view = await sandbox.waitForService(fqdn, 'error', 30_000);
    const conditions = view['conditions'] as Array<{ type: string; status: string; reason: string; message: string }>;
    const signIn = conditions.find((item) => item.type === 'sign-in');
    assert.equal(signIn?.status, 'false');
    assert.equal(signIn?.reason, 'SignInNotConfigured');
    assert.match(signIn?.message ?? '', /has no auth-server/);

    const page = await sandbox.fetchHttps(fqdn);
    assert.equal(page.status, 503);
    assert.match(page.body, /Sign-in is not configured/);
  });

  it('serves the service without auth', async () => {
    const changed = await sandbox.api('PUT', `/services/${fqdn}`, { auth: false });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const view = await sandbox.waitForService(fqdn, 'active', 30_000);
    const conditions = view['conditions'] as Array<{ type: string }>;
    assert.equal(conditions.some((item) => item.type === 'sign-in'), false);
    const page = await sandbox.fetchHttps(fqdn);
    assert.equal(page.status, 200);
  });
});
