import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import { checksOf, eabHmacKey, eabKeyId, newToken, startDomainsFixture, type DomainsFixture } from './fixtures.js';

describe('external account binding', () => {
  let fx: DomainsFixture;
  let directory: string;
  const token = newToken('eabTestToken');

  before(async () => {
    fx = await startDomainsFixture({ eab: true });
    assert.ok(fx.eabPebble !== null);
    directory = fx.eabPebble.directoryUrl;
    for (const zone of ['example.com', 'example.org']) fx.cloudflare.addZone(zone);
    fx.cloudflare.addToken(token, { zones: 'all', permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
  });

  after(async () => {
    await fx.stop();
  });

  function body(extra: Record<string, unknown>): Record<string, unknown> {
    return { domain: 'example.com', 'acme-directory': directory, 'acme-email': 'admin@example.com', 'cloudflare-token': token, ...extra };
  }

  it('requires EAB for ZeroSSL before any request', async () => {
    const logStart = fx.cloudflare.requestLog.length;
    const answer = await fx.call('POST', '/domains', body({ 'acme-directory': 'zerossl' }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['acme-eab-key-id'] ?? '', /ZeroSSL requires External Account Binding/);
    assert.equal(fx.cloudflare.requestLog.length, logStart);
  });

  it('reads the requirement from the directory', async () => {
    const answer = await fx.call('POST', '/domains', body({}));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['acme-account'] ?? '', /requires External Account Binding; enter eab-key-id and eab-hmac-key/);
  });

  it('explains a wrong HMAC key', async () => {
    const answer = await fx.call('POST', '/domains', body({ 'eab-key-id': eabKeyId, 'eab-hmac-key': Buffer.alloc(32, 9).toString('base64url') }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['acme-account'] ?? '', /External Account Binding/);
  });

  it('explains an unknown key id', async () => {
    const answer = await fx.call('POST', '/domains', body({ 'eab-key-id': 'kid-unknown', 'eab-hmac-key': eabHmacKey }));
    assert.equal(answer.status, 400);
    assert.match(checksOf(answer.body)['acme-account'] ?? '', /External Account Binding/);
  });

  it('leaves no account key after failures', async () => {
    const files = await readdir(join(fx.dir, 'secrets', 'acme-account')).catch(() => []);
    assert.deepEqual(files, []);
  });

  it('registers with base64 padding', async () => {
    const padded = Buffer.from(eabHmacKey, 'base64url').toString('base64');
    const answer = await fx.call('POST', '/domains', body({ 'eab-key-id': eabKeyId, 'eab-hmac-key': `${padded}\n` }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const data = answer.body['data'] as Record<string, unknown>;
    assert.equal(data['eab-key-id'], eabKeyId);
    assert.equal(data['eab-hmac-key'], 'set');
  });

  it('stores one account of mode 0600', async () => {
    assert.equal(fx.state.snapshot().acmeAccounts.filter((item) => item.directory === directory).length, 1);
    const files = await readdir(join(fx.dir, 'secrets', 'acme-account'));
    assert.equal(files.length, 2);
    for (const file of files) assert.equal((await stat(join(fx.dir, 'secrets', 'acme-account', file))).mode & 0o777, 0o600);
  });

  it('reuses the account when issuing', async () => {
    const dns = new CloudflareProvider({ apiBaseUrl: fx.cloudflare.apiBaseUrl, credentials: { kind: 'token', token }, logger: pino({ level: 'silent' }) });
    const accountUrl = fx.state.snapshot().acmeAccounts.find((item) => item.directory === directory)?.url;
    const issued = await fx.issuer.issue(
      {
        certificateId: 'app.example.com',
        registeredDomain: 'example.com',
        directory,
        email: 'admin@example.com',
        names: ['app.example.com'],
        keyType: 'ecdsa-p256',
        replaces: null,
        resume: null,
        onOrderCreated: () => Promise.resolve(),
      },
      dns,
    );
    assert.deepEqual(issued.names, ['app.example.com']);
    assert.equal(fx.state.snapshot().acmeAccounts.find((item) => item.directory === directory)?.url, accountUrl);
  });

  it('issues after a save with skip-verify', async () => {
    const readOnly = newToken('eabReadOnlyToken');
    fx.cloudflare.addToken(readOnly, { zones: 'all', permissions: ['zone:read'] });
    const saved = await fx.call('POST', '/domains', body({ domain: 'example.org', 'acme-email': 'ops@example.org', 'cloudflare-token': readOnly, 'eab-key-id': eabKeyId, 'eab-hmac-key': eabHmacKey, 'skip-verify': true }));
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.equal((saved.body['data'] as Record<string, unknown>)['ready'], false);
    const accounts = () => fx.state.snapshot().acmeAccounts.filter((item) => item.email === 'ops@example.org');
    assert.equal(accounts().length, 0);

    const dns = new CloudflareProvider({ apiBaseUrl: fx.cloudflare.apiBaseUrl, credentials: { kind: 'token', token }, logger: pino({ level: 'silent' }) });
    const issued = await fx.issuer.issue(
      {
        certificateId: 'app.example.org',
        registeredDomain: 'example.org',
        directory,
        email: 'ops@example.org',
        names: ['app.example.org'],
        keyType: 'ecdsa-p256',
        replaces: null,
        resume: null,
        onOrderCreated: () => Promise.resolve(),
      },
      dns,
    );
    assert.deepEqual(issued.names, ['app.example.org']);
    assert.equal(accounts().length, 1);
  });

  it('keeps the stored HMAC on update', async () => {
    const answer = await fx.call('PUT', '/domains/example.com', { 'acme-email': 'admin@example.com', 'eab-key-id': eabKeyId });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });

  it('checks fallback issuers', async () => {
    const answer = await fx.call('PUT', '/domains/example.com', { 'fallback-issuers': [{ directory: fx.pebble.directoryUrl, email: 'admin@example.com' }] });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const checks = (answer.body['data'] as { verification: { checks: Array<{ check: string; status: string; message: string }> } }).verification.checks;
    const accounts = checks.filter((item) => item.check === 'acme-account');
    assert.equal(accounts.length, 2);
    assert.match(accounts[1]?.message ?? '', /fallback issuer 1/);
    assert.deepEqual(fx.state.snapshot().domains[0]?.fallbackIssuers, [{ directory: fx.pebble.directoryUrl, email: 'admin@example.com' }]);
  });

  it('never leaks the HMAC key', () => {
    const variants = [eabHmacKey, Buffer.from(eabHmacKey, 'base64url').toString('base64'), token];
    for (const secret of variants) {
      for (const text of fx.responses) assert.ok(!text.includes(secret), 'a response contains a secret');
      for (const line of fx.logLines) assert.ok(!line.includes(secret), 'a log line contains a secret');
    }
  });
});
