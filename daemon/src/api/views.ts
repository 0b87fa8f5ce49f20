import type { RouteStatus, TargetState } from '../proxy/ingress.js';
import { normaliseRouteOptions } from '../proxy/route-options.js';
import type { ObservedTarget, StoredCertificate, StoredDomain, StoredService } from '../store/model.js';
import { summariseStatus } from '../reconcile/conditions.js';
import { needsCertificate } from '../reconcile/stream-route.js';

/** A domain as the API returns it. Credentials are never part of it. */
export interface DomainView {
  domain: string;
  'acme-directory': string;
  'acme-email': string;
  'cloudflare-credentials': 'api-token';
  services: number;
  'created-at': string;
}

/** A service as the API returns it. */
export interface ServiceView {
  fqdn: string;
  subdomain: string;
  domain: string;
  vmid: number;
  port: number;
  protocol: 'http' | 'tcp' | 'udp';
  /** Port on the site addresses of a tcp or udp service; null for http. */
  'external-port': number | null;
  tls: boolean;
  srv: { service: string; priority: number; weight: number } | null;
  status: 'active' | 'pending' | 'error' | 'deleting';
  target: { address: string; port: number } | null;
  /** Every target with where its guest was last seen. */
  targets: Array<ObservedTarget | { vmid: number; port: number }>;
  interface: string | null;
  address: string | null;
  options: ServiceOptionsView;
  /** HAProxy's view of the route now, or null when the ingress is not running or has no route. */
  live: {
    servers: Array<{ address: string; port: number; state: TargetState; check: string | null }>;
    requests: number;
    errors: number;
  } | null;
  certificate: { serial: string; 'not-after': string } | null;
  conditions: Array<{ type: string; status: string; reason: string; message: string; time: string }>;
  'next-retry': string | null;
  'last-error': string | null;
  'created-at': string;
}

/** Service options as the API shows them; password hashes are never returned. */
export interface ServiceOptionsView {
  'https-redirect': boolean;
  'hsts-max-age': number | null;
  'hsts-include-subdomains': boolean;
  'websocket-timeout': number;
  'backend-protocol': string;
  'health-check': { path: string; interval: number } | null;
  'allowed-networks': string[];
  'basic-auth': Array<{ user: string }>;
  'request-headers': Array<{ name: string; value: string }>;
  'response-headers': Array<{ name: string; value: string }>;
  balance: string;
  'cloudflare-proxied': boolean;
  auth: boolean;
  'max-body-size': number | null;
  buffering: boolean;
}

function optionsView(service: StoredService): ServiceOptionsView {
  const options = normaliseRouteOptions(service.options);
  return {
    'https-redirect': options.httpsRedirect,
    'hsts-max-age': options.hsts?.maxAgeSeconds ?? null,
    'hsts-include-subdomains': options.hsts?.includeSubDomains ?? false,
    'websocket-timeout': options.tunnelTimeoutSeconds,
    'backend-protocol': options.backendProtocol,
    'health-check': options.healthCheck === null ? null : { path: options.healthCheck.path, interval: options.healthCheck.intervalSeconds },
    'allowed-networks': options.allowedNetworks,
    'basic-auth': options.basicAuth.map((user) => ({ user: user.user })),
    'request-headers': options.requestHeaders,
    'response-headers': options.responseHeaders,
    balance: options.balance,
    'cloudflare-proxied': options.cloudflareProxied,
    auth: options.authRequired,
    'max-body-size': options.maxBodySize,
    buffering: options.buffering,
  };
}

/** Indexes certificates by id for serviceView. */
export function certificatesById(certificates: readonly StoredCertificate[]): Map<string, StoredCertificate> {
  return new Map(certificates.map((item) => [item.id, item]));
}

/** Indexes live route states by host name for serviceView. */
export function routesByHostname(live: readonly RouteStatus[]): Map<string, RouteStatus> {
  return new Map(live.map((item) => [item.hostname, item]));
}

export function domainView(domain: StoredDomain, services: StoredService[]): DomainView {
  return {
    domain: domain.name,
    'acme-directory': domain.acmeDirectory,
    'acme-email': domain.acmeEmail,
    'cloudflare-credentials': 'api-token',
    services: services.filter((service) => service.domain === domain.name).length,
    'created-at': domain.createdAt,
  };
}

/**
 * Builds the API view of a service. `certificates` and `live` are indexed by the caller, so that a
 * list of many services costs one lookup per service rather than a scan of every list.
 */
export function serviceView(service: StoredService, certificates: ReadonlyMap<string, StoredCertificate>, live: ReadonlyMap<string, RouteStatus> = new Map()): ServiceView {
  const certificate = certificates.get(service.fqdn);
  const route = live.get(service.fqdn);
  const configured = [{ vmid: service.vmid, port: service.port }, ...(service.extraTargets ?? []).map((item) => ({ vmid: item.vmid, port: item.port }))];
  return {
    fqdn: service.fqdn,
    subdomain: service.subdomain,
    domain: service.domain,
    vmid: service.vmid,
    port: service.port,
    protocol: service.protocol ?? 'http',
    'external-port': service.externalPort ?? null,
    tls: service.tls === true,
    srv: service.srv === undefined ? null : { ...service.srv },
    status: summariseStatus(service.conditions, service.deleting, needsCertificate(service)),
    target: service.observed.target,
    targets: service.observed.targets ?? configured,
    interface: service.pin?.interface ?? null,
    address: service.pin?.address ?? null,
    options: optionsView(service),
    live: route === undefined ? null : { servers: route.targets.map((item) => ({ ...item })), requests: route.requests, errors: route.errors },
    certificate: certificate === undefined ? null : { serial: certificate.serial, 'not-after': certificate.notAfter },
    conditions: service.conditions.map((item) => ({ ...item })),
    'next-retry': service.retry.nextAttemptAt,
    'last-error': service.retry.lastError,
    'created-at': service.createdAt,
  };
}
