import { invalidParameter } from '../errors.js';
import { siteOfDomain } from '../domains/sites.js';
import type { ServiceProtocol, ServiceSrv, StateDocument, StoredService } from '../store/model.js';

/**
 * The protocol fields of a service in the API: `protocol`, `external-port`, `tls` and `srv`, their
 * rules, and the check that an external port is free on the service's site.
 */

const SRV_SERVICE = /^_[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** JSON schema properties of POST /services and PUT /services/{fqdn}. */
export const serviceProtocolProperties = {
  protocol: {
    type: 'string',
    enum: ['http', 'tcp', 'udp'],
    description: 'http (default) routes by host name on ports 80 and 443; tcp and udp forward external-port on the site addresses to the guest port. Set at creation only.',
  },
  'external-port': { type: 'integer', minimum: 1, maximum: 65535, description: 'Port that clients connect to on the site addresses (tcp and udp services).' },
  tls: { type: 'boolean', description: 'tcp services: terminate TLS at the ingress with the domain certificate and pass plain TCP to the guest.' },
  srv: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['service'],
    properties: {
      service: { type: 'string', maxLength: 64, description: 'Service label with its underscore, such as _minecraft.' },
      priority: { type: 'integer', minimum: 0, maximum: 65535, description: 'SRV priority (default 0).' },
      weight: { type: 'integer', minimum: 0, maximum: 65535, description: 'SRV weight (default 0).' },
    },
    description: 'tcp and udp services: publish the SRV record <service>._<protocol>.<fqdn> pointing at the service name and external port; null removes it.',
  },
} as const;

export interface ServiceProtocolBody {
  protocol?: ServiceProtocol;
  'external-port'?: number;
  tls?: boolean;
  srv?: { service: string; priority?: number; weight?: number } | null;
}

/**
 * Applies the protocol fields of `body` to `service` (fields left out keep their value) and checks
 * that they fit together. `creating` allows `protocol`; a later change of protocol is rejected.
 * Throws INVALID_PARAMETER naming the field, the value and the fix.
 */
export function applyServiceProtocol(service: StoredService, body: ServiceProtocolBody, creating: boolean): void {
  const current = service.protocol ?? 'http';
  const protocol = body.protocol ?? current;
  if (!creating && protocol !== current) {
    throw invalidParameter('protocol', `the protocol of ${service.fqdn} cannot change from ${current} to ${protocol}; delete the service and create it again`);
  }

  if (protocol === 'http') {
    for (const field of ['external-port', 'tls', 'srv'] as const) {
      if (body[field] !== undefined && body[field] !== null) {
        const kinds = field === 'tls' ? 'tcp services' : 'tcp and udp services';
        throw invalidParameter(field, `${field} applies to ${kinds} only; set protocol to ${field === 'tls' ? 'tcp' : 'tcp or udp'}, or leave ${field} out`);
      }
    }
    return;
  }

  service.protocol = protocol;
  if (service.options?.cloudflareProxied === true) {
    // Clients of a proxied record connect to Cloudflare, which forwards only HTTP and HTTPS unless the zone has Spectrum.
    throw invalidParameter('cloudflare-proxied', `a ${protocol} service needs a DNS-only record because Cloudflare's proxy forwards only HTTP and HTTPS; set cloudflare-proxied to false`);
  }
  if (body['external-port'] !== undefined) service.externalPort = body['external-port'];
  if (service.externalPort === undefined) {
    throw invalidParameter('external-port', `a ${protocol} service needs external-port, the port that clients connect to on the site addresses (for example 25565)`);
  }
  if (body.tls !== undefined) {
    if (protocol !== 'tcp' && body.tls) throw invalidParameter('tls', 'tls applies to tcp services only; a udp service cannot terminate TLS, so leave tls out');
    if (body.tls) service.tls = true;
    else delete service.tls;
  }
  if (body.srv === null) delete service.srv;
  else if (body.srv !== undefined) service.srv = parseSrv(body.srv);
}

