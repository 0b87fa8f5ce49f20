import type { Logger } from 'pino';
import type { DaemonConfig } from '../config.js';
import { CloudflareProvider, type CloudflareCredentials, type ZoneDetails } from '../dns/cloudflare.js';
import { delegationCheck } from '../domains/cloudflare-checks.js';
import { publishedAddresses } from '../domains/sites.js';
import { registrableDomain } from '../domains/names.js';
import { AppError, errorMessage, invalidParameter } from '../errors.js';
import { normaliseHostname, ownershipComment } from '../names.js';
import { certificateSlot } from '../reconcile/certificate-manager.js';
import { warningThresholdMs } from '../reconcile/renewal.js';
import { needsCertificate } from '../reconcile/stream-route.js';
import type { StateDocument, StoredDomain, StoredService } from '../store/model.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';
import { caIdentities, checkDirectories, checkRateLimits, checkRenewal } from './acme-diagnosis.js';
import { boundedCheck, withTimeout } from './bounded.js';
import { findCaaSet, judgeCaa, type CaaSet } from './caa.js';
import { runChallengeProbe, type ProbeResult } from './challenge-probe.js';
import { checkCredentials, newTokenFix, saveCredentialsCommand, zoneOutcome } from './credentials.js';
import { judgeIngress, probeAddress, probeCertificate, type IngressOutcomes } from './ingress-certificate.js';
import { judgeConflicts, judgeRecords, type ExpectedRecords } from './service-records.js';
import { checkIds, overallVerdict, serviceOnlyChecks, skipped, toCheck, type CheckId, type CheckOutcome, type Diagnosis } from './types.js';

/** Time limits of the checks, in milliseconds. */
export interface DiagnoseTimeouts {
  /** Token verification and the zone walk (a few Cloudflare requests). */
  credentials: number;
  /** The NS lookup of the zone. */
  delegation: number;
  /** One listing of the records at the service's name. */
  records: number;
  /** Creating the probe record, the NS lookup and the wait for every server (`probeWait`). */
  probe: number;
  /** How long the servers get to answer the probe value; at most `dns.propagationTimeoutMs`. */
  probeWait: number;
  /** Deleting the probe record, also after the probe timed out. */
  probeCleanup: number;
  directory: number;
  caa: number;
  /** The TLS handshake with the ingress. */
  ingress: number;
}

/**
 * Default limits. The probe waits at most 10 s for the servers: Cloudflare usually publishes a
 * record within seconds, and a longer wait would keep the caller waiting for an answer.
 */
export const defaultTimeouts: DiagnoseTimeouts = {
  credentials: 20_000,
  delegation: 8_000,
  records: 10_000,
  probe: 30_000,
  probeWait: 10_000,
  probeCleanup: 10_000,
  directory: 12_000,
  caa: 8_000,
  ingress: 6_000,
};

export interface DiagnosticsDeps {
  config: DaemonConfig;
  state: StateStore;
  secrets: SecretStore;
  logger: Logger;
  timeouts?: Partial<DiagnoseTimeouts>;
}

/** What a name resolves to: a service with its domain, or a domain alone. */
type Subject = { kind: 'service'; name: string; service: StoredService; domain: StoredDomain } | { kind: 'domain'; name: string; domain: StoredDomain };

type Outcomes = Partial<Record<CheckId, CheckOutcome>>;

/**
 * Runs the checks of `GET /diagnose/{name}`, each bounded in time. The only change a diagnosis
 * makes is the probe TXT record, which it deletes again. Nothing is cached: every call asks
 * Cloudflare, the DNS servers, the CA and the ingress afresh.
 */
export class Diagnostics {
  private readonly timeouts: DiagnoseTimeouts;
  private readonly logger: Logger;

  constructor(private readonly deps: DiagnosticsDeps) {
    const probeWait = Math.min(deps.config.dns.propagationTimeoutMs, deps.timeouts?.probeWait ?? defaultTimeouts.probeWait);
    this.timeouts = { ...defaultTimeouts, ...deps.timeouts, probeWait };
    this.logger = deps.logger.child({ subsystem: 'diagnose' });
  }

