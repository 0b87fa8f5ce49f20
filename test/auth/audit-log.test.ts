import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, type AuditEntry } from '../../daemon/src/auth/audit-log.js';
import { startSecuredApi, storeDomain, ticketHeaders, userSession, validCloudflareToken, type SecuredApi, type Session } from '../api/fixtures.js';

function entry(index: number): AuditEntry {
  return { time: new Date(0).toISOString(), user: 'admin@pve', action: 'domain.create', object: `d${index}.example`, result: 'ok', status: 200 };
}

describe('audit log file', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-audit-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rotates at its bound', async () => {
    const file = join(dir, 'rotating', 'audit.log');
    const log = new AuditLog(file, { maxBytes: 1000 });
    for (let index = 0; index < 60; index++) await log.append(entry(index));
    assert.ok((await stat(file)).size <= 1000);
    assert.ok((await stat(`${file}.1`)).size <= 1000);
    const entries = await log.read(10_000);
    assert.equal(entries.at(-1)?.object, 'd59.example');
    assert.ok(entries.length < 60);
  });

  it('returns the newest entries in order', async () => {
    const log = new AuditLog(join(dir, 'ordered.log'));
    await Promise.all([0, 1, 2, 3].map((index) => log.append(entry(index))));
    const entries = await log.read(2);
    assert.deepEqual(
      entries.map((item) => item.object),
      ['d2.example', 'd3.example'],
    );
  });

  it('reads an absent file as empty', async () => {
    assert.deepEqual(await new AuditLog(join(dir, 'absent.log')).read(10), []);
  });
});

describe('audit log through the API', () => {
  let api: SecuredApi;
  let admin: Session;
  let auditor: Session;

  before(async () => {
    api = await startSecuredApi();
    admin = await userSession(api.pve, 'admin@pve', { '/': ['Sys.Audit', 'Sys.Modify'] });
    auditor = await userSession(api.pve, 'auditor@pve', { '/': ['Sys.Audit'] });
    await storeDomain(api, 'kept.example');
  });

  after(async () => {
    await api.stop();
  });

  const readAudit = async (): Promise<AuditEntry[]> => {
    const answer = await api.app.inject({ method: 'GET', url: '/api2/json/audit', headers: ticketHeaders(auditor, false) });
    assert.equal(answer.statusCode, 200, answer.body);
    return answer.json<{ data: AuditEntry[] }>().data;
  };

  it('records a change', async () => {
    const payload = { domain: 'audited.example', 'acme-directory': 'https://acme.example.net/dir', 'acme-email': 'admin@example.com', 'cloudflare-token': validCloudflareToken };
    const started = Date.now();
    const answer = await api.app.inject({ method: 'POST', url: '/api2/json/domains', headers: ticketHeaders(admin, true), payload });
    assert.equal(answer.statusCode, 200, answer.body);
    const last = (await readAudit()).at(-1);
    assert.equal(last?.user, 'admin@pve');
    assert.equal(last?.action, 'domain.create');
    assert.equal(last?.object, 'audited.example');
    assert.equal(last?.result, 'ok');
    assert.equal(last?.status, 200);
    assert.ok(Date.parse(last?.time ?? '') >= started - 1000);
  });

  it('records a refusal', async () => {
    const answer = await api.app.inject({ method: 'DELETE', url: '/api2/json/domains/kept.example', headers: ticketHeaders(auditor, true) });
    assert.equal(answer.statusCode, 403);
    const last = (await readAudit()).at(-1);
    assert.equal(last?.user, 'auditor@pve');
    assert.equal(last?.action, 'domain.delete');
    assert.equal(last?.object, 'kept.example');
    assert.equal(last?.result, 'denied');
    assert.equal(last?.message, 'Permission check failed (/, Sys.Modify)');
  });

  it('records a missing CSRF token', async () => {
    const answer = await api.app.inject({ method: 'DELETE', url: '/api2/json/domains/kept.example', headers: ticketHeaders(admin, false) });
    assert.equal(answer.statusCode, 401);
    const last = (await readAudit()).at(-1);
    assert.equal(last?.user, 'admin@pve');
    assert.equal(last?.result, 'denied');
    assert.equal(last?.status, 401);
  });

  it('records a failed change', async () => {
    const answer = await api.app.inject({ method: 'DELETE', url: '/api2/json/domains/absent.example', headers: ticketHeaders(admin, true) });
    assert.equal(answer.statusCode, 404);
    const last = (await readAudit()).at(-1);
    assert.equal(last?.result, 'failed');
    assert.equal(last?.status, 404);
  });

  it('leaves reads out', async () => {
    const count = (await readAudit()).length;
    await api.app.inject({ method: 'GET', url: '/api2/json/domains', headers: ticketHeaders(admin, false) });
    assert.equal((await readAudit()).length, count);
  });

  it('leaves anonymous calls out', async () => {
    const count = (await readAudit()).length;
    const answer = await api.app.inject({ method: 'DELETE', url: '/api2/json/domains/kept.example' });
    assert.equal(answer.statusCode, 401);
    assert.equal((await readAudit()).length, count);
  });

  it('applies the limit', async () => {
    const answer = await api.app.inject({ method: 'GET', url: '/api2/json/audit?limit=1', headers: ticketHeaders(auditor, false) });
    assert.equal(answer.json<{ data: AuditEntry[] }>().data.length, 1);
  });
});