function parseSrv(input: { service: string; priority?: number; weight?: number }): ServiceSrv {
  const label = input.service.trim().toLowerCase();
  if (!SRV_SERVICE.test(label)) {
    throw invalidParameter('srv', `srv.service ${JSON.stringify(input.service)} is invalid: use the service label with its leading underscore, letters, digits and hyphens, for example _minecraft`);
  }
  return { service: label, priority: input.priority ?? 0, weight: input.weight ?? 0 };
}

/** A port range that no service may take as external port, with its owner for the error message. */
export interface ReservedPort {
  from: number;
  to: number;
  owner: string;
}

/** Default HTTPS port of the daemon's API (config.ts). */
const DEFAULT_API_PORT = 8016;

/**
 * Builds the reserved ports of a node: the ingress's HTTP and HTTPS ports, the daemon's API port,
 * and the ports PVE itself uses. pve-docs (pve-firewall.adoc) lists 8006 pveproxy, 3128
 * spiceproxy, 85 pvedaemon, 22 ssh, 111 rpcbind, 5900-5999 VNC consoles, 5405-5412 corosync and
 * 60000-60050 live migration. Every range is reserved for TCP and UDP alike.
 */
export function reservedPorts(node: { apiPort?: number | null; ingressPorts?: readonly number[] } = {}): ReservedPort[] {
  const single = (port: number, owner: string): ReservedPort => ({ from: port, to: port, owner: `${owner} (${port})` });
  const ranges: ReservedPort[] = [single(80, 'the HTTP ingress'), single(443, 'the HTTPS ingress')];
  for (const port of node.ingressPorts ?? []) {
    if (!ranges.some((range) => range.from === port)) ranges.push(single(port, 'the ingress of HTTP services'));
  }
  ranges.push(
    single(node.apiPort ?? DEFAULT_API_PORT, 'the pve-domains API'),
    single(8006, 'the PVE web interface and API'),
    single(3128, 'the PVE SPICE proxy'),
    single(85, 'pvedaemon'),
    single(22, 'SSH'),
    single(111, 'rpcbind'),
    { from: 5900, to: 5999, owner: 'PVE console (5900-5999)' },
    { from: 5405, to: 5412, owner: 'corosync (5405-5412)' },
    { from: 60000, to: 60050, owner: 'PVE live migration (60000-60050)' },
  );
  return ranges;
}

/**
 * Throws INVALID_PARAMETER naming the owner when the external port of `service` is reserved or
 * taken by another service of the same protocol on the same site. TCP and UDP have separate port
 * spaces, so a tcp and a udp service may share a number; the reserved ports hold for both.
 */
export function checkExternalPort(state: StateDocument, service: StoredService, reserved: readonly ReservedPort[]): void {
  const protocol = service.protocol ?? 'http';
  const port = service.externalPort;
  if (protocol === 'http' || port === undefined) return;

  const range = reserved.find((item) => port >= item.from && port <= item.to);
  if (range !== undefined) {
    throw invalidParameter('external-port', `external port ${port} is reserved for ${range.owner}; choose another external port`);
  }

  const domain = state.domains.find((item) => item.name === service.domain);
  const site = domain === undefined ? undefined : siteOfDomain(state, domain)?.name;
  for (const other of state.services) {
    if (other.fqdn === service.fqdn || other.protocol !== protocol || other.externalPort !== port) continue;
    const otherDomain = state.domains.find((item) => item.name === other.domain);
    const otherSite = otherDomain === undefined ? undefined : siteOfDomain(state, otherDomain)?.name;
    if (otherSite !== site) continue;
    const deleting = other.deleting ? ', which is being deleted; try again when it is gone or' : ';';
    throw invalidParameter('external-port', `external port ${port}/${protocol} is taken by the service ${other.fqdn} on site ${site ?? 'default'}${deleting} choose another external port`);
  }
}