  async diagnose(input: string): Promise<Diagnosis> {
    const subject = this.resolve(input);
    const started = Date.now();
    const state = this.deps.state.snapshot();
    const [cloudflare, acme, local] = await Promise.all([this.cloudflareChecks(subject), this.acmeChecks(subject), this.localChecks(subject, state)]);
    const outcomes: Outcomes = { ...cloudflare, ...acme, ...local };
    const checks = checkIds
      .filter((id) => subject.kind === 'service' || !serviceOnlyChecks.has(id))
      .map((id) => toCheck(id, outcomes[id] ?? skipped('Skipped: the check did not run')));
    const diagnosis: Diagnosis = { name: subject.name, kind: subject.kind, verdict: overallVerdict(checks), checks };
    this.logger.info(
      { name: subject.name, kind: subject.kind, verdict: diagnosis.verdict, duration_ms: Date.now() - started, checks: checks.map((check) => `${check.id}=${check.verdict}`) },
      'diagnosis finished',
    );
    return diagnosis;
  }

  /** Finds the service or domain `input` names; a service wins over a domain of the same name. */
  private resolve(input: string): Subject {
    const normalised = normaliseHostname(input);
    if (!normalised.ok) throw invalidParameter('name', normalised.reason);
    const name = normalised.name;
    const state = this.deps.state.snapshot();
    const service = state.services.find((item) => item.fqdn === name);
    if (service !== undefined) {
      const domain = state.domains.find((item) => item.name === service.domain);
      if (domain === undefined) throw new AppError('DOMAIN_NOT_FOUND', `Service ${name} belongs to domain ${service.domain}, which is not registered; register the domain again or delete the service`);
      return { kind: 'service', name, service, domain };
    }
    const domain = state.domains.find((item) => item.name === name);
    if (domain !== undefined) return { kind: 'domain', name, domain };
    throw new AppError('SERVICE_NOT_FOUND', `${name} is neither a registered domain nor a service; list them with "pve-domains get /domains" and "pve-domains get /services"`);
  }

  private async readCredentials(domain: string): Promise<CloudflareCredentials> {
    const text = await this.deps.secrets.require('cloudflare', domain);
    return JSON.parse(text) as CloudflareCredentials;
  }

  /** credentials, zone, delegation, dns-edit, records, conflicts and acme-challenge. */
  private async cloudflareChecks(subject: Subject): Promise<Outcomes> {
    const { config } = this.deps;
    const domain = subject.domain;
    let credentials: CloudflareCredentials;
    try {
      credentials = await this.readCredentials(domain.name);
    } catch (err) {
      const outcome: CheckOutcome = {
        verdict: 'failed',
        message: `The Cloudflare credentials of ${domain.name} are missing or unreadable: ${errorMessage(err)}`,
        fix: `Save them again with: ${saveCredentialsCommand(domain.name, null)}`,
      };
      return { credentials: outcome, ...this.skipRest('the Cloudflare credentials are missing') };
    }

    let zone: ZoneDetails | null = null;
    const credentialsOutcome = await boundedCheck(this.timeouts.credentials, "Check the node's network connection to api.cloudflare.com, then run the diagnosis again", async (signal) => {
      const result = await checkCredentials({ domain: domain.name, name: subject.name, credentials, apiBaseUrl: config.cloudflare.apiBaseUrl, logger: this.logger }, signal);
      zone = result.zone;
      return result.outcome;
    });
    const found = zone as ZoneDetails | null;
    if (found === null || credentialsOutcome.verdict === 'failed') {
      return { credentials: credentialsOutcome, ...this.skipRest('the credentials do not reach the zone') };
    }

    const provider = new CloudflareProvider({ apiBaseUrl: config.cloudflare.apiBaseUrl, credentials, logger: this.logger });
    const [delegation, records, probe] = await Promise.all([
      // NOTE: the NS set comes from the configured resolvers, as domain verification reads it,
      // not from a referral by the parent zone's servers; an extra server that only the parent
      // lists is not seen here.
      boundedCheck(this.timeouts.delegation, `Check that the resolvers of this node respond to NS queries for ${found.name}`, async () => {
        const check = await delegationCheck(found, config.dns.resolvers);
        if (check.status === 'pass') return { verdict: 'ok', message: check.message };
        return { verdict: 'warning', message: check.message, fix: `At the registrar of ${found.name}, set the nameservers to ${found.nameServers.join(', ')}; the change may take up to two days to reach every resolver` };
      }),
      subject.kind === 'service' ? this.recordChecks(provider, found, subject.service, domain) : Promise.resolve({}),
      this.probe(provider, domain, credentials, found, this.challengeName(subject)),
    ]);
    return { credentials: credentialsOutcome, zone: zoneOutcome(found, domain.name), delegation, ...records, 'dns-edit': probe.dnsEdit, 'acme-challenge': probe.challenge };
  }

