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
import { startEchoTarget, type EchoAnswer, type EchoTarget } from '../ingress/echo-target.js';
import { createIngressFixture, createMemoryLogger, httpsGet, type IngressFixture } from '../proxy/fixtures.js';
import { findFreePort } from '../sandbox/ports.js';
import { startPveSimulator, type PveSimulator } from '../sandbox/pve/index.js';

/**
 * Guests that migrate, change their DHCP address, stop, start, vanish or collide, driven through
 * the PVE simulator, the guest watch and a real HAProxy.
 */

const TOKEN_SECRET = '5f0c7a4e-2b1d-4c8e-9a6f-3d2e1b0c9a8f';
const FQDN = 'app.example.test';
const OTHER = 'other.example.test';
const POLL_MS = 200;

let pve: PveSimulator;
let fixture: IngressFixture;
let state: StateStore;
let watch: GuestWatch;
let reconciler: Reconciler;
let base: string;
const targets: EchoTarget[] = [];
let port: number;

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

async function page(hostname = FQDN): Promise<{ status: number; name: string | null }> {
  const response = await httpsGet({ port: fixture.httpsPort, hostname });
  if (response.status !== 200) return { status: response.status, name: null };
  return { status: 200, name: (JSON.parse(response.body) as EchoAnswer).name };
}

/** Polls until `check` holds and returns the time it took. */
async function within(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<number> {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - startedAt;
}

function guestCondition(fqdn = FQDN): { status: string; reason: string; message: string } | undefined {
  return state.snapshot().services.find((item) => item.fqdn === fqdn)?.conditions.find((item) => item.type === 'guest');
}

before(async () => {
  port = await findFreePort('127.0.0.21');
  targets.push(await startEchoTarget('127.0.0.21', 'first', port));
  targets.push(await startEchoTarget('127.0.0.22', 'second', port));
  targets.push(await startEchoTarget('127.0.0.23', 'third', port));
  pve = await startPveSimulator({
    otherNodes: ['pve2'],
    containers: [
      { vmid: 201, hostname: 'app', address: '127.0.0.21', port },
      { vmid: 202, hostname: 'other', address: '127.0.0.23', port },
    ],
  });
  const tokenId = pve.addApiToken('watch@pve', 'daemon', TOKEN_SECRET, { privsep: false, privileges: { '/vms': ['VM.Audit'] } });
  base = await mkdtemp(join(tmpdir(), 'guest-moves-'));
  await writeFile(join(base, 'token'), TOKEN_SECRET, { mode: 0o600 });
  const { logger } = createMemoryLogger();
  const guests = new PveGuestDirectory({ url: pve.url, tokenId, tokenSecretFile: join(base, 'token'), logger });

  fixture = await createIngressFixture();
  await fixture.start();
  state = await StateStore.open(join(base, 'state'));
  await state.update((document) => {
    document.services.push(service(FQDN, 201), service(OTHER, 202));
  });
  // Only the guest and route steps run here; the other dependencies are never called.
  const deps = { guests, proxy: fixture.ingress, state, logger } as unknown as ReconcilerDeps;
  reconciler = new Reconciler(deps);
  await reconciler.refreshRoute(FQDN);
  await reconciler.refreshRoute(OTHER);
  watch = new GuestWatch({ guests, state, refresh: (fqdn) => reconciler.refreshRoute(fqdn), logger, intervalMs: POLL_MS });
  watch.start();
});

after(async () => {
  await watch?.stop();
  const running = await fixture?.cleanup();
  await pve?.stop();
  for (const target of targets) await target.close();
  await rm(base, { recursive: true, force: true });
  assert.deepEqual(running, []);
});

describe('guests that move', () => {
  it('routes to the static address', async () => {
    assert.deepEqual(await page(), { status: 200, name: 'first' });
    assert.equal(guestCondition()?.status, 'true');
  });

  it('follows a migration', async () => {
    const worker = fixture.ingress.workerPids[0];
    pve.migrateContainer(201, 'pve2');
    const took = await within(() => state.snapshot().services.find((item) => item.fqdn === FQDN)?.observed.targets?.[0]?.node === 'pve2');
    assert.deepEqual(await page(), { status: 200, name: 'first' });
    assert.equal(fixture.ingress.workerPids[0], worker);
    assert.ok(took < 3000, `took ${took} ms`);
  });

  it('follows a dhcp change', async () => {
    const worker = fixture.ingress.workerPids[0];
    pve.setContainerAddress(201, '127.0.0.22', { dhcp: true });
    const took = await within(async () => (await page()).name === 'second');
    assert.equal(fixture.ingress.workerPids[0], worker);
    assert.ok(took < 3000, `took ${took} ms`);
  });

  it('serves maintenance while stopped', async () => {
    pve.setContainerStatus(201, 'stopped');
    await within(async () => (await page()).status === 503);
    assert.equal(guestCondition()?.reason, 'GuestStopped');
    assert.match(guestCondition()?.message ?? '', /guest stopped/);

    pve.setContainerStatus(201, 'running');
    await within(async () => (await page()).status === 200);
    assert.equal(guestCondition()?.status, 'true');
  });

  it('refuses an address another guest claims', async () => {
    pve.setContainerAddress(201, '127.0.0.23', { dhcp: true });
    await within(() => guestCondition()?.reason === 'AddressConflict');
    const answer = await page();
    assert.notEqual(answer.name, 'third');
    assert.match(guestCondition()?.message ?? '', /claimed by guest 202/);
    pve.setContainerAddress(201, '127.0.0.22', { dhcp: true });
    await within(async () => (await page()).name === 'second');
  });

  it('reports a destroyed guest', async () => {
    pve.destroyContainer(201);
    await within(() => guestCondition()?.reason === 'GuestDestroyed');
    // The condition is stored and the route switched in the same pass, in either order.
    await within(async () => (await page()).status === 503);
    assert.ok(state.snapshot().services.some((item) => item.fqdn === FQDN), 'the service is kept');
    assert.deepEqual(await page(OTHER), { status: 200, name: 'third' });
  });
});
