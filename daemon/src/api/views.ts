import type { StoredCertificate, StoredDomain, StoredService } from '../store/model.js';
import { summariseStatus } from '../reconcile/conditions.js';

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
  status: 'active' | 'pending' | 'error' | 'deleting';
  target: { address: string; port: number } | null;
  certificate: { serial: string; 'not-after': string } | null;
  conditions: Array<{ type: string; status: string; reason: string; message: string; time: string }>;
  'next-retry': string | null;
  'last-error': string | null;
  'created-at': string;
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

export function serviceView(service: StoredService, certificates: StoredCertificate[]): ServiceView {
  const certificate = certificates.find((item) => item.id === service.fqdn);
  return {
    fqdn: service.fqdn,
    subdomain: service.subdomain,
    domain: service.domain,
    vmid: service.vmid,
    port: service.port,
    status: summariseStatus(service.conditions, service.deleting),
    target: service.observed.target,
    certificate: certificate === undefined ? null : { serial: certificate.serial, 'not-after': certificate.notAfter },
    conditions: service.conditions.map((item) => ({ ...item })),
    'next-retry': service.retry.nextAttemptAt,
    'last-error': service.retry.lastError,
    'created-at': service.createdAt,
  };
}
