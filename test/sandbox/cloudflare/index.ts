import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CredentialRegistry } from './auth.js';
import type { DnsQueryLogEntry, DnsView } from './dns-answer.js';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { API_PREFIX, createApiServer } from './http-server.js';
import { DEFAULT_RATE_LIMIT, RateLimiter } from './rate-limit.js';
import { normalizeHostName } from './record-names.js';
import { RecordSet } from './record-set.js';
import { newId, SimulatorStore } from './store.js';
import type {
  CloudflareSimulator,
  CloudflareSimulatorOptions,
  DnsFault,
  DnsRecordView,
  HttpFault,
  RequestLogEntry,
  SeedRecord,
  SimZone,
  TokenGrant,
  ZoneOptions,
  ZoneStatus,
} from './types.js';
import { toRecordView, type Owner } from './views.js';

export type * from './types.js';
export { SUPPORTED_RECORD_TYPES } from './types.js';

const NAME_SERVERS = ['ada.ns.sandbox.test', 'bob.ns.sandbox.test'];

/**
 * Starts a Cloudflare API v4 simulator on `http://<host>:<port>/client/v4` and an authoritative DNS
 * server (UDP and TCP, one port) for its active zones. Both bind a free port on the loopback host.
 */
export async function startCloudflareSimulator(options: CloudflareSimulatorOptions = {}): Promise<CloudflareSimulator> {
  const host = options.host ?? '127.0.0.1';
  if (!host.startsWith('127.')) {
    throw new Error(`host ${host} is not a loopback address; the simulator binds only 127.0.0.0/8 addresses`);
  }
  const store = new SimulatorStore();
  const credentials = new CredentialRegistry();
  const owner: Owner = { accountId: newId(), accountName: 'Sandbox account', userId: newId() };
  const requestLog: RequestLogEntry[] = [];
  const faults: Array<HttpFault & { remaining: number }> = [];
  const held = new Set<ServerResponse>();
  const dnsFaults = new Map<string, DnsFault>();
  const dnsQueries: DnsQueryLogEntry[] = [];

  const server = createApiServer({
    store,
    credentials,
    rateLimiter: new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT),
    owner,
    nameServers: NAME_SERVERS,
    requestLog,
    faults,
    held,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: apiPort } = server.address() as AddressInfo;

  const secondaryHost = options.secondaryDnsHost ?? null;
  if (secondaryHost !== null && (!secondaryHost.startsWith('127.') || secondaryHost === host)) {
    throw new Error(`secondaryDnsHost ${secondaryHost} must be a loopback address other than ${host}`);
  }
  // With a second server, the second name server host resolves to it.
  const nameServerAddresses = new Map<string, string>(secondaryHost === null ? [] : [[NAME_SERVERS[1] ?? '', secondaryHost]]);
  const dnsView = (): DnsView => ({
    zones: store
      .zones()
      .filter((zone) => zone.status === 'active')
      .map((zone) => ({ name: zone.name, ...store.published(zone) })),
    nameServers: NAME_SERVERS,
    address: host,
    nameServerAddresses,
    faults: dnsFaults,
    queryLog: dnsQueries,
  });
  /** Zone data that frozen servers keep serving, by server address. */
  const frozenViews = new Map<string, DnsView>();
  const viewAt = (address: string) => (): DnsView => frozenViews.get(address) ?? dnsView();
  const dnsServers: DnsServer[] = [];
  try {
    dnsServers.push(await startDnsServer(host, viewAt(host)));
    if (secondaryHost !== null) dnsServers.push(await startDnsServer(secondaryHost, viewAt(secondaryHost), dnsServers[0]?.port));
  } catch (error) {
    await Promise.all(dnsServers.map((item) => item.close()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  const dnsServer = dnsServers[0] as DnsServer;

  const zoneNameOf = (name: string): string => {
    const normalized = normalizeHostName(name);
    if (normalized === undefined) throw new Error(`zone name ${JSON.stringify(name)} is not a valid domain name`);
    return normalized;
  };

  return {
    apiBaseUrl: `http://${host}:${apiPort}${API_PREFIX}`,
    dnsAddress: host,
    dnsPort: dnsServer.port,
    nameServers: [...NAME_SERVERS],
    accountId: owner.accountId,
    requestLog,
    dnsQueries,

    addZone(name: string, zoneOptions: ZoneOptions = {}): SimZone {
      const zone = store.addZone(zoneNameOf(name), zoneOptions.status ?? 'active', zoneOptions.plan ?? 'free');
      return { id: zone.id, name: zone.name };
    },
    setZoneStatus(name: string, status: ZoneStatus): void {
      store.setStatus(store.zoneByName(name), status);
    },
    addToken(token: string, grant: TokenGrant): void {
      credentials.addToken(token, grant);
    },
    addGlobalKey(email: string, key: string): void {
      credentials.addGlobalKey(email, key);
    },
    revokeToken(token: string): void {
      credentials.revokeToken(token);
    },
    records(zoneName: string): DnsRecordView[] {
      return store.zoneByName(zoneName).records.map(toRecordView);
    },
    addRecord(zoneName: string, record: SeedRecord): DnsRecordView {
      const zone = store.zoneByName(zoneName);
      const set = new RecordSet(zone, zone.records);
      try {
        const created = set.create(record);
        store.commit(zone, set.records);
        return toRecordView(created);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`seeding ${record.type} ${record.name} in zone ${zoneName} failed: ${reason}`, { cause: error });
      }
    },
    injectFault(fault: HttpFault): void {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    clearFaults(): void {
      faults.length = 0;
      for (const response of held) response.socket?.destroy();
      held.clear();
    },
    setPropagationDelay(zoneName: string, ms: number): void {
      store.setPropagationDelay(store.zoneByName(zoneName), ms);
    },
    setDnsFault(name: string, fault: DnsFault | null): void {
      const key = name.toLowerCase().replace(/\.$/, '');
      if (fault === null) dnsFaults.delete(key);
      else dnsFaults.set(key, fault);
    },
    secondaryDnsAddress: secondaryHost,
    setDnsServerFrozen(address: string, frozen: boolean): void {
      if (address !== host && address !== secondaryHost) {
        throw new Error(`no DNS server of the simulator listens on ${address}; it listens on ${[host, secondaryHost].filter((item) => item !== null).join(', ')}`);
      }
      if (frozen) frozenViews.set(address, dnsView());
      else frozenViews.delete(address);
    },
    async stop(): Promise<void> {
      server.closeAllConnections();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), ...dnsServers.map((item) => item.close())]);
    },
  };
}
