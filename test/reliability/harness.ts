import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { buildProxyPaths, certificatePath, type ProxyPaths } from '../../daemon/src/proxy/paths.js';
import { RuntimeApiClient } from '../../daemon/src/proxy/runtime-api.js';
import type { DnsRecordView } from '../sandbox/cloudflare/index.js';
import type { Sandbox } from '../sandbox/sandbox.js';

/** Cluster name the sandbox writes into the daemon's configuration; it is part of every ownership comment. */
export const sandboxCluster = 'sandbox';
const ownedPrefix = `pve-domains cluster=${sandboxCluster} `;

/**
 * Daemon settings that keep the reliability suites short: client timeouts of 1 to 1.5 s, retries
 * from 200 to 300 ms up to 2 s, and a propagation wait of 2.5 s.
 */
export function fastRetries(config: Record<string, unknown>): void {
  config['reconcile'] = { resyncIntervalMs: 60_000, retryMinMs: 300, retryMaxMs: 2_000 };
  config['certificates'] = { renewalCheckIntervalMs: 1_000, backoffMinMs: 200, backoffMaxMs: 2_000, sendmailPath: '/bin/true' };
  const dns = config['dns'] as Record<string, unknown>;
  dns['propagationTimeoutMs'] = 2_500;
  dns['propagationIntervalMs'] = 100;
  (config['cloudflare'] as Record<string, unknown>)['requestTimeoutMs'] = 1_000;
  (config['acme'] as Record<string, unknown>)['requestTimeoutMs'] = 1_500;
  (config['pve'] as Record<string, unknown>)['requestTimeoutMs'] = 1_000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; the error names `what` and the last `describe()` output. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, describe?: () => Promise<string>, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const detail = describe === undefined ? '' : `; ${await describe().catch((err: unknown) => String(err))}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === '' ? '' : ` (last error: ${lastError})`}${detail}`);
    }
    await sleep(intervalMs);
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Seeded PRNG (mulberry32), so that a failing run can be repeated with its printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ServiceView {
  fqdn: string;
  status: string;
  'last-error': string | null;
  conditions: Array<{ type: string; status: string; reason: string; message: string }>;
}

export interface CertificateView {
  id: string;
  serial: string;
  'last-error'?: string | null;
}

