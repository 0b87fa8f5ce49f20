import type { Logger } from 'pino';
import { CloudflareProvider, type CloudflareCredentials, type ZoneDetails } from '../dns/cloudflare.js';
import { errorMessage } from '../errors.js';
import { DAEMON_USER } from '../notify/certificate-observer.js';
import { credentialsRejected, type Notification } from '../notify/events.js';
import type { DomainVerification, VerificationCheck } from '../store/model.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';
import { runTask, type TaskHandle, type TaskStore } from '../tasks/task-store.js';
import { caaCheck, caaIdentitiesOf, issuerCheck, type IssuerCheckRequest } from './acme-checks.js';
import { credentialProblem, delegationCheck, dnsEditCheck, isAccountToken, namedTokens, searchZone, zoneCheck, type NamedToken, type ZoneSearch } from './cloudflare-checks.js';

export interface VerifierSettings {
  clusterName: string;
  cloudflareApiBaseUrl: string;
  /** Resolvers for the NS and CAA lookups (`address` or `address:port`); empty = the system's. */
  resolvers: string[];
  /** Extra CA trusted for ACME directories, or null. */
  acmeCaFile: string | null;
  /** Records each verification as a `verify` task when set. */
  tasks?: TaskStore;
  /** Receives a credentials-rejected event when Cloudflare rejects a registered domain's credentials. */
  notify?(notification: Notification): unknown;
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

  /** Runs the checks as a `verify` task; the task ends with an error when the domain is not ready. */
  verify(request: VerificationRequest, signal?: AbortSignal): Promise<DomainVerification> {
    return runTask(this.settings.tasks, 'verify', request.domain, DAEMON_USER, (task) => this.runChecks(request, task, signal));
  }

  private async runChecks(request: VerificationRequest, task: TaskHandle, signal?: AbortSignal): Promise<DomainVerification> {
    task.log(`Verifying domain ${request.domain}: Cloudflare credentials, zone, delegation and DNS edit permission, then the ACME account`);
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
    for (const item of checks) task.log(`${item.check}: ${item.status}: ${item.message}`);
    const rejected = checks.find((item) => item.check === 'credentials' && item.status === 'fail');
    // A domain still being registered receives the result in the API response, so only a stored domain is notified.
    if (rejected !== undefined && this.state.snapshot().domains.some((item) => item.name === request.domain)) this.settings.notify?.(credentialsRejected(request.domain, rejected.message));
    if (!result.ready) task.finish(new Error(`domain ${request.domain} is not ready: ${checks.find((item) => item.status === 'fail')?.message ?? 'a blocking check was skipped'}`));
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
    // so they (and the global key, which has no verify endpoint) are checked after the zone.
    const tokens = namedTokens(credentials);
    let tokenFailed = false;
    for (const token of tokens.filter((item) => !isAccountToken(item.token))) {
      if (await this.tokenCheck(token, null, checks, signal)) tokenFailed = true;
    }
    if (tokenFailed) return skipRest('Cloudflare rejected the credentials');
    let search: ZoneSearch;
    try {
      search = await searchZone(provider, domain, signal);
    } catch (err) {
      checks.push({ check: 'zone', status: 'fail', message: `Unable to look up the Cloudflare zone of ${domain}: ${errorMessage(err)}` });
      return skipRest('the zone lookup failed');
    }
    if (search.kind === 'credentials-rejected') {
      const zoneToken = credentials.kind === 'split' ? tokens[0] : undefined;
      const message = zoneToken === undefined ? credentialProblem(search.error, credentials) : `${zoneToken.label}: ${credentialProblem(search.error, { kind: 'token', token: zoneToken.token })}`;
      checks.push({ check: 'credentials', status: 'fail', message });
      return skipRest('Cloudflare rejected the credentials');
    }
    for (const token of tokens.filter((item) => isAccountToken(item.token))) {
      if (search.kind !== 'found' || search.zone.accountId === null) {
        checks.push({ check: 'credentials', status: 'skip', message: `${token.label} is an account token and could not be verified: its account is known only from a visible zone` });
      } else if (await this.tokenCheck(token, search.zone.accountId, checks, signal)) {
        tokenFailed = true;
      }
    }
    if (tokenFailed) return skipRest('Cloudflare rejected the credentials');
    if (credentials.kind === 'global-key') checks.push({ check: 'credentials', status: 'pass', message: `Cloudflare accepted the Global API Key of ${credentials.email}` });
    const split = credentials.kind === 'split';
    checks.push(zoneCheck(domain, search, split ? 'the zone token (cloudflare-zone-token)' : 'the token'));
    if (search.kind !== 'found') return skipRest('no zone was found');
    const zone = search.zone;
    if (zone.status !== 'active') {
      checks.push({ check: 'delegation', status: 'skip', message: `skipped because zone ${zone.name} is ${zone.status}` });
    } else {
      checks.push(await delegationCheck(zone, this.settings.resolvers));
    }
    checks.push(await dnsEditCheck(provider, zone, domain, this.settings.clusterName, log, signal, split ? 'the DNS token (cloudflare-dns-token)' : 'the token'));
    return { checks, zone };
  }

  /** Adds the credentials check of one token; returns true when it failed. */
  private async tokenCheck(token: NamedToken, accountId: string | null, checks: VerificationCheck[], signal?: AbortSignal): Promise<boolean> {
    const credentials: CloudflareCredentials = { kind: 'token', token: token.token };
    const provider = new CloudflareProvider({ apiBaseUrl: this.settings.cloudflareApiBaseUrl, credentials, logger: this.settings.logger });
    try {
      const status = await provider.verifyToken(accountId, signal);
      if (status.status !== 'active') {
        const expiry = status.expiresOn === null ? '' : ` (expires on ${status.expiresOn})`;
        checks.push({ check: 'credentials', status: 'fail', message: `${token.label} ${status.id} is ${status.status}${expiry}; enable it or create a new token in the Cloudflare dashboard` });
        return true;
      }
      checks.push({ check: 'credentials', status: 'pass', message: `${token.label} ${status.id} is active${status.expiresOn === null ? '' : ` until ${status.expiresOn}`}` });
      return false;
    } catch (err) {
      const problem = credentialProblem(err, credentials);
      checks.push({ check: 'credentials', status: 'fail', message: token.split ? `${token.label}: ${problem}` : problem });
      return true;
    }
  }
}
