import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';

import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import type { UdpForward } from '../../daemon/src/forward/nft-ruleset.js';
import type { GuestDirectory, ResolvedGuest, TargetPinning } from '../../daemon/src/pve/guests.js';
import { Reconciler, type ReconcilerDeps } from '../../daemon/src/reconcile/reconciler.js';
import type { StoredCertificate, StoredService } from '../../daemon/src/store/model.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { createIngressFixture, createMemoryLogger, createTestCa, issueCertificate, type IngressFixture, type TestCa } from '../proxy/fixtures.js';
import { startCloudflareSimulator, type CloudflareSimulator } from '../sandbox/cloudflare/index.js';
import { findFreePort } from '../sandbox/ports.js';

/**
 * tcp and udp services through the reconciler, from creation to removal. Address and SRV records
 * go to the Cloudflare simulator and tcp goes through a real HAProxy. udp goes to a recording
 * stand-in for the nftables forwarder, whose real version udp-forwarding.test.ts runs in namespaces.
 */

const TOKEN = 'stream-reconcile-'.padEnd(40, 'x');
const CLUSTER = 'test';
const GUEST_ADDRESS = '127.0.0.31';

/** A guest directory whose guests all run at their pinned address. */
const guests = {
  listGuests: () => Promise.resolve([]),
  resolveGuest: (vmid: number, pin: TargetPinning): Promise<ResolvedGuest> =>
    Promise.resolve({ vmid, node: 'pve1', type: 'lxc', running: true, address: pin.address ?? null, source: 'pinned' }),
  claimsOf: () => Promise.resolve([]),
} as unknown as GuestDirectory;

/** Records the calls that the reconciler makes to the UDP forwarder. */
class RecordingUdpForwarder {
  readonly forwards = new Map<string, UdpForward>();
  problems: string[] = [];

  setForward(forward: UdpForward): Promise<void> {
    this.forwards.set(forward.name, forward);
    return Promise.resolve();
  }

  removeForward(name: string): Promise<void> {
    this.forwards.delete(name);
    return Promise.resolve();
  }

  checkNode(): Promise<string[]> {
    return Promise.resolve(this.problems);
  }
}

let sim: CloudflareSimulator;
let fixture: IngressFixture;
let state: StateStore;
let reconciler: Reconciler;
let base: string;
let echo: Server;
let echoPort: number;
let ca: TestCa;
const udp = new RecordingUdpForwarder();
const ports = { mc: 0, mqtt: 0 };

function service(subdomain: string, fields: Partial<StoredService>): StoredService {
  return {
    fqdn: `${subdomain}.example.com`,
    subdomain,
    domain: 'example.com',
    vmid: 101,
    port: echoPort,
    pin: { address: GUEST_ADDRESS },
    createdAt: new Date().toISOString(),
    deleting: false,
    conditions: [],
    observed: { target: null },
    retry: { failures: 0, nextAttemptAt: null, lastError: null },
    ...fields,
  };
}

function stored(fqdn: string): StoredService | undefined {
  return state.snapshot().services.find((item) => item.fqdn === fqdn);
}

function routeCondition(fqdn: string): { status: string; reason: string; message: string } | undefined {
  return stored(fqdn)?.conditions.find((item) => item.type === 'route');
}

function recordsAt(name: string): Array<{ type: string; comment: string | null }> {
  return sim.records('example.com').filter((record) => record.name === name).map((record) => ({ type: record.type, comment: record.comment }));
}

function exchange(port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer on port ${port} within 5 s`)));
    socket.once('connect', () => socket.write(message));
    socket.once('data', (chunk: Buffer) => {
      socket.end();
      resolve(chunk.toString('utf8'));
    });
    socket.once('error', reject);
  });
}

function exchangeTls(port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'mqtt.example.com', ca: ca.pem });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no TLS answer on port ${port} within 5 s`)));
    socket.once('secureConnect', () => socket.write(message));
    socket.once('data', (chunk: Buffer) => {
      socket.end();
      resolve(chunk.toString('utf8'));
    });
    socket.once('error', reject);
  });
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'stream-reconcile-'));
  echoPort = await findFreePort(GUEST_ADDRESS);
  echo = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => socket.write(`guest:${chunk.toString('utf8')}`));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => echo.listen({ host: GUEST_ADDRESS, port: echoPort }, resolve));
  ports.mc = await findFreePort();
  ports.mqtt = await findFreePort();
  ca = await createTestCa();

  sim = await startCloudflareSimulator();
  sim.addZone('example.com');
  sim.addToken(TOKEN, { zones: 'all', permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
  fixture = await createIngressFixture();
  await fixture.start();

  state = await StateStore.open(join(base, 'state'));
  await state.update((document) => {
    document.domains.push({ name: 'example.com', acmeDirectory: 'https://acme.example.net/dir', acmeEmail: 'admin@example.com', createdAt: new Date().toISOString() });
  });
  const { logger } = createMemoryLogger();
  // Stands in for the certificate manager: installs a certificate of the test CA in the ingress.
  const certificateManager = {
    async ensureForService(_domain: unknown, fqdn: string): Promise<StoredCertificate> {
      const issued = await issueCertificate(ca, [fqdn]);
      await fixture.ingress.setCertificate(fqdn, issued.chainPem, issued.keyPem);
      const now = new Date().toISOString();
      return { id: fqdn, domain: 'example.com', names: [fqdn], serial: issued.serial, notBefore: now, notAfter: now, issuedAt: now, directory: 'test' };
    },
  };
  const deps = {
    config: { clusterName: CLUSTER, site: { addresses: ['127.0.0.1'] }, reconcile: { resyncIntervalMs: 60_000, retryMinMs: 60_000, retryMaxMs: 60_000 } },
    state,
    certificates: { remove: () => Promise.resolve(), load: () => Promise.resolve(null) },
    guests,
    proxy: fixture.ingress,
    dnsFor: () => Promise.resolve(new CloudflareProvider({ apiBaseUrl: sim.apiBaseUrl, credentials: { kind: 'token', token: TOKEN }, logger })),
    certificateManager,
    streams: { tcp: fixture.ingress, udp },
    logger,
  } as unknown as ReconcilerDeps;
  reconciler = new Reconciler(deps);
});