  /** The name whose `_acme-challenge` record the CA checks: the domain's for a wildcard certificate. */
  private challengeName(subject: Subject): string {
    if (subject.kind === 'domain') return subject.domain.name;
    return certificateSlot(subject.domain, subject.name).mode === 'wildcard' ? subject.domain.name : subject.name;
  }

  private skipRest(reason: string): Outcomes {
    const skip = skipped(`Skipped because ${reason}`);
    return { zone: skip, delegation: skip, 'dns-edit': skip, records: skip, conflicts: skip, 'acme-challenge': skip };
  }

  private async recordChecks(provider: CloudflareProvider, zone: ZoneDetails, service: StoredService, domain: StoredDomain): Promise<Outcomes> {
    const expected: ExpectedRecords = {
      fqdn: service.fqdn,
      zone: zone.name,
      addresses: publishedAddresses(this.deps.state.snapshot(), domain, this.deps.config.site.addresses),
      proxied: service.options?.cloudflareProxied === true,
      comment: ownershipComment(this.deps.config.clusterName, 'service', service.fqdn),
    };
    const fix = "Check the node's network connection to api.cloudflare.com, then run the diagnosis again";
    return withTimeout(
      this.timeouts.records,
      async (signal) => {
        try {
          const listed = await provider.listRecords(zone, { name: service.fqdn }, signal);
          return { records: judgeRecords(expected, listed), conflicts: judgeConflicts(expected, listed) };
        } catch (err) {
          const failed: CheckOutcome = { verdict: 'failed', message: `Unable to list the records of ${service.fqdn}: ${errorMessage(err)}`, fix };
          return { records: failed, conflicts: skipped('Skipped because the records could not be listed') };
        }
      },
      () => {
        const failed: CheckOutcome = { verdict: 'failed', message: `Listing the records of ${service.fqdn} did not finish within ${Math.round(this.timeouts.records / 1000)} s`, fix };
        return { records: failed, conflicts: skipped('Skipped because the records could not be listed') };
      },
    );
  }

  private probe(provider: CloudflareProvider, domain: StoredDomain, credentials: CloudflareCredentials, zone: ZoneDetails, name: string): Promise<ProbeResult> {
    const { config } = this.deps;
    const settings = {
      clusterName: config.clusterName,
      resolvers: config.dns.resolvers,
      authoritativePort: config.dns.authoritativePort,
      waitMs: this.timeouts.probeWait,
      intervalMs: Math.min(config.dns.propagationIntervalMs, 1_000),
      cleanupMs: this.timeouts.probeCleanup,
      logger: this.logger,
    };
    const request = { provider, domain, credentials, zone, name };
    const failed = (message: string): ProbeResult => ({
      dnsEdit: { verdict: 'failed', message, fix: newTokenFix(domain.name, zone.name, credentials) },
      challenge: skipped('Skipped because the probe did not finish'),
    });
    const guarded = async (signal: AbortSignal): Promise<ProbeResult> => {
      try {
        return await runChallengeProbe(request, settings, signal);
      } catch (err) {
        return failed(`The probe failed: ${errorMessage(err)}`);
      }
    };
    const timedOut = (): ProbeResult => ({
      dnsEdit: { verdict: 'warning', message: `The probe did not finish within ${Math.round(this.timeouts.probe / 1000)} s; its record was deleted if it was created`, fix: "Check the node's network connection to api.cloudflare.com and run the diagnosis again" },
      challenge: { verdict: 'failed', message: `The probe did not finish within ${Math.round(this.timeouts.probe / 1000)} s`, fix: "Check the node's network connection to api.cloudflare.com and to the zone's nameservers, then run the diagnosis again" },
    });
    // The grace period lets the probe delete its record after the time limit.
    return withTimeout(this.timeouts.probe, guarded, timedOut, this.timeouts.probeCleanup + 1_000);
  }

