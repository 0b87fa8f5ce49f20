import type { FastifyInstance } from 'fastify';
import { limitsFor, usageFor, type LimitUsage } from '../acme/rate-limits.js';
import { AppError } from '../errors.js';
import { lifetimeRenewal } from '../reconcile/renewal.js';
import type { CertificateLifecycle, StoredCertificate } from '../store/model.js';
import type { ApiContext } from './context.js';
import { parseDomainName } from './validation.js';

/** A certificate with its renewal state, as the API returns it. */
export interface CertificateView {
  id: string;
  domain: string;
  names: string[];
  issuer: string;
  'not-before': string;
  'not-after': string;
  serial: string;
  'key-type': string;
  mode: string;
  'ari-window': { start: string; end: string; selected: string; 'check-after': string } | null;
  'next-renewal': string | null;
  'renewal-rule': string | null;
  'last-error': string | null;
  failures: number;
  'next-attempt': string | null;
  blocked: boolean;
  warning: string | null;
  'pending-order': string | null;
}

/**
 * Builds the API view of a certificate. Until the next renewal pass plans a new certificate, its
 * next renewal is the one the lifetime rule gives, as the pass would plan it without ARI.
 */
export function certificateView(certificate: StoredCertificate, lifecycle: CertificateLifecycle | undefined): CertificateView {
  const ari = lifecycle?.ari ?? null;
  const planned = lifecycle?.renewAt ?? null;
  const byLifetime = planned === null ? lifetimeRenewal(certificate) : null;
  return {
    id: certificate.id,
    domain: certificate.domain,
    names: certificate.names,
    issuer: certificate.directory,
    'not-before': certificate.notBefore,
    'not-after': certificate.notAfter,
    serial: certificate.serial,
    'key-type': certificate.keyType ?? 'ecdsa-p256',
    mode: certificate.mode ?? 'per-service',
    'ari-window': ari === null ? null : { start: ari.start, end: ari.end, selected: ari.selected, 'check-after': ari.checkAfter },
    'next-renewal': byLifetime === null ? planned : byLifetime.at.toISOString(),
    'renewal-rule': byLifetime === null ? (lifecycle?.renewRule ?? null) : byLifetime.rule,
    'last-error': lifecycle?.lastError ?? null,
    failures: lifecycle?.failures ?? 0,
    'next-attempt': lifecycle?.nextAttemptAt ?? null,
    blocked: lifecycle?.blocked ?? false,
    warning: lifecycle?.warning ?? null,
    'pending-order': lifecycle?.pendingOrder?.url ?? null,
  };
}

const idParamsSchema = {
  params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 300 } } },
} as const;

const domainParamsSchema = {
  params: { type: 'object', required: ['domain'], properties: { domain: { type: 'string', maxLength: 300 } } },
} as const;

export function registerCertificateRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get('/certificates', () => {
    const state = context.state.snapshot();
    const lifecycles = state.certificateLifecycles ?? [];
    const issued = state.certificates.map((certificate) => certificateView(certificate, lifecycles.find((item) => item.id === certificate.id)));
    return { data: issued };
  });

  app.post<{ Params: { id: string } }>('/certificates/:id/renew', { schema: idParamsSchema }, (request) => {
    const id = request.params.id.toLowerCase();
    if (context.renewCertificate === undefined) throw new AppError('INTERNAL', 'This daemon was started without certificate management');
    const certificate = context.renewCertificate(id);
    const lifecycle = (context.state.snapshot().certificateLifecycles ?? []).find((item) => item.id === id);
    context.logger.info({ certificate: id }, 'certificate renewal requested');
    return { data: certificateView(certificate, lifecycle) };
  });

  app.get<{ Params: { domain: string } }>('/domains/:domain/rate-limits', { schema: domainParamsSchema }, (request) => {
    const name = parseDomainName('domain', request.params.domain);
    const state = context.state.snapshot();
    const domain = state.domains.find((item) => item.name === name);
    if (domain === undefined) throw new AppError('DOMAIN_NOT_FOUND', `Domain ${name} is not registered; list the registered domains with GET /domains`);
    const ledger = state.issuanceLedger ?? [];
    const directories = [domain.acmeDirectory, ...(domain.fallbackIssuers ?? []).map((item) => item.directory)];
    const data = directories.map((directory) => {
      const account = state.acmeAccounts.find((item) => item.directory === directory)?.url ?? '';
      const limits: LimitUsage[] = usageFor(ledger, { directory, account, registeredDomain: name, nameSet: '', renewal: false }, limitsFor(directory)).filter(
        (usage) => usage.scope !== 'name-set',
      );
      const nameSets = [...new Set(ledger.filter((item) => item.registeredDomain === name && item.directory === directory).map((item) => item.nameSet))].map((nameSet) => ({
        'name-set': nameSet,
        usage: usageFor(ledger, { directory, account, registeredDomain: name, nameSet, renewal: false }, limitsFor(directory)).filter((usage) => usage.scope === 'name-set'),
      }));
      return {
        directory,
        enforced: limitsFor(directory).length > 0,
        limits,
        'name-sets': nameSets,
        orders: ledger.filter((item) => item.registeredDomain === name && item.directory === directory && item.kind === 'order').length,
        certificates: ledger.filter((item) => item.registeredDomain === name && item.directory === directory && item.kind === 'certificate').length,
      };
    });
    return { data };
  });
}