after(async () => {
  const running = await fixture.cleanup();
  await sim.stop();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
  await rm(base, { recursive: true, force: true });
  assert.deepEqual(running, []);
});

describe('stream services through the reconciler', () => {
  it('forwards a tcp service', async () => {
    await state.update((document) => {
      document.services.push(service('mc', { protocol: 'tcp', externalPort: ports.mc, srv: { service: '_minecraft', priority: 0, weight: 5 } }));
    });
    await reconciler.reconcileService('mc.example.com');
    assert.equal(routeCondition('mc.example.com')?.reason, 'Forwarded', JSON.stringify(stored('mc.example.com')?.conditions));
    assert.equal(await exchange(ports.mc, 'ping'), 'guest:ping');
  });

  it('publishes address and srv records', () => {
    const comment = `pve-domains cluster=${CLUSTER} service=mc.example.com`;
    assert.deepEqual(recordsAt('mc.example.com'), [{ type: 'A', comment }]);
    assert.deepEqual(recordsAt('_minecraft._tcp.mc.example.com'), [{ type: 'SRV', comment }]);
    assert.equal(stored('mc.example.com')?.observed.srvRecord, '_minecraft._tcp.mc.example.com');
  });

  it('orders no certificate for plain tcp', () => {
    assert.equal(stored('mc.example.com')?.conditions.some((item) => item.type === 'certificate'), false);
  });

  it('terminates tls for a tls service', async () => {
    await state.update((document) => {
      document.services.push(service('mqtt', { protocol: 'tcp', externalPort: ports.mqtt, tls: true }));
    });
    await reconciler.reconcileService('mqtt.example.com');
    assert.equal(routeCondition('mqtt.example.com')?.status, 'true');
    assert.match(routeCondition('mqtt.example.com')?.message ?? '', /with TLS terminated at the ingress/);
    assert.equal(await exchangeTls(ports.mqtt, 'hello'), 'guest:hello');
  });

  it('reports the node check of udp', async () => {
    udp.problems = ['net.ipv4.ip_forward is 0 on this node'];
    await state.update((document) => {
      document.services.push(service('game', { protocol: 'udp', externalPort: 27015, srv: { service: '_game', priority: 1, weight: 1 } }));
    });
    await reconciler.reconcileService('game.example.com');
    const condition = routeCondition('game.example.com');
    assert.equal(condition?.status, 'false');
    assert.equal(condition?.reason, 'ProxyFailed');
    assert.match(condition?.message ?? '', /net\.ipv4\.ip_forward is 0/);
  });

  it('forwards a udp service', async () => {
    udp.problems = [];
    await reconciler.reconcileService('game.example.com');
    assert.equal(routeCondition('game.example.com')?.status, 'true');
    assert.deepEqual(udp.forwards.get('game.example.com'), { name: 'game.example.com', externalPort: 27015, target: { address: GUEST_ADDRESS, port: echoPort } });
    assert.deepEqual(recordsAt('_game._udp.game.example.com').map((record) => record.type), ['SRV']);
  });

  it('moves the srv record with its label', async () => {
    await state.update((document) => {
      const game = document.services.find((item) => item.fqdn === 'game.example.com');
      if (game !== undefined) game.srv = { service: '_play', priority: 1, weight: 1 };
    });
    await reconciler.reconcileService('game.example.com');
    assert.deepEqual(recordsAt('_game._udp.game.example.com'), []);
    assert.deepEqual(recordsAt('_play._udp.game.example.com').map((record) => record.type), ['SRV']);
  });

  it('removes a tcp service', async () => {
    await state.update((document) => {
      const mc = document.services.find((item) => item.fqdn === 'mc.example.com');
      if (mc !== undefined) mc.deleting = true;
    });
    await reconciler.reconcileService('mc.example.com');
    assert.equal(stored('mc.example.com'), undefined);
    assert.deepEqual(recordsAt('mc.example.com'), []);
    assert.deepEqual(recordsAt('_minecraft._tcp.mc.example.com'), []);
    await assert.rejects(exchange(ports.mc, 'gone'), /ECONNREFUSED/);
  });

  it('removes a tls service', async () => {
    await state.update((document) => {
      const mqtt = document.services.find((item) => item.fqdn === 'mqtt.example.com');
      if (mqtt !== undefined) mqtt.deleting = true;
    });
    await reconciler.reconcileService('mqtt.example.com');
    assert.equal(stored('mqtt.example.com'), undefined);
    assert.deepEqual(await fixture.ingress.listCertificates(), []);
    await assert.rejects(exchangeTls(ports.mqtt, 'gone'), /ECONNREFUSED/);
  });

  it('removes a udp service', async () => {
    await state.update((document) => {
      const game = document.services.find((item) => item.fqdn === 'game.example.com');
      if (game !== undefined) game.deleting = true;
    });
    await reconciler.reconcileService('game.example.com');
    assert.equal(udp.forwards.has('game.example.com'), false);
    assert.deepEqual(recordsAt('_play._udp.game.example.com'), []);
    assert.deepEqual(recordsAt('game.example.com'), []);
  });
});
