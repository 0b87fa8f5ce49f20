import { defaultKeyType } from '../acme/key-types.js';
import type { CertificateMode, KeyType, StateDocument, StoredDomain, StoredService, VerificationCheck } from '../store/model.js';
import { maskWebhookUrl } from '../notify/webhook-url.js';
import { presetOfUrl } from './directories.js';
import { unicodeForm } from './names.js';
import { siteOfDomain } from './sites.js';

/** A domain as the API returns it. Secrets appear only as "set" or their last four characters. */
export interface DomainView {
  domain: string;
  /** The Unicode form of an internationalised name; equal to `domain` otherwise. */
  'domain-unicode': string;
  site: string | null;
  'acme-directory': string;
  /** Preset id of the directory, or `custom`. */
  'acme-directory-preset': string;
  'acme-email': string;
  'acme-profile': string | null;
  'eab-key-id': string | null;
  'eab-hmac-key': 'set' | null;
  'certificate-mode': CertificateMode;
  'key-type': KeyType;
  'fallback-issuers': Array<{ directory: string; email: string; 'eab-key-id': string | null }>;
  'cloudflare-credentials': 'api-token' | 'global-key' | 'split';
  /** The stored Cloudflare secret (the zone token when split) masked to its last four characters. */
  'cloudflare-secret': string | null;
  /** The DNS token of split credentials, masked; null for the other schemes. */
  'cloudflare-dns-secret': string | null;
  services: number;
  /** True while the domain waits for its services to be removed before it goes too. */
  deleting: boolean;
  /** True when the last verification passed, null when the domain was never verified. */
  ready: boolean | null;
  verification: { 'checked-at': string; zone: string | null; checks: VerificationCheck[] } | null;
  'created-at': string;
  'updated-at': string | null;
  /** Base URL of the sign-in server of services with `auth`; null without one. */
  'auth-server': string | null;
  /** Origin of the notification webhook, with `/…` when the URL has a path or query; null without one. */
  'notify-webhook': string | null;
}

/** Masks a secret to its last four characters, the way the UI shows it. */
export function maskSecret(secret: string): string {
  return `…${secret.slice(-4)}`;
}

/** Service counts by domain of each frozen service list (the store's snapshots never change). */
const serviceCounts = new WeakMap<readonly StoredService[], Map<string, number>>();

/** Returns the number of services of `domain`, counted once per snapshot because the domain list needs a count per domain. */
function serviceCount(state: StateDocument, domain: string): number {
  const services = state.services;
  if (!Object.isFrozen(services)) return services.filter((service) => service.domain === domain).length;
  let counts = serviceCounts.get(services);
  if (counts === undefined) {
    counts = new Map();
    for (const service of services) counts.set(service.domain, (counts.get(service.domain) ?? 0) + 1);
    serviceCounts.set(services, counts);
  }
  return counts.get(domain) ?? 0;
}

export function domainView(domain: StoredDomain, state: StateDocument): DomainView {
  return {
    domain: domain.name,
    'domain-unicode': unicodeForm(domain.name),
    site: siteOfDomain(state, domain)?.name ?? domain.site ?? null,
    'acme-directory': domain.acmeDirectory,
    'acme-directory-preset': presetOfUrl(domain.acmeDirectory)?.id ?? 'custom',
    'acme-email': domain.acmeEmail,
    'acme-profile': domain.acmeProfile ?? null,
    'eab-key-id': domain.eabKeyId ?? null,
    'eab-hmac-key': domain.eabKeyId === undefined ? null : 'set',
    'certificate-mode': domain.certificateMode ?? 'per-service',
    'key-type': domain.keyType ?? defaultKeyType,
    'fallback-issuers': (domain.fallbackIssuers ?? []).map((issuer) => ({ directory: issuer.directory, email: issuer.email, 'eab-key-id': issuer.eabKeyId ?? null })),
    'cloudflare-credentials': domain.cloudflareAuth ?? 'api-token',
    'cloudflare-secret': domain.cloudflareSecretHint === undefined ? null : maskSecret(domain.cloudflareSecretHint),
    'cloudflare-dns-secret': domain.cloudflareDnsSecretHint === undefined ? null : maskSecret(domain.cloudflareDnsSecretHint),
    services: serviceCount(state, domain.name),
    deleting: domain.deleting === true,
    ready: domain.verification?.ready ?? null,
    verification: domain.verification === undefined ? null : { 'checked-at': domain.verification.checkedAt, zone: domain.verification.zone, checks: domain.verification.checks },
    'created-at': domain.createdAt,
    'updated-at': domain.updatedAt ?? null,
    'auth-server': domain.authServer ?? null,
    'notify-webhook': domain.notifyWebhook === undefined ? null : maskWebhookUrl(domain.notifyWebhook),
  };
}
