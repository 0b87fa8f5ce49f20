import { domainToASCII } from 'node:url';
import { apiData } from './client.js';
import type { Endpoint } from './connection.js';
import { ApiError, UsageError } from './errors.js';

interface CertificateSummary {
  id: string;
  domain: string;
  names: string[];
}

function isSummary(item: unknown): item is CertificateSummary {
  if (typeof item !== 'object' || item === null) return false;
  const record = item as Record<string, unknown>;
  return typeof record['id'] === 'string' && typeof record['domain'] === 'string' && Array.isArray(record['names']);
}

/**
 * Finds the certificate `name` stands for: a certificate id, else a certificate whose names hold
 * `name`, else one whose wildcard covers it, else the one certificate of a domain. Several
 * matches at the first step that has any are a usage error listing them.
 */
export function pickCertificate(certificates: readonly CertificateSummary[], name: string): string {
  const trimmed = name.trim().replace(/\.$/, '').toLowerCase();
  const wanted = domainToASCII(trimmed) || trimmed;
  const parent = wanted.includes('.') ? wanted.slice(wanted.indexOf('.') + 1) : '';
  const steps: Array<(item: CertificateSummary) => boolean> = [
    (item) => item.id === wanted,
    (item) => item.names.includes(wanted),
    (item) => parent !== '' && item.names.includes(`*.${parent}`),
    (item) => item.domain === wanted,
  ];
  for (const step of steps) {
    const found = certificates.filter(step);
    if (found.length === 1) return (found[0] as CertificateSummary).id;
    if (found.length > 1) {
      throw new UsageError(`${name} matches the certificates ${found.map((item) => item.id).join(', ')}; renew one of them by its id`);
    }
  }
  throw new ApiError(404, `no certificate matches ${name}; list the certificates with pve-domains get /certificates (a service gets one once it is active)`, {});
}

/** Resolves `name` through GET /certificates and returns the id to renew. */
export async function resolveCertificateId(endpoint: Endpoint, name: string): Promise<string> {
  const data = await apiData(endpoint, { method: 'GET', path: '/certificates' });
  const certificates = Array.isArray(data) ? data.filter(isSummary) : [];
  return pickCertificate(certificates, name);
}
