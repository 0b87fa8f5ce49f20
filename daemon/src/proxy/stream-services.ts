import { formatBindAddress } from './haproxy-config.js';
import { certificatePath, type ProxyPaths } from './paths.js';
import { assertCertificateId, assertHostname, assertIpAddress, assertPort } from './validation.js';

/**
 * TCP services through HAProxy: one `mode tcp` frontend per external port, each with its own
 * backend towards the guest targets, optionally terminating TLS with the service's certificate.
 * The ingress keeps them in streams.json beside routes.json and appends the rendered sections to
 * haproxy.cfg. A bind cannot be added to a running HAProxy 2.6, so every change here reloads it.
 */

export interface StreamTarget {
  address: string;
  port: number;
}

export interface StreamService {
  /** Service FQDN, written as a comment above the sections. */
  name: string;
  /** Port the frontend binds on the ingress address. */
  externalPort: number;
  targets: StreamTarget[];
  /** Id of the certificate (see paths.ts) that terminates TLS; null passes the bytes through. */
  tlsCertificate: string | null;
  /** The guests are stopped: servers are kept but disabled, so connections are refused. */
  maintenance: boolean;
}

export interface StreamTable {
  version: 1;
  services: StreamService[];
}

export const MAX_STREAM_TARGETS = 16;

export function streamFrontendName(externalPort: number): string {
  return `fe_tcp_${externalPort}`;
}

export function streamBackendName(externalPort: number): string {
  return `be_tcp_${externalPort}`;
}

/** Checks a stream service and returns a normalised copy; throws naming the invalid field. */
export function normaliseStreamService(service: StreamService): StreamService {
  assertHostname(service.name, 'stream service name');
  assertPort(service.externalPort, `external port of ${service.name}`);
  if (!Array.isArray(service.targets) || service.targets.length > MAX_STREAM_TARGETS) {
    throw new Error(`invalid targets of ${service.name}: expected a list of at most ${MAX_STREAM_TARGETS} targets`);
  }
  const seen = new Set<string>();
  const targets: StreamTarget[] = [];
  for (const target of service.targets) {
    assertIpAddress(target.address, `target address of ${service.name}`);
    assertPort(target.port, `target port of ${service.name}`);
    const key = `${target.address}|${target.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push({ address: target.address, port: target.port });
  }
  if (service.tlsCertificate !== null) assertCertificateId(service.tlsCertificate);
  return { name: service.name, externalPort: service.externalPort, targets, tlsCertificate: service.tlsCertificate, maintenance: service.maintenance === true };
}

/**
 * Renders the frontend and backend of every stream service, sorted by external port. Throws when
 * two services share an external port, because HAProxy would refuse the second bind.
 */
export function renderStreamSections(services: readonly StreamService[], bindAddress: string, paths: ProxyPaths): string[] {
  const sorted = [...services].sort((first, second) => first.externalPort - second.externalPort);
  const lines: string[] = [];
  let previousPort: number | undefined;
  for (const service of sorted) {
    if (service.externalPort === previousPort) {
      throw new Error(`external port ${service.externalPort} is used by two stream services; give ${service.name} another external port`);
    }
    previousPort = service.externalPort;
    lines.push(...renderStreamService(normaliseStreamService(service), bindAddress, paths), '');
  }
  return lines;
}

function renderStreamService(service: StreamService, bindAddress: string, paths: ProxyPaths): string[] {
  const bind = formatBindAddress({ address: bindAddress, port: service.externalPort });
  const tls = service.tlsCertificate === null ? '' : ` ssl crt ${certificatePath(paths, service.tlsCertificate)}`;
  const backend = streamBackendName(service.externalPort);
  const servers = service.targets.map((target, index) => {
    const state = service.maintenance ? ' disabled' : '';
    return `    server s${index} ${formatBindAddress(target)}${state}`;
  });
  return [
    `frontend ${streamFrontendName(service.externalPort)}`,
    `    # ${service.name}`,
    '    mode tcp',
    // `crt` names one file, so clients without SNI (many MQTT and database clients) get this
    // service's certificate, not the fallback that heads the crt-list. The file is the same entry
    // of the certificate store as in the crt-list, so a renewal through the runtime API reaches
    // this bind too.
    `    bind ${bind}${tls}`,
    // The defaults section sets this HTTP-only option; HAProxy 2.6 warns about it in a TCP frontend.
    '    no option idle-close-on-response',
    `    default_backend ${backend}`,
    '',
    `backend ${backend}`,
    `    # ${service.name}`,
    '    mode tcp',
    '    balance roundrobin',
    ...servers,
  ];
}

/** Renders streams.json, one service per line. */
export function renderStreamTable(table: StreamTable): string {
  const services = [...table.services].sort((first, second) => first.externalPort - second.externalPort);
  const lines = services.map((service) => JSON.stringify(service));
  return `{"version":1,"services":[\n${lines.join(',\n')}\n]}\n`;
}

export interface ParsedStreamTable {
  table: StreamTable;
  /** Names (or indexes) of entries dropped because they failed the checks or reused a port or name. */
  invalid: string[];
}

/** Parses streams.json; entries that fail the checks are dropped and listed. */
export function parseStreamTable(text: string): ParsedStreamTable {
  const document = JSON.parse(text) as Partial<StreamTable>;
  if (document.version !== 1 || !Array.isArray(document.services)) throw new Error('streams.json: expected version 1 with a services list');
  const table: StreamTable = { version: 1, services: [] };
  const invalid: string[] = [];
  const names = new Set<string>();
  const ports = new Set<number>();
  document.services.forEach((entry: Partial<StreamService>, index) => {
    try {
      const service = normaliseStreamService(entry as StreamService);
      if (names.has(service.name) || ports.has(service.externalPort)) throw new Error('duplicate');
      names.add(service.name);
      ports.add(service.externalPort);
      table.services.push(service);
    } catch {
      invalid.push(typeof entry.name === 'string' ? JSON.stringify(entry.name) : `#${index}`);
    }
  });
  return { table, invalid };
}
