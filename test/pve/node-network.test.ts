import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { registerNode } from '../../daemon/src/cluster/node-registry.js';
import { parseConfig } from '../../daemon/src/config.js';
import { ensureDefaultSite } from '../../daemon/src/domains/sites.js';
import { PveGuestConfig, ruleComment } from '../../daemon/src/pve/guest-config.js';
import { defaultRouteAddresses, PveNodeNetwork } from '../../daemon/src/pve/node-network.js';
import { ingressSources } from '../../daemon/src/reconcile/guest-config-step.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { callApi } from '../sandbox/pve/client.js';
import { startPveSimulator, type PveSimulator } from '../sandbox/pve/index.js';

const DAEMON_SECRET = '2d8c5e6a-7f4b-4c3d-9e0f-1a2b3c4d5e6f';
const ADMIN_SECRET = '3e9d6f7b-8a5c-4d4e-8f1a-2b3c4d5e6f7a';
const NARROW_SECRET = '4fae7a8c-9b6d-4e5f-9a2b-3c4d5e6f7a8b';
const silent = pino({ level: 'silent' });

interface InterfaceItem {
  iface: string;
  type: string;
  address?: string;
  cidr?: string;
  gateway?: string;
  address6?: string;
  gateway6?: string;
  families?: string[];
}

