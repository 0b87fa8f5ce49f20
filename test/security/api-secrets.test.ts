import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registeredRoutes } from '../../daemon/src/api/access-control.js';
import { startSecuredApi, ticketHeaders, userSession, type SecuredApi, type Session } from '../api/fixtures.js';
import { findSecret, type Secret } from './secret-scan.js';

/**
 * Every credential the API accepts is written once and never returned: not by the write that
 * set it, not by any read route, not in an error message, not in the audit log.
 */

const base = '/api2/json';

function cloudflareToken(): string {
  return randomBytes(30).toString('base64url');
}

describe('secrets in api responses', () => {
  let api: SecuredApi;
  let admin: Session;
  const secrets: Secret[] = [];
  const answers: Array<{ request: string; body: string }> = [];

  const hmac = randomBytes(32);
  const fallbackHmac = randomBytes(32);
  const values = {
    token: cloudflareToken(),
    rotated: cloudflareToken(),
    globalKey: randomBytes(20).toString('hex').slice(0, 37),
    zoneToken: cloudflareToken(),
    dnsToken: cloudflareToken(),
    eabToken: cloudflareToken(),
    refused: cloudflareToken(),
    password: `pw-${randomBytes(12).toString('base64url')}`,
  };

  async function send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, payload?: Record<string, unknown>): Promise<number> {
    const answer = await api.app.inject({ method, url: `${base}${path}`, headers: ticketHeaders(admin, true), ...(payload === undefined ? {} : { payload }) });
    answers.push({ request: `${method} ${path}`, body: `${JSON.stringify(answer.headers)}\n${answer.body}` });
    return answer.statusCode;
  }

  before(async () => {
    api = await startSecuredApi();
    admin = await userSession(api.pve, 'admin@pve', { '/': ['Sys.Audit', 'Sys.Modify'], '/vms': ['VM.Audit', 'VM.Config.Network'] });
    for (const [name, value] of Object.entries(values)) secrets.push({ name, value });
    secrets.push({ name: 'eab hmac (base64)', value: hmac.toString('base64') }, { name: 'eab hmac (base64url)', value: hmac.toString('base64url') });
    secrets.push({ name: 'fallback hmac (base64)', value: fallbackHmac.toString('base64') }, { name: 'fallback hmac (base64url)', value: fallbackHmac.toString('base64url') });
    // The plain parts of a ticket and a CSRF token (user and time) are public; their signatures are the secrets.
    secrets.push({ name: 'ticket signature', value: admin.ticket.split('::')[1] ?? admin.ticket }, { name: 'csrf token signature', value: admin.csrfToken.split(':')[1] ?? admin.csrfToken });

    const issuer = { 'acme-directory': 'https://acme.example.net/dir', 'acme-email': 'admin@example.com' };
    const created = [
      await send('POST', '/domains', { domain: 'token.example', ...issuer, 'cloudflare-token': values.token }),
      await send('POST', '/domains', { domain: 'global.example', ...issuer, 'cloudflare-global-key': values.globalKey, 'cloudflare-email': 'owner@example.com' }),
      await send('POST', '/domains', { domain: 'split.example', ...issuer, 'cloudflare-zone-token': values.zoneToken, 'cloudflare-dns-token': values.dnsToken }),
      await send('POST', '/domains', { domain: 'eab.example', ...issuer, 'eab-key-id': 'kid-1', 'eab-hmac-key': hmac.toString('base64'), 'cloudflare-token': values.eabToken }),
      await send('PUT', '/domains/token.example', {
        'cloudflare-token': values.rotated,
        'fallback-issuers': [{ directory: 'https://other.example.net/dir', email: 'admin@example.com', 'eab-key-id': 'kid-2', 'eab-hmac-key': fallbackHmac.toString('base64url') }],
      }),
      await send('POST', '/services', { subdomain: 'app', domain: 'token.example', vmid: 101, port: 8080, 'basic-auth': [{ user: 'alice', password: values.password }] }),
    ];
    assert.deepEqual(created, [200, 200, 200, 200, 200, 200], JSON.stringify(answers.map((answer) => answer.body.slice(-300))));
    const hash = api.state.snapshot().services[0]?.options?.basicAuth?.[0]?.passwordHash;
    assert.ok(hash !== undefined, 'the basic-auth user has no stored hash');
    secrets.push({ name: 'password hash', value: hash });

    // Refused writes, whose error messages must not repeat what was sent.
    await send('POST', '/domains', { domain: 'bad.example', ...issuer, 'cloudflare-token': `${values.refused}!` });
    await send('POST', '/domains', { domain: 'bad.example', ...issuer, 'cloudflare-token': values.globalKey });
    await send('POST', '/domains', { domain: 'bad.example', ...issuer, 'cloudflare-global-key': values.token, 'cloudflare-email': 'owner@example.com' });
    await send('PUT', '/services/app.token.example', { 'basic-auth': [{ user: 'bob' }] });
    await send('PUT', '/services/app.token.example', { 'basic-auth': [{ user: 'carol', password: `${values.password}\n` }] });
  });

  after(async () => {
    await api.stop();
  });

  it('reads every route', async () => {
    const objects: Record<string, string[]> = {
      domain: ['token.example', 'global.example', 'split.example', 'eab.example'],
      fqdn: ['app.token.example'],
      site: ['default'],
      id: ['app.token.example'],
      name: ['token.example', 'app.token.example'],
      upid: ['x'],
    };
    for (const { method, route } of registeredRoutes(api.app)) {
      if (method !== 'GET') continue;
      const names = /:(\w+)/.exec(route)?.[1];
      const fillings = names === undefined ? [''] : (objects[names] ?? ['x']);
      for (const value of fillings) await send('GET', route.replace(/:\w+/g, encodeURIComponent(value)));
    }
    assert.ok(answers.length > 20, `only ${answers.length} answers were read`);
  });

  it('returns no secret', () => {
    for (const answer of answers) {
      const found = findSecret(answer.body, secrets);
      assert.equal(found, null, `${answer.request} returns ${found ?? ''}`);
    }
  });

  it('shows only the last four characters', async () => {
    const answer = await api.app.inject({ method: 'GET', url: `${base}/domains/split.example`, headers: ticketHeaders(admin, false) });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.ok(answer.body.includes(values.zoneToken.slice(-4)), 'the zone token hint is missing');
    assert.ok(!answer.body.includes(values.zoneToken.slice(-5)), 'more than four characters of the zone token are shown');
  });
});
