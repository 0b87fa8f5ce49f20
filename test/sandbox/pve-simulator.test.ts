import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import proxmoxApi from 'proxmox-api';

import { findFreePort } from './ports.js';
import { callApi, login, type ApiCredentials } from './pve/client.js';
import { startContainerServers, startPveSimulator, type PveSimulator, type SimContainer } from './pve/index.js';

const ADMIN_TOKEN_SECRET = '5f0c2a8e-3b7d-4c1e-9f6a-2d8b0e4c7a13';
const AUDITOR_TOKEN_SECRET = '9a4e7c21-0b3f-4d58-8e6a-1c2b3d4e5f60';
const HOUR_MS = 3600 * 1000;

interface Envelope {
  data: unknown;
  message?: string;
  errors?: Record<string, string>;
}

function envelope(response: { json: unknown }): Envelope {
  return response.json as Envelope;
}

describe('PVE simulator', () => {
  let simulator: PveSimulator;
  let clock = Date.now();
  let adminToken: ApiCredentials;
  let auditorToken: ApiCredentials;

  const containers: SimContainer[] = [
    { vmid: 101, hostname: 'web', address: '127.0.0.101', port: 8080, tags: ['Prod', 'web'] },
    { vmid: 102, hostname: 'db', address: '127.0.0.102', port: 8080, status: 'stopped' },
    { vmid: 103, hostname: 'secret', address: '127.0.0.103', port: 8080 },
  ];

  before(async () => {
    simulator = await startPveSimulator({ containers, now: () => clock });
    simulator.addUser('root@pam', 'root-password', {});
    simulator.addUser('admin@pve', 'admin-password', {
      '/vms/101': ['VM.Audit', 'VM.Config.Options', 'VM.Config.Network'],
      '/vms/102': ['VM.Audit'],
      '/nodes': ['Sys.Audit'],
    });
    simulator.addUser('memory@pve', 'memory-password', { '/vms': ['VM.Audit', 'VM.Config.Memory'] });
    simulator.addUser('auditor@pve', 'auditor-password', { '/': ['Sys.Audit'], '/vms': ['VM.Audit'] });
    adminToken = {
      token: { id: simulator.addApiToken('admin@pve', 'daemon', ADMIN_TOKEN_SECRET, { privsep: false }), secret: ADMIN_TOKEN_SECRET },
    };
    auditorToken = {
      token: {
        id: simulator.addApiToken('auditor@pve', 'narrow', AUDITOR_TOKEN_SECRET, { privileges: { '/vms/103': ['VM.Audit', 'VM.Allocate'] } }),
        secret: AUDITOR_TOKEN_SECRET,
      },
    };
  });

  after(async () => {
    await simulator.stop();
  });

  beforeEach(() => {
    clock = Date.now();
  });

  describe('login', () => {
    test('returns ticket, CSRF token and cap', async () => {
      const response = await callApi(simulator.url, 'POST', '/access/ticket', {}, { username: 'admin@pve', password: 'admin-password' });
      const data = envelope(response).data as Record<string, unknown>;
      assert.equal(response.status, 200);
      assert.match(String(data.ticket), /^PVE:admin@pve:[0-9A-F]{8}::[A-Za-z0-9+/=]+$/);
      assert.match(String(data.CSRFPreventionToken), /^[0-9A-F]{8}:[A-Za-z0-9+/]+$/);
      assert.equal(data.username, 'admin@pve');
      assert.deepEqual((data.cap as Record<string, unknown>).vms, { 'VM.Audit': 1, 'VM.Config.Network': 1, 'VM.Config.Options': 1 });
    });

    test('accepts realm parameter', async () => {
      const response = await callApi(simulator.url, 'POST', '/access/ticket', {}, { username: 'admin', realm: 'pve', password: 'admin-password' });
      assert.equal(response.status, 200);
      assert.equal((envelope(response).data as Record<string, unknown>).username, 'admin@pve');
    });

    test('wrong password is 401', async () => {
      const response = await callApi(simulator.url, 'POST', '/access/ticket', {}, { username: 'admin@pve', password: 'wrong' });
      assert.equal(response.status, 401);
      assert.equal(response.statusText, 'authentication failure');
      assert.equal(envelope(response).data, null);
    });

    test('unknown user is 401', async () => {
      const response = await callApi(simulator.url, 'POST', '/access/ticket', {}, { username: 'nobody@pve', password: 'x' });
      assert.equal(response.status, 401);
    });

    test('ticket renews itself', async () => {
      const { ticket } = await login(simulator.url, 'admin@pve', 'admin-password');
      const response = await callApi(simulator.url, 'POST', '/access/ticket', {}, { username: 'admin@pve', password: ticket });
      assert.equal(response.status, 200);
    });

    test('API token is rejected', async () => {
      const response = await callApi(simulator.url, 'POST', '/access/ticket', adminToken, { username: 'admin@pve', password: 'admin-password' });
      assert.equal(response.status, 403);
      assert.match(String(envelope(response).message), /not available with API token, need proper ticket/);
    });
  });

  describe('ticket use', () => {
    test('cookie ticket reads', async () => {
      const { ticket } = await login(simulator.url, 'admin@pve', 'admin-password');
      const response = await callApi(simulator.url, 'GET', '/version', { ticket });
      assert.equal(response.status, 200);
      assert.equal(response.contentType, 'application/json;charset=UTF-8');
      assert.equal((envelope(response).data as Record<string, unknown>).release, '9.1');
    });

    test('ticket in Authorization header reads', async () => {
      const { ticket } = await login(simulator.url, 'admin@pve', 'admin-password');
      const response = await fetch(`${simulator.url}/api2/json/version`, { headers: { Authorization: `PVEAuthCookie=${ticket}` } });
      assert.equal(response.status, 200);
    });

    test('missing ticket is 401 without body', async () => {
      const response = await callApi(simulator.url, 'GET', '/version');
      assert.equal(response.status, 401);
      assert.equal(response.statusText, 'No ticket');
      assert.equal(response.text, '');
    });

    test('tampered ticket is 401', async () => {
      const { ticket } = await login(simulator.url, 'admin@pve', 'admin-password');
      const tampered = ticket.replace('admin@pve', 'root@pam');
      const response = await callApi(simulator.url, 'GET', '/version', { ticket: tampered });
      assert.equal(response.status, 401);
      assert.equal(response.statusText, 'Authentication failed!');
    });

    test('ticket expires after two hours', async () => {
      const { ticket } = await login(simulator.url, 'admin@pve', 'admin-password');
      clock += 2 * HOUR_MS - 60_000;
      const fresh = await callApi(simulator.url, 'GET', '/version', { ticket });
      clock += 120_000;
      const expired = await callApi(simulator.url, 'GET', '/version', { ticket });
      assert.equal(fresh.status, 200);
      assert.equal(expired.status, 401);
    });
  });

  describe('CSRF', () => {
    test('write without CSRF token is 401', async () => {
      const { ticket } = await login(simulator.url, 'admin@pve', 'admin-password');
      const response = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', { ticket }, { description: 'no csrf' });
      assert.equal(response.status, 401);
      assert.equal(response.statusText, 'Permission denied - invalid csrf token');
    });

    test('write with CSRF token succeeds', async () => {
      const { ticket, csrfToken } = await login(simulator.url, 'admin@pve', 'admin-password');
      const response = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', { ticket, csrfToken }, { description: 'with csrf' });
      assert.equal(response.status, 200);
      assert.equal(envelope(response).data, null);
    });

    test("another user's CSRF token is 401", async () => {
      const { ticket } = await login(simulator.url, 'admin@pve', 'admin-password');
      const { csrfToken } = await login(simulator.url, 'auditor@pve', 'auditor-password');
      const response = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', { ticket, csrfToken }, { description: 'x' });
      assert.equal(response.status, 401);
    });
  });

  describe('API tokens', () => {
    test('token writes without CSRF token', async () => {
      const response = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', adminToken, { description: 'by token' });
      assert.equal(response.status, 200);
    });

    test('wrong secret is 401', async () => {
      const wrong = { token: { id: 'admin@pve!daemon', secret: '00000000-0000-0000-0000-000000000000' } };
      const response = await callApi(simulator.url, 'GET', '/version', wrong);
      assert.equal(response.status, 401);
      assert.equal(response.statusText, 'Authentication failed!');
      assert.equal(response.text, '');
    });

    test('token creates missing user', async () => {
      const secret = '7b1d3e5f-2a4c-4e6a-8c0e-1f3a5c7e9b2d';
      const id = simulator.addApiToken('service@pve', 'daemon', secret, { privsep: false, privileges: { '/vms': ['VM.Audit'] } });
      const response = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/103/config', { token: { id, secret } });
      assert.equal(id, 'service@pve!daemon');
      assert.equal(response.status, 200);
    });

    test('unknown token is 401', async () => {
      const unknown = { token: { id: 'admin@pve!other', secret: ADMIN_TOKEN_SECRET } };
      const response = await callApi(simulator.url, 'GET', '/version', unknown);
      assert.equal(response.status, 401);
    });

    test('privsep token gets intersection', async () => {
      const allowed = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/103/config', auditorToken);
      const outside = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/101/config', auditorToken);
      const permissions = await callApi(simulator.url, 'GET', '/access/permissions', auditorToken, { path: '/vms/103' });
      assert.equal(allowed.status, 200);
      assert.equal(outside.status, 403);
      // VM.Allocate is in the token's ACL but not the user's, so the token does not get it.
      assert.deepEqual(envelope(permissions).data, { '/vms/103': { 'VM.Audit': 1 } });
    });
  });

  describe('permissions', () => {
    test('missing privilege is 403', async () => {
      const response = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/103/config', adminToken);
      assert.equal(response.status, 403);
      assert.equal(response.statusText, 'Permission check failed (/vms/103, VM.Audit)');
      assert.equal(envelope(response).data, null);
    });

    test('tags need VM.Config.Options', async () => {
      const { ticket, csrfToken } = await login(simulator.url, 'memory@pve', 'memory-password');
      const tags = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', { ticket, csrfToken }, { tags: 'x' });
      const memory = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/102/config', { ticket, csrfToken }, { memory: 1024 });
      assert.equal(tags.status, 403);
      assert.equal(envelope(tags).message, 'Permission check failed (/vms/101, VM.Config.Options)\n');
      assert.equal(memory.status, 200);
    });

    test('write without any config privilege is 403', async () => {
      const { ticket, csrfToken } = await login(simulator.url, 'auditor@pve', 'auditor-password');
      const response = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', { ticket, csrfToken }, { tags: 'x' });
      assert.equal(response.status, 403);
      assert.match(response.statusText, /^Permission check failed \(\/vms\/101, VM\.Config\.Disk\|VM\.Config\.CPU\|/);
    });

    test('own permissions without path', async () => {
      const response = await callApi(simulator.url, 'GET', '/access/permissions', adminToken);
      const data = envelope(response).data as Record<string, Record<string, number>>;
      assert.equal(response.status, 200);
      assert.deepEqual(data['/vms/101'], { 'VM.Audit': 1, 'VM.Config.Network': 1, 'VM.Config.Options': 1 });
      assert.equal(data['/vms/103'], undefined);
      assert.deepEqual(data['/nodes'], { 'Sys.Audit': 1 });
    });

    test('permissions of path without grants', async () => {
      const response = await callApi(simulator.url, 'GET', '/access/permissions', adminToken, { path: '/vms/103' });
      assert.deepEqual(envelope(response).data, { '/vms/103': {} });
    });

    test('other user needs Sys.Audit on /access', async () => {
      const denied = await callApi(simulator.url, 'GET', '/access/permissions', adminToken, { userid: 'auditor@pve' });
      const { ticket } = await login(simulator.url, 'auditor@pve', 'auditor-password');
      const allowed = await callApi(simulator.url, 'GET', '/access/permissions', { ticket }, { userid: 'admin@pve', path: '/vms/101' });
      assert.equal(denied.status, 403);
      assert.equal(allowed.status, 200);
    });

    test('user reads own token permissions', async () => {
      const { ticket } = await login(simulator.url, 'auditor@pve', 'auditor-password');
      const response = await callApi(simulator.url, 'GET', '/access/permissions', { ticket }, { userid: 'auditor@pve!narrow', path: '/vms/101' });
      assert.equal(response.status, 200);
      assert.deepEqual(envelope(response).data, { '/vms/101': {} });
    });

    test('root@pam has every privilege', async () => {
      const { ticket } = await login(simulator.url, 'root@pam', 'root-password');
      const response = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/103/config', { ticket });
      assert.equal(response.status, 200);
    });
  });

  describe('containers', () => {
    test('running container interfaces', async () => {
      const response = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/101/interfaces', adminToken);
      const data = envelope(response).data as Array<Record<string, unknown>>;
      assert.equal(response.status, 200);
      assert.deepEqual(data.map((item) => item.name), ['lo', 'eth0']);
      assert.equal(data[0]?.inet, '127.0.0.1/8');
      assert.equal(data[1]?.inet, '127.0.0.101/8');
      assert.deepEqual((data[1]?.['ip-addresses'] as unknown[])[0], { 'ip-address': '127.0.0.101', 'ip-address-type': 'inet', prefix: 8 });
    });

    test('stopped container interfaces are null', async () => {
      const response = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/102/interfaces', adminToken);
      assert.equal(response.status, 200);
      assert.equal(envelope(response).data, null);
    });

    test('status change shows in interfaces', async () => {
      simulator.setContainerStatus(101, 'stopped');
      const stopped = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/101/interfaces', adminToken);
      simulator.setContainerStatus(101, 'running');
      const running = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/101/interfaces', adminToken);
      assert.equal(envelope(stopped).data, null);
      assert.ok(Array.isArray(envelope(running).data));
    });

    test('config has net0, tags and digest', async () => {
      const response = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/101/config', adminToken);
      const data = envelope(response).data as Record<string, unknown>;
      assert.match(String(data.net0), /^name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},ip=127\.0\.0\.101\/8,type=veth$/);
      assert.equal(data.hostname, 'web');
      assert.equal(data.tags, 'prod;web');
      assert.match(String(data.digest), /^[0-9a-f]{40}$/);
    });

    test('tags update, normalize and delete', async () => {
      await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', adminToken, { tags: 'Web, b-tag;web' });
      const updated = envelope(await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/101/config', adminToken)).data as Record<string, unknown>;
      await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', adminToken, { delete: 'tags' });
      const deleted = envelope(await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/101/config', adminToken)).data as Record<string, unknown>;
      assert.equal(updated.tags, 'b-tag;web');
      assert.equal(deleted.tags, undefined);
    });

    test('stale digest is rejected', async () => {
      const before = envelope(await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/101/config', adminToken)).data as Record<string, string>;
      const first = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', adminToken, { description: 'one', digest: String(before.digest) });
      const second = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', adminToken, { description: 'two', digest: String(before.digest) });
      assert.equal(first.status, 200);
      assert.equal(second.status, 500);
      assert.equal(second.statusText, 'detected modified configuration - file changed by other user? Try again.');
    });

    test('invalid tag is 400', async () => {
      const response = await callApi(simulator.url, 'PUT', '/nodes/pve1/lxc/101/config', adminToken, { tags: 'bad!tag' });
      assert.equal(response.status, 400);
      assert.equal(envelope(response).errors?.tags, 'invalid format - invalid characters in tag\n');
    });

    test('unknown container errors', async () => {
      const response = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/999/config', { token: { id: 'admin@pve!daemon', secret: ADMIN_TOKEN_SECRET } });
      assert.equal(response.status, 403);
      const { ticket } = await login(simulator.url, 'root@pam', 'root-password');
      const asRoot = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc/999/config', { ticket });
      assert.equal(asRoot.status, 500);
      assert.equal(asRoot.statusText, "Configuration file 'nodes/pve1/lxc/999.conf' does not exist");
    });

    test('node list filters containers', async () => {
      const response = await callApi(simulator.url, 'GET', '/nodes/pve1/lxc', adminToken);
      const data = envelope(response).data as Array<Record<string, unknown>>;
      assert.deepEqual(data.map((item) => item.vmid), [101, 102]);
    });
  });

  describe('cluster resources', () => {
    test('filters by privilege', async () => {
      const response = await callApi(simulator.url, 'GET', '/cluster/resources', adminToken);
      const ids = (envelope(response).data as Array<Record<string, unknown>>).map((item) => item.id);
      assert.deepEqual(ids, ['lxc/101', 'lxc/102', 'node/pve1']);
    });

    test('type=vm returns guests only', async () => {
      const response = await callApi(simulator.url, 'GET', '/cluster/resources', auditorToken, { type: 'vm' });
      const data = envelope(response).data as Array<Record<string, unknown>>;
      assert.deepEqual(data.map((item) => item.id), ['lxc/103']);
      assert.equal(data[0]?.status, 'running');
    });

    test('type=node returns the node', async () => {
      const response = await callApi(simulator.url, 'GET', '/cluster/resources', adminToken, { type: 'node' });
      const data = envelope(response).data as Array<Record<string, unknown>>;
      assert.equal(data.length, 1);
      assert.equal(data[0]?.node, 'pve1');
      assert.equal(typeof data[0]?.maxmem, 'number');
    });

    test('invalid type is 400', async () => {
      const response = await callApi(simulator.url, 'GET', '/cluster/resources', adminToken, { type: 'qemu' });
      assert.equal(response.status, 400);
      assert.equal(envelope(response).message, 'Parameter verification failed.\n');
      assert.equal(envelope(response).errors?.type, "value 'qemu' does not have a value in the enumeration 'vm, storage, node, sdn'");
    });
  });

  describe('firewall rules', () => {
    test('create inserts disabled rule at top', async () => {
      const path = '/nodes/pve1/lxc/101/firewall/rules';
      await callApi(simulator.url, 'POST', path, adminToken, { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22' });
      await callApi(simulator.url, 'POST', path, adminToken, { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '80', enable: 1 });
      const rules = envelope(await callApi(simulator.url, 'GET', path, adminToken)).data as Array<Record<string, unknown>>;
      assert.equal(rules[0]?.dport, '80');
      assert.equal(rules[0]?.enable, 1);
      assert.equal(rules[0]?.pos, 0);
      assert.equal(rules[1]?.dport, '22');
      assert.equal(rules[1]?.enable, 0);
      assert.equal(rules[0]?.digest, rules[1]?.digest);
    });

    test('delete checks digest', async () => {
      const path = '/nodes/pve1/lxc/101/firewall/rules';
      await callApi(simulator.url, 'POST', path, adminToken, { type: 'out', action: 'DROP' });
      const rules = envelope(await callApi(simulator.url, 'GET', path, adminToken)).data as Array<Record<string, unknown>>;
      const stale = await callApi(simulator.url, 'DELETE', `${path}/0`, adminToken, { digest: '0'.repeat(40) });
      const removed = await callApi(simulator.url, 'DELETE', `${path}/0`, adminToken, { digest: String(rules[0]?.digest) });
      const left = envelope(await callApi(simulator.url, 'GET', path, adminToken)).data as unknown[];
      assert.equal(stale.status, 500);
      assert.equal(removed.status, 200);
      assert.equal(left.length, rules.length - 1);
    });

    test('create needs VM.Config.Network', async () => {
      const response = await callApi(simulator.url, 'POST', '/nodes/pve1/lxc/102/firewall/rules', adminToken, { type: 'in', action: 'ACCEPT' });
      assert.equal(response.status, 403);
      assert.equal(response.statusText, 'Permission check failed (/vms/102, VM.Config.Network)');
    });

    test('missing action is 400', async () => {
      const response = await callApi(simulator.url, 'POST', '/nodes/pve1/lxc/101/firewall/rules', adminToken, { type: 'in' });
      assert.equal(response.status, 400);
      assert.equal(envelope(response).errors?.action, 'property is missing and it is not optional');
    });
  });

  describe('HTTP layer', () => {
    test('unknown path is 501', async () => {
      const response = await callApi(simulator.url, 'GET', '/no/such/path', adminToken);
      assert.equal(response.status, 501);
      assert.equal(envelope(response).message, "Method 'GET /no/such/path' not implemented");
    });

    test('extjs format wraps data', async () => {
      const token = adminToken.token;
      assert.ok(token !== undefined);
      const response = await fetch(`${simulator.url}/api2/extjs/version`, { headers: { Authorization: `PVEAPIToken=${token.id}=${token.secret}` } });
      const body = (await response.json()) as { success?: number; data?: { version?: string } };
      assert.equal(response.status, 200);
      assert.equal(body.success, 1);
      assert.equal(typeof body.data?.version, 'string');
    });

    test('extjs format answers errors with 200', async () => {
      const token = adminToken.token;
      assert.ok(token !== undefined);
      const response = await fetch(`${simulator.url}/api2/extjs/nodes/pve1/lxc/103/config`, { headers: { Authorization: `PVEAPIToken=${token.id}=${token.secret}` } });
      const body = (await response.json()) as { success?: number; status?: number; message?: string; data?: unknown };
      assert.equal(response.status, 200);
      assert.equal(body.success, 0);
      assert.equal(body.status, 403);
      assert.match(body.message ?? '', /^Permission check failed/);
      assert.equal(body.data, null);
    });

    test('extjs format keeps 401', async () => {
      const response = await fetch(`${simulator.url}/api2/extjs/version`);
      assert.equal(response.status, 401);
    });

    test('unknown method is 501', async () => {
      const response = await fetch(`${simulator.url}/api2/json/version`, { method: 'PATCH' });
      assert.equal(response.status, 501);
      assert.equal(response.statusText, "method 'PATCH' not available");
    });

    test('401 waits for configured delay', async () => {
      const delayed = await startPveSimulator({ unauthorizedDelayMs: 150 });
      try {
        const started = Date.now();
        const response = await callApi(delayed.url, 'GET', '/version');
        const elapsed = Date.now() - started;
        assert.equal(response.status, 401);
        assert.ok(elapsed >= 140, `401 came after ${elapsed} ms`);
      } finally {
        await delayed.stop();
      }
    });

    test('request log records calls', async () => {
      const before = simulator.requestLog.length;
      await callApi(simulator.url, 'GET', '/version', adminToken);
      const entry = simulator.requestLog[before];
      assert.deepEqual(entry, { method: 'GET', path: '/api2/json/version', status: 200, auth: 'token' });
    });
  });

  describe('proxmox-api package', () => {
    test('reads interfaces and config with token', async () => {
      const token = adminToken.token;
      assert.ok(token);
      const api = proxmoxApi({ host: simulator.host, port: simulator.port, schema: 'http', tokenID: token.id, tokenSecret: token.secret });
      const interfaces = await api.nodes.$(simulator.nodeName).lxc.$(101).interfaces.$get();
      const config = await api.nodes.$(simulator.nodeName).lxc.$(101).config.$get();
      assert.deepEqual(interfaces.map((item) => item.name), ['lo', 'eth0']);
      assert.equal(config.hostname, 'web');
    });

    test('writes config with password login', async () => {
      const api = proxmoxApi({ host: simulator.host, port: simulator.port, schema: 'http', username: 'admin@pve', password: 'admin-password' });
      await api.nodes.$(simulator.nodeName).lxc.$(101).config.$put({ description: 'from proxmox-api' });
      const config = await api.nodes.$(simulator.nodeName).lxc.$(101).config.$get();
      assert.equal(config.description, 'from proxmox-api');
    });
  });
});

describe('container stand-in servers', () => {
  test('answer GET with hostname', async () => {
    const port = await findFreePort('127.0.0.201');
    const servers = await startContainerServers([
      { vmid: 201, hostname: 'blog', address: '127.0.0.201', port },
      { vmid: 202, hostname: 'shop', address: '127.0.0.202', port },
    ]);
    try {
      const blog = await fetch(`http://127.0.0.201:${port}/any/path`);
      const shop = await fetch(`http://127.0.0.202:${port}/`);
      assert.equal(blog.status, 200);
      assert.equal(blog.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(await blog.text(), /<h1>blog<\/h1>/);
      assert.match(await shop.text(), /<h1>shop<\/h1>/);
    } finally {
      await servers.stop();
    }
  });

  test('reject POST with 405', async () => {
    const port = await findFreePort('127.0.0.203');
    const servers = await startContainerServers([{ vmid: 203, hostname: 'api', address: '127.0.0.203', port }]);
    try {
      const response = await fetch(`http://127.0.0.203:${port}/`, { method: 'POST', body: 'x' });
      assert.equal(response.status, 405);
    } finally {
      await servers.stop();
    }
  });

  test('port in use fails to start', async () => {
    const port = await findFreePort('127.0.0.204');
    const first = await startContainerServers([{ vmid: 204, hostname: 'a', address: '127.0.0.204', port }]);
    try {
      await assert.rejects(startContainerServers([{ vmid: 205, hostname: 'b', address: '127.0.0.204', port }]), /cannot start the stand-in for container 205/);
    } finally {
      await first.stop();
    }
  });
});
