import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { PveGuestDirectory } from '../../daemon/src/pve/guests.js';
import { GuestWatch } from '../../daemon/src/reconcile/guest-watch.js';
import { Reconciler, type ReconcilerDeps } from '../../daemon/src/reconcile/reconciler.js';
import type { StoredService } from '../../daemon/src/store/model.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { createIngressFixture, createMemoryLogger, httpsGet, type IngressFixture } from '../proxy/fixtures.js';
import { findFreePort } from '../sandbox/ports.js';
import { startPveSimulator, startVmServers, type ContainerServers, type PveSimulator, type SimVm } from '../sandbox/pve/index.js';

/**
 * QEMU VMs whose address only the guest agent reports, driven through the PVE simulator, the
 * guest watch and a real HAProxy: routing, agent turned off or not running, a new DHCP lease.
 */

const TOKEN_SECRET = '0b7e4d2a-9c1f-4e3b-8a5d-6f2c1e0d9b8a';
const NARROW_SECRET = '7c2e9a1b-3d4f-4a5e-8b6c-1d0e2f3a4b5c';
const MAIL = 'mail.example.test';
const LEGACY = 'legacy.example.test';
const POLL_MS = 200;

let pve: PveSimulator;
let fixture: IngressFixture;
let state: StateStore;
let watch: GuestWatch;
let reconciler: Reconciler;
let guests: PveGuestDirectory;
let narrowGuests: PveGuestDirectory;
let base: string;
let port: number;
const servers: ContainerServers[] = [];

function service(fqdn: string, vmid: number): StoredService {
  return {
    fqdn,
    subdomain: fqdn.split('.')[0] ?? '',
    domain: 'example.test',
    vmid,
    port,
    createdAt: new Date().toISOString(),
    deleting: false,
    // A routed service: the watch refreshes only services whose route was applied once.
    conditions: [{ type: 'route', status: 'true', reason: 'Routed', message: '', time: new Date().toISOString() }],
    observed: { target: null },
    retry: { failures: 0, nextAttemptAt: null, lastError: null },
  };
}

async function page(hostname: string): Promise<{ status: number; body: string }> {
  const response = await httpsGet({ port: fixture.httpsPort, hostname });
  return { status: response.status, body: response.body };
}