describe('node network', () => {
  let pve: PveSimulator;
  let dir: string;
  let daemonTokenId: string;
  let narrowTokenId: string;
  let admin: { id: string; secret: string };

  async function listInterfaces(node: string, params?: Record<string, string>, token = admin): Promise<{ status: number; items: InterfaceItem[] }> {
    const answer = await callApi(pve.url, 'GET', `/nodes/${node}/network`, { token }, params);
    const items = answer.status === 200 ? (answer.json as { data: InterfaceItem[] }).data : [];
    return { status: answer.status, items };
  }

  function nodeNetwork(tokenId: string, secretFile: string): PveNodeNetwork {
    return new PveNodeNetwork({ url: pve.url, tokenId, tokenSecretFile: join(dir, secretFile) });
  }

  function daemonConfig(cluster: Record<string, unknown>, site: Record<string, unknown> = { addresses: [] }): ReturnType<typeof parseConfig> {
    return parseConfig({ clusterName: 'pve', pve: { tokenId: daemonTokenId, tokenSecretFile: join(dir, 'daemon-token') }, site, cluster });
  }

  before(async () => {
    pve = await startPveSimulator({
      otherNodes: ['pve2', 'pve3'],
      nodeNetworks: {
        pve1: { cidr: '127.0.0.9/8', gateway: '127.0.0.254', cidr6: 'fd00::9/64', gateway6: 'fd00::fe' },
        pve2: { cidr: '127.0.0.10/8' },
      },
      containers: [{ vmid: 101, hostname: 'app', address: '127.0.0.11', port: 8080 }],
    });
    daemonTokenId = pve.addApiToken('pve-domains@pve', 'daemon', DAEMON_SECRET, {
      privsep: false,
      privileges: { '/': ['Sys.Audit'], '/vms': ['VM.Audit', 'VM.Config.Network', 'VM.Config.Options'] },
    });
    narrowTokenId = pve.addApiToken('narrow@pve', 'daemon', NARROW_SECRET, { privsep: false, privileges: { '/vms': ['VM.Audit'] } });
    admin = { id: pve.addApiToken('root@pam', 'test', ADMIN_SECRET, { privsep: false }), secret: ADMIN_SECRET };
    dir = await mkdtemp(join(tmpdir(), 'node-network-'));
    await writeFile(join(dir, 'daemon-token'), `${DAEMON_SECRET}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'narrow-token'), `${NARROW_SECRET}\n`, { mode: 0o600 });
  });

  after(async () => {
    await pve.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('simulator lists bridge and port', async () => {
    const { status, items } = await listInterfaces('pve1');
    assert.equal(status, 200);
    assert.deepEqual(items.map((item) => item.iface).sort(), ['eno1', 'vmbr0']);
    const bridge = items.find((item) => item.iface === 'vmbr0');
    assert.equal(bridge?.type, 'bridge');
    assert.equal(bridge?.address, '127.0.0.9');
    assert.equal(bridge?.cidr, '127.0.0.9/8');
    assert.equal(bridge?.gateway, '127.0.0.254');
    assert.equal(bridge?.address6, 'fd00::9');
    assert.equal(bridge?.gateway6, 'fd00::fe');
    assert.deepEqual(bridge?.families, ['inet', 'inet6']);
  });

  it('simulator leaves out lo', async () => {
    const { items } = await listInterfaces('pve1');
    assert.equal(items.some((item) => item.iface === 'lo'), false);
  });

  it('simulator filters by type', async () => {
    const bridges = await listInterfaces('pve1', { type: 'bridge' });
    assert.deepEqual(bridges.items.map((item) => item.iface), ['vmbr0']);
    const ports = await listInterfaces('pve1', { type: 'eth' });
    assert.deepEqual(ports.items.map((item) => item.iface), ['eno1']);
    const anyBridge = await listInterfaces('pve1', { type: 'any_bridge' });
    assert.deepEqual(anyBridge.items.map((item) => item.iface), ['vmbr0']);
    const bonds = await listInterfaces('pve1', { type: 'bond' });
    assert.deepEqual(bonds.items, []);
  });

  it('simulator rejects unknown type', async () => {
    const { status } = await listInterfaces('pve1', { type: 'wifi' });
    assert.equal(status, 400);
  });

  it('simulator rejects unknown node', async () => {
    const { status } = await listInterfaces('pve9');
    assert.equal(status, 500);
  });

  it('simulator seeds the default address', async () => {
    const { items } = await listInterfaces('pve3');
    const bridge = items.find((item) => item.iface === 'vmbr0');
    assert.equal(bridge?.cidr, '127.0.0.1/8');
    assert.equal(bridge?.gateway, '127.0.0.254');
  });

  it('simulator hides interfaces without Sys.Audit', async () => {
    const { status, items } = await listInterfaces('pve1', undefined, { id: narrowTokenId, secret: NARROW_SECRET });
    assert.equal(status, 200);
    assert.deepEqual(items, []);
  });

  it('picks gateway interface addresses', () => {
    const picked = defaultRouteAddresses([
      { iface: 'vmbr1', address: '127.0.0.20' },
      { iface: 'vmbr0', address: '127.0.0.21', gateway: '127.0.0.254' },
      { iface: 'vmbr2', address6: 'FD00::22', gateway6: 'fd00::fe' },
    ]);
    assert.deepEqual(picked.ipv4, { iface: 'vmbr0', address: '127.0.0.21' });
    assert.deepEqual(picked.ipv6, { iface: 'vmbr2', address: 'fd00::22' });
  });

  it('reads default route addresses', async () => {
    const addresses = await nodeNetwork(daemonTokenId, 'daemon-token').defaultRouteAddresses('pve1');
    assert.deepEqual(addresses, ['127.0.0.9', 'fd00::9']);
  });

  it('rejects node without gateway', async () => {
    await assert.rejects(nodeNetwork(daemonTokenId, 'daemon-token').defaultRouteAddresses('pve2'), /Node pve2 has no interface with both a static address and a default gateway/);
  });

  it('rejects token without Sys.Audit', async () => {
    await assert.rejects(nodeNetwork(narrowTokenId, 'narrow-token').defaultRouteAddresses('pve1'), /Sys\.Audit on \/nodes\/pve1/);
  });

  it('default site from node network', async () => {
    const state = await StateStore.open(join(dir, 'site-from-node', 'state'));
    const network = nodeNetwork(daemonTokenId, 'daemon-token');
    await ensureDefaultSite(state, { name: 'default', addresses: [] }, { name: 'pve1', readAddresses: () => network.defaultRouteAddresses('pve1') });
    const site = state.snapshot().sites?.[0];
    assert.equal(site?.name, 'default');
    assert.deepEqual(site?.nodes, ['pve1']);
    assert.deepEqual(site?.addresses, ['127.0.0.9', 'fd00::9']);
    assert.equal(site?.allowPrivate, true);
    assert.equal(site?.default, true);
  });

  it('configured site addresses win', async () => {
    const state = await StateStore.open(join(dir, 'site-from-config', 'state'));
    let reads = 0;
    const readAddresses = (): Promise<string[]> => {
      reads += 1;
      return Promise.resolve(['127.0.0.9']);
    };
    await ensureDefaultSite(state, { name: 'default', addresses: ['198.51.100.20'] }, { name: 'pve1', readAddresses });
    const site = state.snapshot().sites?.[0];
    assert.deepEqual(site?.addresses, ['198.51.100.20']);
    assert.equal(site?.allowPrivate, false);
    assert.equal(reads, 0);
  });

  it('default site needs an address', async () => {
    const state = await StateStore.open(join(dir, 'site-without-address', 'state'));
    await assert.rejects(ensureDefaultSite(state, { name: 'default', addresses: [] }), /site\.addresses is empty/);
    assert.equal(state.snapshot().sites?.length ?? 0, 0);
  });

  it('registers node network address', async () => {
    const state = await StateStore.open(join(dir, 'registry-from-node', 'state'));
    const network = nodeNetwork(daemonTokenId, 'daemon-token');
    await registerNode(state, daemonConfig({ nodeName: 'pve1' }), silent, () => network.defaultRouteAddresses('pve1'));
    const record = state.snapshot().clusterNodes?.find((node) => node.name === 'pve1');
    assert.deepEqual(record?.ingressAddresses, ['127.0.0.9', 'fd00::9']);
  });

  it('configured ingress addresses win', async () => {
    const state = await StateStore.open(join(dir, 'registry-from-config', 'state'));
    const network = nodeNetwork(daemonTokenId, 'daemon-token');
    await registerNode(state, daemonConfig({ nodeName: 'pve1', ingressAddresses: ['127.0.0.40'] }), silent, () => network.defaultRouteAddresses('pve1'));
    const record = state.snapshot().clusterNodes?.find((node) => node.name === 'pve1');
    assert.deepEqual(record?.ingressAddresses, ['127.0.0.40']);
  });

  it('keeps record when network unreadable', async () => {
    const state = await StateStore.open(join(dir, 'registry-unreadable', 'state'));
    const network = nodeNetwork(daemonTokenId, 'daemon-token');
    await registerNode(state, daemonConfig({ nodeName: 'pve1' }), silent, () => network.defaultRouteAddresses('pve1'));
    await registerNode(state, daemonConfig({ nodeName: 'pve1' }), silent, () => network.defaultRouteAddresses('pve2'));
    const record = state.snapshot().clusterNodes?.find((node) => node.name === 'pve1');
    assert.deepEqual(record?.ingressAddresses, ['127.0.0.9', 'fd00::9']);
  });

  it('firewall rule accepts node address', async () => {
    const state = await StateStore.open(join(dir, 'registry-rule', 'state'));
    const network = nodeNetwork(daemonTokenId, 'daemon-token');
    const readPve1 = (): Promise<string[]> => network.defaultRouteAddresses('pve1');
    const readPve3 = (): Promise<string[]> => network.defaultRouteAddresses('pve3');
    await registerNode(state, daemonConfig({ nodeName: 'pve1' }), silent, readPve1);
    await registerNode(state, daemonConfig({ nodeName: 'pve3' }), silent, readPve3);
    const sources = ingressSources(state.snapshot());
    assert.deepEqual(sources, ['127.0.0.1', '127.0.0.9', 'fd00::9']);

    const enable = await callApi(pve.url, 'PUT', '/nodes/pve1/lxc/101/firewall/options', { token: admin }, { enable: 1 });
    assert.equal(enable.status, 200, enable.text);
    const guestConfig = new PveGuestConfig({ url: pve.url, tokenId: daemonTokenId, tokenSecretFile: join(dir, 'daemon-token'), logger: silent });
    const fqdn = 'app.example.com';
    const outcome = await guestConfig.ensureServiceRule({ vmid: 101, node: 'pve1', type: 'lxc' }, { fqdn, port: 8080, sources });
    assert.equal(outcome, 'created');

    const answer = await callApi(pve.url, 'GET', '/nodes/pve1/lxc/101/firewall/rules', { token: admin });
    const rules = (answer.json as { data: Array<{ comment?: string; source?: string; enable?: number }> }).data;
    const rule = rules.find((item) => item.comment === ruleComment(fqdn));
    assert.equal(rule?.source, '127.0.0.1,127.0.0.9,fd00::9');
    assert.equal(rule?.enable, 1);
  });
});
