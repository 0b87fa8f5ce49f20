import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccessCache } from '../../daemon/src/auth/access-cache.js';
import type { Credential } from '../../daemon/src/auth/credentials.js';
import { AccessError } from '../../daemon/src/auth/errors.js';
import type { PermissionSource, PermissionTree } from '../../daemon/src/auth/pve-permissions.js';
import { startSecuredApi, ticketHeaders, tokenHeaders, userSession, type SecuredApi } from '../api/fixtures.js';

const ticket: Credential = { kind: 'ticket', ticket: 'PVE:admin@pve:6650A1B2::c2ln', userid: 'admin@pve', issuedAt: 0x6650a1b2 };
const other: Credential = { kind: 'ticket', ticket: 'PVE:other@pve:6650A1B2::c2ln', userid: 'other@pve', issuedAt: 0x6650a1b2 };

/** A permission source that records its calls and returns a fixed tree. */
class RecordingSource implements PermissionSource {
  readonly calls: Array<{ credential: Credential; path: string | undefined }> = [];
  reject = false;

  constructor(private readonly tree: PermissionTree, private readonly paths: Record<string, PermissionTree> = {}) {}

  fetchPermissions(credential: Credential, path?: string): Promise<PermissionTree> {
    this.calls.push({ credential, path });
    if (this.reject) return Promise.reject(new AccessError(401, 'Authentication failed!'));
    return Promise.resolve(path === undefined ? this.tree : (this.paths[path] ?? {}));
  }
}

describe('access cache', () => {
  it('reuses an answer within its lifetime', async () => {
    const source = new RecordingSource({ '/': { 'Sys.Audit': 1 } });
    let now = 0;
    const cache = new AccessCache(source, { ttlMs: 15_000, now: () => now });
    await cache.resolve(ticket);
    now = 14_999;
    const access = await cache.resolve(ticket);
    assert.equal(source.calls.length, 1);
    assert.equal(await access.has('/', 'Sys.Audit'), true);
  });

  it('asks again after its lifetime', async () => {
    const source = new RecordingSource({ '/': { 'Sys.Audit': 1 } });
    let now = 0;
    const cache = new AccessCache(source, { ttlMs: 15_000, now: () => now });
    await cache.resolve(ticket);
    now = 15_000;
    await cache.resolve(ticket);
    assert.equal(source.calls.length, 2);
  });

  it('keeps callers apart', async () => {
    const source = new RecordingSource({ '/': { 'Sys.Audit': 1 } });
    const cache = new AccessCache(source, { ttlMs: 15_000 });
    const first = await cache.resolve(ticket);
    const second = await cache.resolve(other);
    assert.equal(source.calls.length, 2);
    assert.equal(first.authid, 'admin@pve');
    assert.equal(second.authid, 'other@pve');
  });

  it('does not cache a rejection', async () => {
    const source = new RecordingSource({});
    source.reject = true;
    const cache = new AccessCache(source, { ttlMs: 15_000 });
    await assert.rejects(cache.resolve(ticket), AccessError);
    await assert.rejects(cache.resolve(ticket), AccessError);
    assert.equal(source.calls.length, 2);
  });

  it('asks for an unlisted path once', async () => {
    const source = new RecordingSource({ '/vms': { 'VM.Audit': 1 } }, { '/vms/101': { '/vms/101': { 'VM.Audit': 1 } } });
    const cache = new AccessCache(source, { ttlMs: 15_000 });
    const access = await cache.resolve(ticket);
    assert.equal(await access.has('/vms/101', 'VM.Audit'), true);
    assert.equal(await (await cache.resolve(ticket)).has('/vms/101', 'VM.Audit'), true);
    assert.deepEqual(
      source.calls.map((call) => call.path),
      [undefined, '/vms/101'],
    );
  });

  it('treats a listed flag of 0 as granted', async () => {
    const source = new RecordingSource({ '/': { 'Sys.Audit': 0 } });
    const access = await new AccessCache(source, { ttlMs: 15_000 }).resolve(ticket);
    assert.equal(await access.has('/', 'Sys.Audit'), true);
    assert.equal(await access.has('/', 'Sys.Modify'), false);
  });

  it('drops the oldest beyond its bound', async () => {
    const source = new RecordingSource({});
    const cache = new AccessCache(source, { ttlMs: 15_000, maxEntries: 1 });
    await cache.resolve(ticket);
    await cache.resolve(other);
    await cache.resolve(ticket);
    assert.equal(source.calls.length, 3);
  });
});

describe('access cache with pveproxy', () => {
  let api: SecuredApi;

  before(async () => {
    api = await startSecuredApi();
  });

  after(async () => {
    await api.stop();
  });

  it('makes no call for a second ticket request', async () => {
    const session = await userSession(api.pve, 'cached@pve', { '/': ['Sys.Audit'] });
    const first = await api.app.inject({ method: 'GET', url: '/api2/json/domains', headers: ticketHeaders(session, false) });
    assert.equal(first.statusCode, 200);
    const calls = api.permissionCalls();
    const second = await api.app.inject({ method: 'GET', url: '/api2/json/domains', headers: ticketHeaders(session, false) });
    assert.equal(second.statusCode, 200);
    assert.equal(api.permissionCalls(), calls);
  });

  it('makes no call for a second token request', async () => {
    const secret = '5f0c3a9e-1b2d-4c3e-8f4a-6b7c8d9e0f1a';
    const tokenId = api.pve.addApiToken('robot@pve', 'reader', secret, { privsep: false, privileges: { '/': ['Sys.Audit'] } });
    await api.app.inject({ method: 'GET', url: '/api2/json/domains', headers: tokenHeaders(tokenId, secret) });
    const calls = api.permissionCalls();
    const second = await api.app.inject({ method: 'GET', url: '/api2/json/domains', headers: tokenHeaders(tokenId, secret) });
    assert.equal(second.statusCode, 200);
    assert.equal(api.permissionCalls(), calls);
  });

  it('sends the credential to pveproxy only', async () => {
    const session = await userSession(api.pve, 'logged@pve', { '/': ['Sys.Audit'] });
    const before = api.pve.requestLog.length;
    await api.app.inject({ method: 'GET', url: '/api2/json/domains', headers: ticketHeaders(session, false) });
    const entries = api.pve.requestLog.slice(before);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.path, '/api2/json/access/permissions');
    assert.equal(entries[0]?.auth, 'ticket');
  });
});
