import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSecuredApi, ticketHeaders, userSession, type SecuredApi, type Session } from './fixtures.js';

const url = '/api2/json/domains';
const host = 'pve1.example.com:8016';
const uiOrigin = 'https://pve1.example.com:8006';

describe('cors', () => {
  let api: SecuredApi;
  let session: Session;

  before(async () => {
    api = await startSecuredApi({ corsOrigins: ['https://pve.example.com:8006'] });
    session = await userSession(api.pve, 'auditor@pve', { '/': ['Sys.Audit'] });
  });

  after(async () => {
    await api.stop();
  });

  const preflight = (origin: string) =>
    api.app.inject({
      method: 'OPTIONS',
      url,
      headers: { host, origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'csrfpreventiontoken, content-type' },
    });

  it('answers a preflight from the UI', async () => {
    const answer = await preflight(uiOrigin);
    assert.equal(answer.statusCode, 204);
    assert.equal(answer.headers['access-control-allow-origin'], uiOrigin);
    assert.equal(answer.headers['access-control-allow-credentials'], 'true');
    assert.match(String(answer.headers['access-control-allow-methods']), /\bPOST\b/);
    assert.match(String(answer.headers['access-control-allow-methods']), /\bDELETE\b/);
    assert.match(String(answer.headers['access-control-allow-headers']), /\bCSRFPreventionToken\b/);
    assert.match(String(answer.headers['access-control-allow-headers']), /\bAuthorization\b/);
  });

  it('refuses a preflight from elsewhere', async () => {
    const answer = await preflight('https://evil.example.net:8006');
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
  });

  it('refuses another port of the host', async () => {
    const answer = await preflight('https://pve1.example.com:9000');
    assert.equal(answer.statusCode, 403);
  });

  it('refuses plain http on 8006', async () => {
    const answer = await preflight('http://pve1.example.com:8006');
    assert.equal(answer.statusCode, 403);
  });

  it('accepts a configured origin', async () => {
    const answer = await preflight('https://pve.example.com:8006');
    assert.equal(answer.statusCode, 204);
    assert.equal(answer.headers['access-control-allow-origin'], 'https://pve.example.com:8006');
  });

  it('allows credentials from the UI', async () => {
    const answer = await api.app.inject({ method: 'GET', url, headers: { host, origin: uiOrigin, ...ticketHeaders(session, false) } });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(answer.headers['access-control-allow-origin'], uiOrigin);
    assert.equal(answer.headers['access-control-allow-credentials'], 'true');
    assert.match(String(answer.headers['vary']), /Origin/);
  });

  it('refuses credentials from elsewhere', async () => {
    const answer = await api.app.inject({ method: 'GET', url, headers: { host, origin: 'https://evil.example.net', ...ticketHeaders(session, false) } });
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
    assert.equal(answer.headers['access-control-allow-credentials'], undefined);
  });

  it('sends no CORS headers without Origin', async () => {
    const answer = await api.app.inject({ method: 'GET', url, headers: { host, ...ticketHeaders(session, false) } });
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
  });
});
