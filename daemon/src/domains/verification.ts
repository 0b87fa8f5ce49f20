import type { Logger } from 'pino';
import { CloudflareProvider, type CloudflareCredentials, type ZoneDetails } from '../dns/cloudflare.js';
import { errorMessage } from '../errors.js';
import type { DomainVerification, VerificationCheck } from '../store/model.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';
import { caaCheck, caaIdentitiesOf, issuerCheck, type IssuerCheckRequest } from './acme-checks.js';
import { credentialProblem, delegationCheck, dnsEditCheck, searchZone, zoneCheck, type ZoneSearch } from './cloudflare-checks.js';

export interface VerifierSettings {
  clusterName: string;
  cloudflareApiBaseUrl: string;
  /** Resolvers for the NS and CAA lookups (`address` or `address:port`); empty = the system's. */
  resolvers: string[];
  /** Extra CA trusted for ACME directories, or null. */
  acmeCaFile: string | null;
  logger: Logger;
}

export interface VerificationRequest {
  domain: string;
  credentials: CloudflareCredentials;
  /** The primary issuer first, then the fallback issuers in order. */
  issuers: IssuerCheckRequest[];
}

/** Checks whose failure stops a save: credentials, zone, DNS edit permission, ACME account. */
const blockingChecks = new Set<VerificationCheck['check']>(['credentials', 'zone', 'dns-edit', 'acme-account']);

export function isReady(checks: readonly VerificationCheck[]): boolean {
  return !checks.some((item) => blockingChecks.has(item.check) && (item.status === 'fail' || item.status === 'skip'));
}

/**
 * Runs the checks of a domain against Cloudflare and the CA. The ACME accounts are registered
 * only when every Cloudflare check passed, so that rejected credentials leave no account key
 * behind.
 */
export class DomainVerifier {
  constructor(
    private readonly settings: VerifierSettings,
    private readonly state: StateStore,
    private readonly secrets: SecretStore,
  ) {}

  async verify(request: VerificationRequest, signal?: AbortSignal): Promise<DomainVerification> {
    const log = this.settings.logger.child({ subsystem: 'domain-verification', domain: request.domain });
    const provider = new CloudflareProvider({ apiBaseUrl: this.settings.cloudflareApiBaseUrl, credentials: request.credentials, logger: this.settings.logger });
    const { checks, zone } = await this.cloudflareChecks(provider, request, log, signal);
    const cloudflarePassed = isReady(checks);
    const zoneName = zone?.name ?? request.domain;
    for (const [index, issuer] of request.issuers.entries()) {
      const role = index === 0 ? '' : ` (fallback issuer ${index})`;
      if (!cloudflarePassed) {
        checks.push({ check: 'acme-account', status: 'skip', message: `Skipped the ACME account at ${issuer.directory}${role} until the Cloudflare checks pass` });
        continue;
      }
      const { check, meta } = await issuerCheck(issuer, this.settings.acmeCaFile, this.state, this.secrets);
      checks.push({ ...check, message: `${check.message}${role}` });
      if (index === 0) checks.push(await caaCheck(request.domain, zoneName, caaIdentitiesOf(issuer.directory, meta), this.settings.resolvers));
    }
    const result: DomainVerification = { ready: isReady(checks), zone: zone?.name ?? null, checkedAt: new Date().toISOString(), checks };
    log.info({ ready: result.ready, checks: checks.map((item) => `${item.check}=${item.status}`) }, 'domain verified');
    return result;
  }

  private async cloudflareChecks(provider: CloudflareProvider, request: VerificationRequest, log: Logger, signal?: AbortSignal): Promise<{ checks: VerificationCheck[]; zone: ZoneDetails | null }> {
    const { credentials, domain } = request;
    const checks: VerificationCheck[] = [];
    const skipRest = (reason: string): { checks: VerificationCheck[]; zone: null } => {
      for (const check of ['zone', 'delegation', 'dns-edit'] as const) {
        if (!checks.some((item) => item.check === check)) checks.push({ check, status: 'skip', message: `skipped because ${reason}` });
      }
      return { checks, zone: null };
    };

    // Account-owned tokens are verified at their account's endpoint, whose id the zone carries,
    // so for them (and for the global key, which has no verify endpoint) the zone comes first.
    const userToken = credentials.kind === 'token' && !credentials.token.startsWith('cfat_');
    if (userToken) {
      const failed = await this.tokenCheck(provider, credentials, null, checks, signal);
      if (failed) return skipRest('Cloudflare rejected the credentials');
    }
    let search: ZoneSearch;
    try {
      search = await searchZone(provider, domain, signal);
    } catch (err) {
      checks.push({ check: 'zone', status: 'fail', message: `Unable to look up the Cloudflare zone of ${domain}: ${errorMessage(err)}` });
      return skipRest('the zone lookup failed');
    }
    if (search.kind === 'credentials-rejected') {
      checks.push({ check: 'credentials', status: 'fail', message: credentialProblem(search.error, credentials) });
      return skipRest('Cloudflare rejected the credentials');
    }
    if (!userToken) {
      if (credentials.kind === 'token') {
        if (search.kind !== 'found' || search.zone.accountId === null) {
          checks.push({ check: 'credentials', status: 'skip', message: 'The account token could not be verified: its account is known only from a visible zone' });
        } else if (await this.tokenCheck(provider, credentials, search.zone.accountId, checks, signal)) {
          return skipRest('Cloudflare rejected the credentials');
        }
      } else {
        checks.push({ check: 'credentials', status: 'pass', message: `Cloudflare accepted the Global API Key of ${credentials.email}` });
      }
    }
    checks.push(zoneCheck(domain, search));
    if (search.kind !== 'found') return skipRest('no zone was found');
    const zone = search.zone;
    if (zone.status !== 'active') {
      checks.push({ check: 'delegation', status: 'skip', message: `skipped because zone ${zone.name} is ${zone.status}` });
    } else {
      checks.push(await delegationCheck(zone, this.settings.resolvers));
    }
    checks.push(await dnsEditCheck(provider, zone, domain, this.settings.clusterName, log, signal));
    return { checks, zone };
  }

  /** Adds the credentials check of a token; returns true when it failed. */
  private async tokenCheck(provider: CloudflareProvider, credentials: CloudflareCredentials, accountId: string | null, checks: VerificationCheck[], signal?: AbortSignal): Promise<boolean> {
    try {
      const token = await provider.verifyToken(accountId, signal);
      if (token.status !== 'active') {
        const expiry = token.expiresOn === null ? '' : ` (expires on ${token.expiresOn})`;
        checks.push({ check: 'credentials', status: 'fail', message: `The API token ${token.id} is ${token.status}${expiry}; enable it or create a new token in the Cloudflare dashboard` });
        return true;
      }
      checks.push({ check: 'credentials', status: 'pass', message: `The API token ${token.id} is active${token.expiresOn === null ? '' : ` until ${token.expiresOn}`}` });
      return false;
    } catch (err) {
      checks.push({ check: 'credentials', status: 'fail', message: credentialProblem(err, credentials) });
      return true;
    }
  }
}