  /** ca-directory and caa; the directory tells the CA's CAA identities. */
  private async acmeChecks(subject: Subject): Promise<Outcomes> {
    const { domain } = subject;
    const directory = await checkDirectories(domain, this.deps.config.acme.caFile, this.timeouts.directory);
    const identities = caIdentities(domain, directory.meta);
    const identifiers = subject.kind === 'service' ? certificateSlot(domain, subject.name).names : domain.certificateMode === 'wildcard' ? [domain.name, `*.${domain.name}`] : [domain.name];
    const stopAt = registrableDomain(domain.name) ?? domain.name;
    const resolvers = this.deps.config.dns.resolvers;
    const caa = await boundedCheck(this.timeouts.caa, `Check that the resolvers of this node respond to CAA queries for ${domain.name}`, async (signal) => {
      const sets: Array<{ identifier: string; set: CaaSet | null }> = [];
      for (const identifier of identifiers) {
        try {
          sets.push({ identifier, set: await findCaaSet(identifier, stopAt, resolvers, signal) });
        } catch (err) {
          return {
            verdict: 'warning',
            message: `${errorMessage(err)}; a CA that gets no CAA answer refuses to issue`,
            fix: `Check that the zone's nameservers respond to CAA queries, and that the resolvers of this node reach them`,
          };
        }
      }
      return judgeCaa(sets, identities, domain.acmeDirectory);
    });
    return { 'ca-directory': directory.outcome, caa };
  }

  /** rate-limits and renewal from the shared state; served-certificate and certificate-expiry from the ingress. */
  private async localChecks(subject: Subject, state: StateDocument): Promise<Outcomes> {
    const { domain } = subject;
    if (subject.kind === 'domain') {
      const ids = (state.certificateLifecycles ?? []).filter((item) => item.domain === domain.name).map((item) => item.id);
      const issued = state.certificates.filter((item) => item.domain === domain.name).map((item) => item.id);
      return { 'rate-limits': checkRateLimits(state, domain, null), renewal: checkRenewal(state, [...new Set([...ids, ...issued])].sort()) };
    }
    if (!needsCertificate(subject.service)) {
      const reason = `Skipped: ${subject.name} forwards ${subject.service.protocol ?? 'tcp'} without TLS and uses no certificate`;
      return { 'rate-limits': skipped(reason), renewal: skipped(reason), 'served-certificate': skipped(reason), 'certificate-expiry': skipped(reason) };
    }
    const slot = certificateSlot(domain, subject.name);
    const ingress = await this.ingressChecks(subject.name, slot.id, state);
    return {
      'rate-limits': checkRateLimits(state, domain, slot.names),
      renewal: checkRenewal(state, [slot.id]),
      'served-certificate': ingress.served,
      'certificate-expiry': ingress.expiry,
    };
  }

  private async ingressChecks(fqdn: string, certificateId: string, state: StateDocument): Promise<IngressOutcomes> {
    const listener = this.deps.config.proxy.httpsBind;
    const stored = state.certificates.find((item) => item.id === certificateId);
    let presented;
    try {
      presented = await probeCertificate(probeAddress(listener.address), listener.port, fqdn, this.timeouts.ingress);
    } catch (err) {
      presented = err instanceof Error ? err : new Error(String(err));
    }
    // Warn when less time is left than the renewal's own warning threshold (14 days at most).
    const warnBeforeMs = stored === undefined ? 14 * 86_400_000 : warningThresholdMs(stored);
    return judgeIngress({ fqdn, certificateId, stored, listener, node: this.deps.config.cluster.nodeName, warnBeforeMs }, presented);
  }
}