export async function listServices(sandbox: Sandbox): Promise<ServiceView[]> {
  const answer = await sandbox.api('GET', '/services');
  if (answer.status !== 200) throw new Error(`GET /services answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.data as ServiceView[];
}

export async function listCertificates(sandbox: Sandbox): Promise<CertificateView[]> {
  const answer = await sandbox.api('GET', '/certificates');
  if (answer.status !== 200) throw new Error(`GET /certificates answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.data as CertificateView[];
}

/** Registers the sandbox zone with the given ACME directory; throws when the API refuses. */
export async function registerDomain(sandbox: Sandbox, directory: string): Promise<void> {
  const created = await sandbox.api('POST', '/domains', {
    domain: sandbox.zone,
    'acme-directory': directory,
    'acme-email': 'admin@example.com',
    'cloudflare-token': sandbox.cloudflareToken,
  });
  if (created.status !== 200) throw new Error(`registering ${sandbox.zone} failed with ${created.status}: ${JSON.stringify(created.body)}`);
}

/** Creates `<subdomain>.<zone>` on the container at `index`; throws when the API refuses. */
export async function exposeService(sandbox: Sandbox, subdomain: string, index = 0): Promise<string> {
  const container = sandbox.containers[index];
  if (container === undefined) throw new Error(`the sandbox has no container at index ${index}`);
  const answer = await sandbox.api('POST', '/services', { subdomain, domain: sandbox.zone, vmid: container.vmid, port: container.port });
  if (answer.status !== 200) throw new Error(`POST /services ${subdomain} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return `${subdomain}.${sandbox.zone}`;
}

/** Records the product must leave alone: other tools' records, and one of another cluster. */
export function seedForeignRecords(sandbox: Sandbox): DnsRecordView[] {
  const zone = sandbox.zone;
  return [
    sandbox.cloudflare.addRecord(zone, { type: 'A', name: `other.${zone}`, content: '192.0.2.40', comment: 'made by hand' }),
    sandbox.cloudflare.addRecord(zone, { type: 'TXT', name: `app.${zone}`, content: '"foreign text at a service name"' }),
    sandbox.cloudflare.addRecord(zone, { type: 'TXT', name: `_acme-challenge.app.${zone}`, content: '"another client\'s challenge"', comment: 'certbot' }),
    sandbox.cloudflare.addRecord(zone, { type: 'A', name: `elsewhere.${zone}`, content: '192.0.2.41', comment: `pve-domains cluster=elsewhere service=elsewhere.${zone}` }),
    sandbox.cloudflare.addRecord(zone, { type: 'TXT', name: `_acme-challenge.elsewhere.${zone}`, content: '"other cluster challenge"', comment: `pve-domains cluster=elsewhere acme=elsewhere.${zone}` }),
  ];
}

function recordFingerprint(record: DnsRecordView): string {
  return JSON.stringify([record.id, record.type, record.name, record.content, record.comment, record.ttl, record.proxied, record.modified_on]);
}

/** Paths of the sandbox daemon's HAProxy files and sockets. */
export function proxyPaths(sandbox: Sandbox): ProxyPaths {
  return buildProxyPaths(join(sandbox.dir, 'haproxy'), join(sandbox.dir, 'run', 'haproxy'));
}

export interface LiveProxyState {
  /** Host names in HAProxy's live hosts map. */
  hosts: string[];
  /** Serial (lower-case hex, no leading zeros) of the certificate loaded in HAProxy, by certificate id. */
  serials: Map<string, string>;
}

/** Reads the routes and certificates loaded in the running HAProxy, through its runtime API. */
export async function liveProxyState(sandbox: Sandbox, certificateIds: readonly string[]): Promise<LiveProxyState> {
  const paths = proxyPaths(sandbox);
  const client = new RuntimeApiClient(paths.adminSocket, { timeoutMs: 2_000 });
  const mapOutput = await client.execute({ command: `show map ${paths.mapFile}` });
  const hosts = mapOutput
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[1])
    .filter((host): host is string => host !== undefined && host !== '')
    .sort();
  const serials = new Map<string, string>();
  for (const id of certificateIds) {
    const output = await client.send({ command: `show ssl cert ${certificatePath(paths, id)}` });
    const serial = /^Serial:\s*([0-9A-Fa-f]+)/m.exec(output)?.[1];
    if (serial !== undefined) serials.set(id, serial.toLowerCase().replace(/^0+/, ''));
  }
  return { hosts, serials };
}

/**
 * Returns every broken invariant, as one message each. The invariants: every expected service
 * is listed once and active, and no other service is listed. Each has exactly one product-owned
 * A record, and no product-owned record belongs to anything else (challenge records included).
 * Foreign records are unchanged. HAProxy's live host map and certificate serials equal the store.
 */
export async function findViolations(sandbox: Sandbox, expected: ReadonlySet<string>, foreign: readonly DnsRecordView[]): Promise<string[]> {
  const violations: string[] = [];
  const services = await listServices(sandbox);
  const names = services.map((service) => service.fqdn);
  const duplicates = names.filter((name, index) => names.indexOf(name) !== index);
  if (duplicates.length > 0) violations.push(`services listed twice: ${duplicates.join(', ')}`);
  for (const name of expected) if (!names.includes(name)) violations.push(`service ${name} is lost`);
  for (const service of services) {
    if (!expected.has(service.fqdn)) violations.push(`service ${service.fqdn} exists but was deleted or never created`);
    else if (service.status !== 'active') violations.push(`service ${service.fqdn} is ${service.status}: ${service['last-error'] ?? ''}`);
  }

  const records = sandbox.cloudflare.records(sandbox.zone);
  const owned = records.filter((record) => record.comment?.startsWith(ownedPrefix) === true);
  for (const record of owned) {
    const comment = record.comment ?? '';
    if (comment.includes(' acme=')) violations.push(`orphaned challenge record ${record.name} (${comment})`);
    const owner = / service=(\S+)$/.exec(comment)?.[1];
    if (owner !== undefined && !expected.has(owner)) violations.push(`orphaned record ${record.type} ${record.name} of ${owner}`);
  }
  for (const name of expected) {
    const count = owned.filter((record) => record.type === 'A' && record.name === name).length;
    if (count !== 1) violations.push(`service ${name} has ${count} owned A records, expected 1`);
  }
  const now = new Map(records.map((record) => [record.id, record]));
  for (const record of foreign) {
    const current = now.get(record.id);
    if (current === undefined) violations.push(`foreign record ${record.type} ${record.name} was deleted`);
    else if (recordFingerprint(current) !== recordFingerprint(record)) violations.push(`foreign record ${record.type} ${record.name} was changed`);
  }

  const certificates = await listCertificates(sandbox);
  const live = await liveProxyState(sandbox, certificates.map((item) => item.id));
  const wanted = [...expected].sort();
  if (JSON.stringify(live.hosts) !== JSON.stringify(wanted)) violations.push(`HAProxy routes ${live.hosts.join(', ') || 'none'}, stored ${wanted.join(', ') || 'none'}`);
  for (const certificate of certificates) {
    const stored = certificate.serial.toLowerCase().replace(/^0+/, '');
    const loaded = live.serials.get(certificate.id);
    if (loaded !== stored) violations.push(`HAProxy holds serial ${loaded ?? 'none'} for ${certificate.id}, stored ${stored}`);
  }
  const certificateIds = certificates.map((item) => item.id);
  for (const name of expected) if (!certificateIds.includes(name)) violations.push(`service ${name} has no stored certificate`);
  return violations;
}

/** One TLS handshake result: the serial presented, or the error. */
export interface ProbeSample {
  time: number;
  serial: string | null;
  error: string | null;
  status: number | null;
}

function probeOnce(port: number, hostname: string): Promise<ProbeSample> {
  const time = Date.now();
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: hostname, rejectUnauthorized: false, timeout: 3_000 });
    let serial: string | null = null;
    let answer = '';
    const finish = (error: string | null): void => {
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
      resolve({ time, serial, error, status: status === undefined ? null : Number(status) });
    };
    socket.once('secureConnect', () => {
      serial = socket.getPeerCertificate().serialNumber?.toLowerCase().replace(/^0+/, '') ?? null;
      socket.write(`GET / HTTP/1.1\r\nhost: ${hostname}\r\nconnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.once('end', () => finish(/^HTTP\/1\.[01] \d{3}/.test(answer) ? null : 'connection closed without a response'));
    socket.once('timeout', () => finish('timed out'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
  });
}

/** HTTPS requests to one host every `intervalMs` until stopped, keeping the certificate serial and status of each. */
export class HttpsProbe {
  readonly samples: ProbeSample[] = [];
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly port: number,
    private readonly hostname: string,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        this.samples.push(await probeOnce(this.port, this.hostname));
        await sleep(this.intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Samples taken from `since` on. */
  since(since: number): ProbeSample[] {
    return this.samples.filter((sample) => sample.time >= since);
  }
}
