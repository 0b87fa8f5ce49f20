import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checksOf, newToken, startDomainsFixture, type DomainsFixture } from './fixtures.js';

const fullAccess = ['zone:read', 'dns_records:read', 'dns_records:edit'] as const;

describe('domain verification', () => {
  let fx: DomainsFixture;
  const scopedCom = newToken('scopedExampleCom');
  const scopedNet = newToken('scopedExampleNet');
  const allZones = newToken('allZonesToken');
  const readOnly = newToken('readOnlyToken');
  const revoked = newToken('revokedToken');
  const rotated = newToken('rotatedToken');
  const accountToken = `cfat_${'A1b2'.repeat(10)}`;
  const globalKey = '0123456789abcdef0123456789abcdef01234';
  const secrets = [scopedCom, scopedNet, allZones, readOnly, revoked, rotated, accountToken, globalKey];

  before(async () => {
    fx = await startDomainsFixture();
    const sim = fx.cloudflare;
    for (const zone of ['example.com', 'lab.example.com', 'example.net', 'example.org', 'example.co.uk', 'xn--bcher-kva.example']) sim.addZone(zone);
    sim.addZone('pending.example', { status: 'pending' });
    sim.addToken(scopedCom, { zones: ['example.com'], permissions: [...fullAccess] });
    sim.addToken(scopedNet, { zones: ['example.net'], permissions: [...fullAccess] });
    sim.addToken(allZones, { zones: 'all', permissions: [...fullAccess] });
    sim.addToken(readOnly, { zones: 'all', permissions: ['zone:read', 'dns_records:read'] });
    sim.addToken(revoked, { zones: 'all', permissions: [...fullAccess] });
    sim.revokeToken(revoked);
    sim.addToken(rotated, { zones: 'all', permissions: [...fullAccess] });
    sim.addToken(accountToken, { zones: 'all', permissions: [...fullAccess] });
    sim.addGlobalKey('admin@example.com', globalKey);
  });

  after(async () => {
    await fx.stop();
  });

  function body(domain: string, credentials: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { domain, 'acme-directory': fx.pebble.directoryUrl, 'acme-email': 'admin@example.com', ...credentials, ...extra };
  }

  async function secretFiles(): Promise<string[]> {
    try {
      return await readdir(join(fx.dir, 'secrets', 'cloudflare'));
    } catch {
      return [];
    }
  }

  it('registers with a zone-scoped token', async () => {
    const answer = await fx.call('POST', '/domains', body('Example.COM.', { 'cloudflare-token': `${scopedCom}\n` }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const data = answer.body['data'] as Record<string, unknown>;
    assert.equal(data['domain'], 'example.com');
    assert.equal(data['ready'], true);
    assert.equal(data['cloudflare-secret'], `…${scopedCom.slice(-4)}`);
    const checks = (data['verification'] as { checks: Array<{ check: string; status: string }> }).checks;
    assert.deepEqual(checks.map((item) => `${item.check}=${item.status}`), ['credentials=pass', 'zone=pass', 'delegation=pass', 'dns-edit=pass', 'acme-account=pass', 'caa=pass']);
  });

  it('stores the trimmed token', async () => {
    const stored = await readFile(join(fx.dir, 'secrets', 'cloudflare', 'example.com.secret'), 'utf8');
    assert.deepEqual(JSON.parse(stored), { kind: 'token', token: scopedCom });
  });

  it('removes the permission probe record', () => {
    assert.equal(fx.cloudflare.records('example.com').filter((record) => record.name.startsWith('_pve-domains-probe')).length, 0);
  });

  it('continues past a refused candidate', async () => {
    // A token scoped to example.net is refused on shop.example.net, which is not a zone.
    fx.cloudflare.injectFault({ match: (request) => request.method === 'GET' && request.path.endsWith('/zones'), status: 403, body: { success: false, errors: [{ code: 0, message: "Actor requires permission 'com.cloudflare.api.account.zone.list' to list zones" }], messages: [], result: null } });
    const answer = await fx.call('POST', '/domains', body('shop.example.net', { 'cloudflare-token': scopedNet }));
    fx.cloudflare.clearFaults();
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const verification = (answer.body['data'] as { verification: { zone: string } }).verification;
    assert.equal(verification.zone, 'example.net');
  });

  it('rejects when every candidate is refused', async () => {
    const ordersBefore = await fx.pebble.countOrders();
    fx.cloudflare.injectFault({ match: (request) => request.path.endsWith('/zones'), status: 403, body: { success: false, errors: [{ code: 10000, message: 'Authentication error' }] }, times: Infinity });
    const answer = await fx.call('POST', '/domains', body('example.org', { 'cloudflare-token': scopedCom }));
    fx.cloudflare.clearFaults();
    assert.equal(answer.status, 400);
    const checks = checksOf(answer.body);
    assert.match(checks['zone'] ?? '', /^fail: .*example\.org.*Zone:Zone:Read/);
    assert.match(checks['acme-account'] ?? '', /^skip/);
    assert.equal(await fx.pebble.countOrders(), ordersBefore);
    assert.ok(!(await secretFiles()).includes('example.org.secret'));
  });

  it('stops at a revoked token', async () => {
    const logStart = fx.cloudflare.requestLog.length;
    const answer = await fx.call('POST', '/domains', body('example.org', { 'cloudflare-token': revoked }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['credentials'] ?? '', /^fail: .*invalid, revoked or expired \(1000\)/);
    assert.ok(fx.cloudflare.requestLog.length - logStart <= 2, `sent ${fx.cloudflare.requestLog.length - logStart} requests`);
    assert.ok(!(await secretFiles()).includes('example.org.secret'));
    assert.equal(fx.state.snapshot().domains.some((item) => item.name === 'example.org'), false);
  });

  it('reports code 9109 on every call', async () => {
    const logStart = fx.cloudflare.requestLog.length;
    fx.cloudflare.injectFault({ match: () => true, status: 403, body: { success: false, errors: [{ code: 9109, message: 'Invalid access token' }] }, times: Infinity });
    const answer = await fx.call('POST', '/domains', body('example.org', { 'cloudflare-token': allZones }));
    fx.cloudflare.clearFaults();
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['credentials'] ?? '', /9109/);
    assert.ok(fx.cloudflare.requestLog.length - logStart <= 2);
  });

  it('explains a malformed token', async () => {
    // 41 characters pass the daemon's syntax check but not Cloudflare's (6003/6111); the value
    // is not hex, so it is not named a Global API Key.
    const answer = await fx.call('POST', '/domains', body('example.org', { 'cloudflare-token': `${allZones}z` }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['credentials'] ?? '', /6003\/6111.*copy the API token again/);
    assert.doesNotMatch(checksOf(answer.body)['credentials'] ?? '', /Global API Key/);
  });

  it('rejects a token sent as key', async () => {
    const logStart = fx.cloudflare.requestLog.length;
    const answer = await fx.call('POST', '/domains', body('example.org', { 'cloudflare-global-key': allZones, 'cloudflare-email': 'admin@example.com' }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['cloudflare-global-key'] ?? '', /looks like an API token/);
    assert.equal(fx.cloudflare.requestLog.length, logStart);
  });

  it('sends only Bearer with token and e-mail', async () => {
    const logStart = fx.cloudflare.requestLog.length;
    const answer = await fx.call('POST', '/domains', body('example.org', { 'cloudflare-token': allZones, 'cloudflare-email': 'admin@example.com' }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const schemes = new Set(fx.cloudflare.requestLog.slice(logStart).map((entry) => entry.authScheme));
    assert.deepEqual([...schemes], ['bearer']);
  });

  it('accepts the global key', async () => {
    const logStart = fx.cloudflare.requestLog.length;
    const answer = await fx.call('POST', '/domains', body('example.co.uk', { 'cloudflare-global-key': ` ${globalKey} `, 'cloudflare-email': 'admin@example.com' }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal((answer.body['data'] as Record<string, unknown>)['cloudflare-credentials'], 'global-key');
    const schemes = new Set(fx.cloudflare.requestLog.slice(logStart).map((entry) => entry.authScheme));
    assert.deepEqual([...schemes], ['key']);
  });

  it('verifies an account token', async () => {
    const logStart = fx.cloudflare.requestLog.length;
    const answer = await fx.call('POST', '/domains', body('bücher.example', { 'cloudflare-token': accountToken }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const data = answer.body['data'] as Record<string, unknown>;
    assert.equal(data['domain'], 'xn--bcher-kva.example');
    assert.equal(data['domain-unicode'], 'bücher.example');
    const paths = fx.cloudflare.requestLog.slice(logStart).map((entry) => entry.path);
    assert.ok(paths.some((path) => /\/accounts\/[0-9a-f]+\/tokens\/verify$/.test(path)), paths.join(' '));
    assert.ok(!paths.some((path) => path.endsWith('/user/tokens/verify')));
  });

  it('rejects a pending zone', async () => {
    const answer = await fx.call('POST', '/domains', body('pending.example', { 'cloudflare-token': allZones }));
    assert.equal(answer.status, 400);
    const zone = checksOf(answer.body)['zone'] ?? '';
    assert.match(zone, /nameservers not yet delegated to Cloudflare/);
    assert.match(zone, new RegExp(fx.cloudflare.nameServers[0] ?? 'missing'));
  });

  it('names the missing DNS edit permission', async () => {
    const answer = await fx.call('POST', '/domains', body('example.net', { 'cloudflare-token': readOnly }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['dns-edit'] ?? '', /^fail: .*Zone:DNS:Edit/);
  });

  it('saves a failing domain with skip-verify', async () => {
    const answer = await fx.call('POST', '/domains', body('example.net', { 'cloudflare-token': readOnly }, { 'skip-verify': true }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal((answer.body['data'] as Record<string, unknown>)['ready'], false);
  });

  it('rejects a name already registered', async () => {
    const answer = await fx.call('POST', '/domains', body('EXAMPLE.com', { 'cloudflare-token': scopedCom }));
    assert.equal(answer.status, 409);
    assert.match(String(answer.body['message']), /already registered/);
  });

  it('accepts a registered sub-zone', async () => {
    const answer = await fx.call('POST', '/domains', body('lab.example.com', { 'cloudflare-token': allZones }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });

  it('rejects a subdomain without its own zone', async () => {
    const answer = await fx.call('POST', '/domains', body('k8s.example.com', { 'cloudflare-token': allZones }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['domain'] ?? '', /lies below the registered domain example\.com and is not its own Cloudflare zone/);
    assert.ok(!(await secretFiles()).includes('k8s.example.com.secret'));
  });

  it('rotates the token', async () => {
    const answer = await fx.call('PUT', '/domains/example.org', { 'cloudflare-token': rotated });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const stored = await readFile(join(fx.dir, 'secrets', 'cloudflare', 'example.org.secret'), 'utf8');
    assert.deepEqual(JSON.parse(stored), { kind: 'token', token: rotated });
  });

  it('keeps the old token on a failed rotation', async () => {
    const answer = await fx.call('PUT', '/domains/example.org', { 'cloudflare-token': revoked });
    assert.equal(answer.status, 400);
    const stored = await readFile(join(fx.dir, 'secrets', 'cloudflare', 'example.org.secret'), 'utf8');
    assert.deepEqual(JSON.parse(stored), { kind: 'token', token: rotated });
  });

  it('changes the key type without checks', async () => {
    const logStart = fx.cloudflare.requestLog.length;
    const answer = await fx.call('PUT', '/domains/example.org', { 'key-type': 'rsa-2048', 'certificate-mode': 'wildcard' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal((answer.body['data'] as Record<string, unknown>)['key-type'], 'rsa-2048');
    assert.equal(fx.cloudflare.requestLog.length, logStart);
    assert.ok(fx.state.snapshot().domains.find((item) => item.name === 'example.org')?.updatedAt !== undefined);
  });

  it('verifies on demand', async () => {
    const answer = await fx.call('POST', '/domains/example.com/verify', {});
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const data = answer.body['data'] as { ready: boolean; checks: unknown[] };
    assert.equal(data.ready, true);
    assert.equal(data.checks.length, 6);
  });

  it('refuses to delete a domain with services', async () => {
    await fx.state.update((document) => {
      document.services.push({ fqdn: 'app.example.org', subdomain: 'app', domain: 'example.org', vmid: 101, port: 80, createdAt: '', deleting: false, conditions: [], observed: { target: null }, retry: { failures: 0, nextAttemptAt: null, lastError: null } });
    });
    const answer = await fx.call('DELETE', '/domains/example.org');
    assert.equal(answer.status, 409);
    assert.match(String(answer.body['message']), /app\.example\.org/);
  });

  it('never leaks a secret', () => {
    for (const secret of secrets) {
      for (const text of fx.responses) assert.ok(!text.includes(secret), `a response contains ${secret.slice(0, 6)}…`);
      for (const line of fx.logLines) assert.ok(!line.includes(secret), `a log line contains ${secret.slice(0, 6)}…`);
    }
  });
});