async function within(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<number> {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - startedAt;
}

function guestCondition(fqdn: string): { status: string; reason: string; message: string } | undefined {
  return state.snapshot().services.find((item) => item.fqdn === fqdn)?.conditions.find((item) => item.type === 'guest');
}

before(async () => {
  port = await findFreePort('127.0.0.41');
  const mail: SimVm = { vmid: 401, name: 'mail', address: '127.0.0.41', port };
  const legacy: SimVm = { vmid: 402, name: 'legacy', address: '127.0.0.43', port, agent: false };
  // The server the mail VM listens on after its new DHCP lease.
  const renewed: SimVm = { vmid: 401, name: 'mail-new-lease', address: '127.0.0.42', port };
  servers.push(await startVmServers([mail, legacy, renewed]));
  pve = await startPveSimulator({ vms: [mail, legacy] });
  const tokenId = pve.addApiToken('watch@pve', 'daemon', TOKEN_SECRET, { privsep: false, privileges: { '/vms': ['VM.Audit', 'VM.GuestAgent.Audit'] } });
  const narrowId = pve.addApiToken('narrow@pve', 'daemon', NARROW_SECRET, { privsep: false, privileges: { '/vms': ['VM.Audit'] } });
  base = await mkdtemp(join(tmpdir(), 'vm-guests-'));
  await writeFile(join(base, 'token'), TOKEN_SECRET, { mode: 0o600 });
  await writeFile(join(base, 'narrow'), NARROW_SECRET, { mode: 0o600 });
  const { logger } = createMemoryLogger();
  guests = new PveGuestDirectory({ url: pve.url, tokenId, tokenSecretFile: join(base, 'token'), logger });
  narrowGuests = new PveGuestDirectory({ url: pve.url, tokenId: narrowId, tokenSecretFile: join(base, 'narrow'), logger });

  fixture = await createIngressFixture();
  await fixture.start();
  state = await StateStore.open(join(base, 'state'));
  await state.update((document) => {
    document.services.push(service(MAIL, 401), service(LEGACY, 402));
  });
  // Only the guest and route steps run here; a failed step needs the retry settings.
  const config = { reconcile: { retryMinMs: 500, retryMaxMs: 1000 } };
  const deps = { config, guests, proxy: fixture.ingress, state, logger } as unknown as ReconcilerDeps;
  reconciler = new Reconciler(deps);
  await reconciler.refreshRoute(MAIL);
  await reconciler.refreshRoute(LEGACY);
  watch = new GuestWatch({ guests, state, refresh: (fqdn) => reconciler.refreshRoute(fqdn), logger, intervalMs: POLL_MS });
  watch.start();
});

after(async () => {
  await watch?.stop();
  const running = await fixture?.cleanup();
  await pve?.stop();
  for (const item of servers) await item.stop();
  await rm(base, { recursive: true, force: true });
  assert.deepEqual(running, []);
});

describe('VMs through the guest agent', () => {
  it('routes to the agent address', async () => {
    const answer = await page(MAIL);
    assert.equal(answer.status, 200);
    assert.match(answer.body, /<h1>mail<\/h1>/);
    assert.equal(guestCondition(MAIL)?.status, 'true');
    assert.match(guestCondition(MAIL)?.message ?? '', /127\.0\.0\.41/);
  });

  it('reports a disabled agent', () => {
    const condition = guestCondition(LEGACY);
    assert.equal(condition?.status, 'false');
    assert.equal(condition?.reason, 'GuestNoAddress');
    assert.match(condition?.message ?? '', /VM 402 on node pve1 has the QEMU guest agent turned off/);
    assert.match(condition?.message ?? '', /qm set 402 --agent 1/);
  });

  it('reports an agent that does not run', async () => {
    pve.setVmAgent(402, { enabled: true, running: false });
    await reconciler.refreshRoute(LEGACY);
    const condition = guestCondition(LEGACY);
    assert.equal(condition?.reason, 'GuestNoAddress');
    assert.match(condition?.message ?? '', /QEMU guest agent is not running/);
  });

  it('routes once the agent answers', async () => {
    pve.setVmAgent(402, { running: true });
    await reconciler.refreshRoute(LEGACY);
    await within(async () => (await page(LEGACY)).status === 200);
    assert.match((await page(LEGACY)).body, /<h1>legacy<\/h1>/);
    assert.equal(guestCondition(LEGACY)?.status, 'true');
  });

  it('follows a new lease', async () => {
    const worker = fixture.ingress.workerPids[0];
    pve.setVmAddress(401, '127.0.0.42');
    const took = await within(async () => /mail-new-lease/.test((await page(MAIL)).body));
    assert.equal(fixture.ingress.workerPids[0], worker);
    assert.ok(took < 3000, `took ${took} ms`);
    assert.match(guestCondition(MAIL)?.message ?? '', /127\.0\.0\.42/);
  });

  it('serves maintenance while stopped', async () => {
    pve.setVmStatus(401, 'stopped');
    await within(async () => (await page(MAIL)).status === 503);
    assert.equal(guestCondition(MAIL)?.reason, 'GuestStopped');
    pve.setVmStatus(401, 'running');
    await within(async () => (await page(MAIL)).status === 200);
  });

  it('names a missing agent privilege', async () => {
    await assert.rejects(narrowGuests.resolveGuest(401, {}), /lacks VM\.GuestAgent\.Audit on \/vms\/401/);
  });

  it('reads the MAC of a QEMU NIC', async () => {
    const resolved = await guests.resolveGuest(401, { interface: 'net0' });
    assert.equal(resolved.type, 'qemu');
    assert.equal(resolved.source, 'agent');
    assert.equal(resolved.address, '127.0.0.42');
  });
});
