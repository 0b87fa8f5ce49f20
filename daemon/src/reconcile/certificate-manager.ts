import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ariCertificateId, fetchRenewalInfo, pickRenewalTime, renewalInfoUrl } from '../acme/ari.js';
import { splitPemChain } from '../acme/certificate-check.js';
import { challengeTarget, removeOrphanChallenges } from '../acme/challenge-records.js';
import { sendMail } from '../acme/expiry-mail.js';
import type { AcmeIssuer } from '../acme/issuer.js';
import { defaultKeyType } from '../acme/key-types.js';
import { CaError } from '../acme/problem.js';
import { checkRateLimits, nameSetKey, pruneLedger } from '../acme/rate-limits.js';
import { servedSerial } from '../acme/served-certificate.js';
import type { DaemonConfig } from '../config.js';
import type { DnsProvider } from '../dns/provider.js';
import { AppError, errorMessage } from '../errors.js';
import { observedOrder, type CertificateObserver } from '../notify/certificate-observer.js';
import { challengeRecordName } from '../names.js';
import type { IngressProxy } from '../proxy/ingress.js';
import type { CertificateFiles } from '../store/certificate-files.js';
import type { CertificateLifecycle, StateDocument, StoredCertificate, StoredDomain } from '../store/model.js';
import type { StateStore } from '../store/state-store.js';
import { findEntry } from '../store/find-entry.js';
import type { TaskHandle } from '../tasks/task-store.js';
import { retryDelay } from './backoff.js';
import { planRenewals, nextDueTime, warningThresholdMs, type RenewalDecision } from './renewal.js';

export interface CertificateManagerDeps {
  config: DaemonConfig;
  state: StateStore;
  files: CertificateFiles;
  issuer: AcmeIssuer;
  proxy: IngressProxy;
  dnsFor(domain: StoredDomain): Promise<DnsProvider>;
  /** Whether this node holds the cluster's work lock; renewal passes run only there. Absent = always. */
  isWorkHolder?(): boolean;
  /** Runs each order as a task, counts and notifies its outcome; absent = none of these. */
  observer?: CertificateObserver;
  logger: Logger;
}

/** The certificate that serves one name, and the names it is ordered for. */
export interface CertificateSlot {
  id: string;
  names: string[];
  mode: 'per-service' | 'wildcard';
}

/** Interval between two expiry mails for the same certificate. */
const warningMailIntervalMs = 86_400_000;

/** Picks the certificate of `fqdn`: the domain's wildcard in wildcard mode, else its own. */
export function certificateSlot(domain: StoredDomain, fqdn: string): CertificateSlot {
  const wildcardCovers = fqdn !== domain.name && fqdn.slice(0, -(domain.name.length + 1)).split('.').length === 1;
  if (domain.certificateMode === 'wildcard' && wildcardCovers) {
    return { id: `*.${domain.name}`, names: [domain.name, `*.${domain.name}`], mode: 'wildcard' };
  }
  return { id: fqdn, names: [fqdn], mode: 'per-service' };
}

/** Hash of the domain settings a failure count belongs to; a change restarts the retries. */
export function domainFingerprint(domain: StoredDomain): string {
  const settings = [domain.acmeDirectory, domain.acmeEmail, domain.certificateMode ?? 'per-service', domain.keyType ?? defaultKeyType, JSON.stringify(domain.fallbackIssuers ?? [])];
  const updated = (domain as { updatedAt?: unknown }).updatedAt;
  if (typeof updated === 'string') settings.push(updated);
  return createHash('sha256').update(settings.join('\n')).digest('hex').slice(0, 16);
}

/** Removes credentials that an upstream message might echo. */
export function redactSecrets(message: string): string {
  return message.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1[redacted]').replace(/("?(?:hmac|token|key)"?\s*[:=]\s*"?)[A-Za-z0-9._~+/=-]{16,}/gi, '$1[redacted]');
}

function newLifecycle(id: string, domain: StoredDomain, names: string[]): CertificateLifecycle {
  return {
    id,
    domain: domain.name,
    names,
    failures: 0,
    lastError: null,
    lastErrorAt: null,
    nextAttemptAt: null,
    blocked: false,
    configFingerprint: domainFingerprint(domain),
    pendingOrder: null,
    ari: null,
    renewAt: null,
    renewRule: null,
    issuerIndex: 0,
    warning: null,
    warnedAt: null,
  };
}

function lifecycleIn(state: StateDocument, id: string): CertificateLifecycle | undefined {
  return findEntry(state.certificateLifecycles ?? [], (item) => item.id === id);
}

/**
 * Issues, installs and renews certificates, and keeps per-certificate failure state: backoff,
 * blocking of errors that waiting cannot heal, CA rate limits, fallback issuers and expiry
 * warnings. Orders for one certificate id never run concurrently.
 */
export class CertificateManager {
  private readonly logger: Logger;
  private readonly running = new Map<string, Promise<StoredCertificate>>();
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private stopped = true;
  private readonly abort = new AbortController();

  constructor(private readonly deps: CertificateManagerDeps) {
    this.logger = deps.logger.child({ subsystem: 'certificates' });
  }

  /** Starts the renewal passes: one now, then at the interval or the next due time. */
  start(): void {
    this.stopped = false;
    this.pass = this.removeOrphans().finally(() => this.schedule(0));
  }

  /**
   * Removes challenge TXT records of this cluster that no running order uses: after a crash
   * between publishing and validation they would stay in the zone.
   */
  private async removeOrphans(): Promise<void> {
    const state = this.deps.state.snapshot();
    for (const domain of state.domains) {
      const names = new Set<string>([domain.name]);
      for (const service of state.services.filter((item) => item.domain === domain.name)) names.add(service.fqdn);
      for (const lifecycle of (state.certificateLifecycles ?? []).filter((item) => item.domain === domain.name)) {
        for (const name of lifecycle.names) names.add(name.startsWith('*.') ? name.slice(2) : name);
      }
      try {
        const dns = await this.deps.dnsFor(domain);
        for (const name of names) {
          const target = await challengeTarget(dns, challengeRecordName(name), domain.name, this.abort.signal);
          await removeOrphanChallenges(dns, target.zone, [target.name], this.deps.config.clusterName, (record) => this.deps.issuer.isChallengeRunning(record.comment), this.logger, this.abort.signal);
        }
      } catch (err) {
        this.logger.warn({ err: errorMessage(err), domain: domain.name }, 'unable to remove leftover challenge records; the next order at each name removes them');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    await this.pass;
    await Promise.allSettled(this.running.values());
  }

  /**
   * Returns the certificate serving `fqdn`, ordering it when none is stored, and installs it in
   * the proxy. Renewal is left to the renewal passes.
   */
  async ensureForService(domain: StoredDomain, fqdn: string, signal?: AbortSignal): Promise<StoredCertificate> {
    const slot = certificateSlot(domain, fqdn);
    const stored = this.deps.state.snapshot().certificates.find((item) => item.id === slot.id);
    const pair = stored === undefined ? null : await this.deps.files.load(slot.id);
    const usable = stored !== undefined && pair !== null && stored.directory !== '' && Date.parse(stored.notAfter) > Date.now() && slot.names.every((name) => stored.names.includes(name));
    if (usable) {
      await this.deps.proxy.setCertificate(slot.id, pair.chainPem, pair.keyPem, signal);
      return stored;
    }
    return this.obtain(domain, slot, { renewal: false, force: false }, signal);
  }

  /** Orders `id` now, bypassing the backoff but not the CA's rate limits or a blocking error. */
  renewNow(id: string): StoredCertificate {
    const state = this.deps.state.snapshot();
    const certificate = state.certificates.find((item) => item.id === id);
    if (certificate === undefined) throw new AppError('CERTIFICATE_NOT_FOUND', `Certificate ${id} does not exist; list the certificates with GET /certificates`);
    const domain = state.domains.find((item) => item.name === certificate.domain);
    if (domain === undefined) throw new AppError('DOMAIN_NOT_FOUND', `The domain ${certificate.domain} of certificate ${id} is no longer registered`);
    const slot: CertificateSlot = { id, names: certificate.names, mode: certificate.mode ?? 'per-service' };
    // An order already running may have been sent before this request; the new order follows it.
    const previous = this.running.get(id) ?? Promise.resolve();
    const next = previous.then(
      () => this.obtain(domain, slot, { renewal: true, force: true }, this.abort.signal),
      () => this.obtain(domain, slot, { renewal: true, force: true }, this.abort.signal),
    );
    next.catch((err: unknown) => {
      this.logger.error({ err, certificate: id }, 'requested renewal failed');
    });
    return certificate;
  }

  /** Runs one order for `slot` under its lock; a second caller waits for the running order. */
  private obtain(domain: StoredDomain, slot: CertificateSlot, options: { renewal: boolean; force: boolean }, signal?: AbortSignal): Promise<StoredCertificate> {
    const running = this.running.get(slot.id);
    if (running !== undefined) return running;
    const order = observedOrder(this.deps.observer, options.renewal, slot.id, (task) => this.order(domain, slot, options, task, signal)).finally(() => this.running.delete(slot.id));
    this.running.set(slot.id, order);
    return order;
  }

  private async order(domain: StoredDomain, slot: CertificateSlot, options: { renewal: boolean; force: boolean }, task: TaskHandle, signal?: AbortSignal): Promise<StoredCertificate> {
    const log = this.logger.child({ certificate: slot.id });
    const now = new Date();
    const lifecycle = await this.deps.state.update((state) => {
      state.certificateLifecycles ??= [];
      let current = lifecycleIn(state, slot.id);
      if (current === undefined) {
        current = newLifecycle(slot.id, domain, slot.names);
        state.certificateLifecycles.push(current);
      }
      const fingerprint = domainFingerprint(domain);
      if (current.configFingerprint !== fingerprint) {
        Object.assign(current, { failures: 0, blocked: false, nextAttemptAt: null, issuerIndex: 0, pendingOrder: null, lastError: null, configFingerprint: fingerprint });
      }
      current.names = slot.names;
      return current;
    });
    if (lifecycle.blocked) {
      throw new AppError('ACME_FAILED', `Certificate ${slot.id} is not ordered again until the settings of ${domain.name} change: ${lifecycle.lastError ?? 'unknown error'}`, { retryable: false });
    }
    const next = lifecycle.nextAttemptAt === null ? 0 : Date.parse(lifecycle.nextAttemptAt);
    if (next > now.getTime() && (!options.force || lifecycle.renewRule === 'rate-limit')) {
      throw new AppError('ACME_FAILED', `Certificate ${slot.id} waits until ${new Date(next).toISOString()} before the next order after: ${lifecycle.lastError ?? 'an earlier failure'}`);
    }

    const issuers = [{ directory: domain.acmeDirectory, email: domain.acmeEmail }, ...(domain.fallbackIssuers ?? [])];
    const issuer = issuers[lifecycle.issuerIndex % issuers.length] ?? issuers[0];
    if (issuer === undefined) throw new AppError('INTERNAL', 'no issuer configured');
    const snapshot = this.deps.state.snapshot();
    const previous = snapshot.certificates.find((item) => item.id === slot.id);
    const replaces = options.renewal && lifecycle.ari !== null && previous?.ariCertId !== undefined && previous.directory === issuer.directory ? previous.ariCertId : null;
    const keyType = domain.keyType ?? defaultKeyType;
    const account = snapshot.acmeAccounts.find((item) => item.directory === issuer.directory && item.email === issuer.email)?.url ?? `${issuer.directory} ${issuer.email}`;
    const planned = { directory: issuer.directory, account, registeredDomain: domain.name, nameSet: nameSetKey(slot.names), renewal: replaces !== null };
    task.log(`${options.renewal ? 'Renewing' : 'Ordering'} certificate ${slot.id} for ${slot.names.join(', ')} (${keyType}) from ${issuer.directory}${replaces === null ? '' : `, replacing ${replaces}`}`);
    if (lifecycle.pendingOrder !== null) task.log(`Resuming the order ${lifecycle.pendingOrder.url}`);

    try {
      const refused = lifecycle.pendingOrder === null ? checkRateLimits(snapshot.issuanceLedger ?? [], planned) : null;
      if (refused !== null) {
        throw new CaError(`Not ordering ${slot.names.join(', ')} from ${issuer.directory}: ${refused.reason}; the limit frees up at ${refused.freesAt.toISOString()}`, 'rate-limited', null, refused.freesAt);
      }
      const dns = await this.deps.dnsFor(domain);
      task.log('Publishing the DNS-01 challenge records in Cloudflare and waiting for the CA to validate them');
      const issued = await this.deps.issuer.issue(
        {
          certificateId: slot.id,
          registeredDomain: domain.name,
          directory: issuer.directory,
          email: issuer.email,
          names: slot.names,
          keyType,
          replaces,
          resume: lifecycle.pendingOrder,
          onOrderCreated: (pending) =>
            this.deps.state.update((state) => {
              const current = lifecycleIn(state, slot.id);
              if (current !== undefined) current.pendingOrder = pending;
              state.issuanceLedger = pruneLedger([...(state.issuanceLedger ?? []), { ...planned, kind: 'order', at: new Date().toISOString() }]);
            }),
        },
        dns,
        signal,
      );
      task.log(`Certificate issued: serial ${issued.serial}, valid until ${issued.notAfter.toISOString()}`);
      const leaf = splitPemChain(issued.chainPem)[0] ?? '';
      const record: StoredCertificate = {
        id: slot.id,
        domain: domain.name,
        names: issued.names,
        serial: issued.serial,
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
        issuedAt: new Date().toISOString(),
        directory: issuer.directory,
        keyType,
        mode: slot.mode,
        ...(ariCertificateId(leaf) === null ? {} : { ariCertId: ariCertificateId(leaf) ?? '' }),
      };
      await this.deps.files.save(slot.id, { chainPem: issued.chainPem, keyPem: issued.keyPem });
      await this.deps.state.update((state) => {
        state.certificates = state.certificates.filter((item) => item.id !== slot.id);
        state.certificates.push(record);
        state.issuanceLedger = pruneLedger([...(state.issuanceLedger ?? []), { ...planned, kind: 'certificate', at: new Date().toISOString() }]);
        const current = lifecycleIn(state, slot.id);
        if (current !== undefined) {
          Object.assign(current, { failures: 0, lastError: null, lastErrorAt: null, nextAttemptAt: null, pendingOrder: null, ari: null, warning: null, warnedAt: null, renewAt: null, renewRule: null, issuerIndex: lifecycle.issuerIndex });
        }
      });
      await this.deps.issuer.forgetOrderKey(slot.id);
      // setCertificate replaces a loaded certificate with HAProxy's set and commit, without a reload.
      await this.deps.proxy.setCertificate(slot.id, issued.chainPem, issued.keyPem, signal);
      await this.confirmServed(record, log);
      task.log('Certificate stored and installed in HAProxy');
      this.deps.observer?.issued(record, options.renewal);
      log.info({ serial: record.serial, not_after: record.notAfter, directory: issuer.directory, replaces }, 'certificate installed');
      return record;
    } catch (err) {
      if (signal?.aborted === true) throw err;
      await this.recordFailure(slot, domain, err, issuers.length, log);
      const failed = lifecycleIn(this.deps.state.snapshot(), slot.id);
      this.deps.observer?.failed({ id: slot.id, domain: domain.name, failures: failed?.failures ?? 1, error: failed?.lastError ?? redactSecrets(errorMessage(err)), nextAttemptAt: failed?.nextAttemptAt ?? null, blocked: failed?.blocked === true }, options.renewal);
      throw err;
    }
  }

  /** Checks over TLS that the ingress presents the new serial. */
  private async confirmServed(record: StoredCertificate, log: Logger): Promise<void> {
    const bind = this.deps.config.proxy.httpsBind;
    const address = bind.address === '0.0.0.0' ? '127.0.0.1' : bind.address === '::' ? '::1' : bind.address;
    const servername = record.names.find((name) => !name.startsWith('*.')) ?? record.names[0]?.slice(2) ?? '';
    try {
      const serial = await servedSerial(address, bind.port, servername);
      if (serial !== record.serial) log.error({ served: serial, expected: record.serial }, 'the ingress serves another certificate than the one just installed');
    } catch (err) {
      log.warn({ err }, 'unable to confirm the served certificate over TLS');
    }
  }

  private async recordFailure(slot: CertificateSlot, domain: StoredDomain, err: unknown, issuerCount: number, log: Logger): Promise<void> {
    const message = redactSecrets(errorMessage(err));
    const permanent = (err instanceof CaError && err.kind === 'permanent') || (err instanceof AppError && (err.code === 'DNS_AUTH_FAILED' || !err.retryable));
    const rateLimited = err instanceof CaError && err.kind === 'rate-limited';
    const notBefore = err instanceof CaError ? err.notBefore : null;
    const { backoffMinMs, backoffMaxMs, failuresBeforeFallback } = this.deps.config.certificates;
    let nextAt: string | null = null;
    await this.deps.state.update((state) => {
      state.certificateLifecycles ??= [];
      let current = lifecycleIn(state, slot.id);
      if (current === undefined) {
        current = newLifecycle(slot.id, domain, slot.names);
        state.certificateLifecycles.push(current);
      }
      current.failures += 1;
      current.lastError = message;
      current.lastErrorAt = new Date().toISOString();
      current.blocked = permanent;
      if (permanent) {
        current.nextAttemptAt = null;
        current.pendingOrder = null;
        current.renewRule = 'blocked';
      } else {
        const backoff = Date.now() + retryDelay(current.failures, backoffMinMs, backoffMaxMs);
        // A CA's Retry-After (or the time a ledger limit frees up) is a floor, never shortened.
        const next = Math.max(backoff, notBefore?.getTime() ?? 0);
        current.nextAttemptAt = new Date(next).toISOString();
        current.renewRule = rateLimited ? 'rate-limit' : 'backoff';
      }
      if (issuerCount > 1 && current.failures % failuresBeforeFallback === 0) {
        current.issuerIndex = (current.issuerIndex + 1) % issuerCount;
        current.pendingOrder = null;
      }
      nextAt = current.nextAttemptAt;
    });
    log.error({ err: message, next_attempt: nextAt, blocked: permanent }, 'certificate order failed');
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pass = this.renewalPass()
        .then((nextDue) => {
          const interval = this.deps.config.certificates.renewalCheckIntervalMs;
          const untilDue = nextDue === null ? interval : nextDue.getTime() - Date.now();
          this.schedule(Math.max(100, Math.min(interval, untilDue)));
        })
        .catch((err: unknown) => {
          this.logger.error({ err }, 'renewal pass failed');
          this.schedule(this.deps.config.certificates.renewalCheckIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * One renewal pass: plan every certificate without side effects, then act on the queues.
   * Returns the next time something is due.
   */
  async renewalPass(now = new Date()): Promise<Date | null> {
    if (this.deps.isWorkHolder?.() === false) return null;
    const state = this.deps.state.snapshot();
    const lifecycles = state.certificateLifecycles ?? [];
    const ariDirectories = new Map<string, string>();
    for (const directory of new Set(state.certificates.map((item) => item.directory))) {
      try {
        const url = await renewalInfoUrl(directory);
        if (url !== null) ariDirectories.set(directory, url);
      } catch (err) {
        this.logger.warn({ err: errorMessage(err), directory }, 'unable to read the acme directory; renewal falls back to the lifetime rule');
      }
    }
    const decisions = planRenewals(state.certificates, lifecycles, new Set(ariDirectories.keys()), now);
    await this.recordPlan(decisions);

    for (const decision of decisions) {
      if (this.stopped) break;
      let action = decision.action;
      if (action === 'fetch-ari') action = await this.refreshRenewalInfo(decision, ariDirectories, now);
      if (action === 'renew') await this.renewOne(decision);
    }
    await this.updateWarnings(new Date());
    const after = this.deps.state.snapshot();
    return nextDueTime(planRenewals(after.certificates, after.certificateLifecycles ?? [], new Set(ariDirectories.keys()), new Date()), after.certificateLifecycles ?? []);
  }

  private async recordPlan(decisions: RenewalDecision[]): Promise<void> {
    await this.deps.state.update((state) => {
      for (const decision of decisions) {
        const lifecycle = lifecycleIn(state, decision.id);
        if (lifecycle === undefined || decision.action === 'fetch-ari') continue;
        lifecycle.renewAt = decision.at?.toISOString() ?? null;
        lifecycle.renewRule = decision.rule;
      }
    });
  }

  /** Fetches the ARI window of one certificate and returns whether it is due now. */
  private async refreshRenewalInfo(decision: RenewalDecision, ariDirectories: Map<string, string>, now: Date): Promise<'renew' | 'wait'> {
    const certificate = this.deps.state.snapshot().certificates.find((item) => item.id === decision.id);
    const base = certificate === undefined ? undefined : ariDirectories.get(certificate.directory);
    if (certificate?.ariCertId === undefined || base === undefined) return 'wait';
    let info;
    try {
      info = await fetchRenewalInfo(base, certificate.ariCertId, now);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), certificate: decision.id }, 'unable to fetch renewal information');
      return 'wait';
    }
    if (info === null) return 'wait';
    const selected = await this.deps.state.update((state) => {
      state.certificateLifecycles ??= [];
      let lifecycle = lifecycleIn(state, decision.id);
      const domain = findEntry(state.domains, (item) => item.name === certificate.domain);
      if (lifecycle === undefined && domain !== undefined) {
        lifecycle = newLifecycle(decision.id, domain, certificate.names);
        state.certificateLifecycles.push(lifecycle);
      }
      if (lifecycle === undefined) return null;
      const previous = lifecycle.ari;
      // Keep the time picked earlier while it still lies inside the window (RFC 9773 section 4.2).
      const keep = previous !== null && Date.parse(previous.selected) >= info.start.getTime() && Date.parse(previous.selected) <= info.end.getTime();
      const pick = keep ? new Date(previous.selected) : pickRenewalTime(info);
      lifecycle.ari = { start: info.start.toISOString(), end: info.end.toISOString(), selected: pick.toISOString(), checkAfter: info.checkAfter.toISOString(), explanationUrl: info.explanationUrl };
      // A renewal that failed while the window was fetched (one started through the API) set a
      // retry time, which a CA's Retry-After may require, so the window must not replace it.
      if (lifecycle.nextAttemptAt !== null && Date.parse(lifecycle.nextAttemptAt) > Date.now()) return null;
      lifecycle.renewAt = pick.toISOString();
      lifecycle.renewRule = 'ari-window';
      return pick;
    });
    return selected !== null && selected <= now ? 'renew' : 'wait';
  }

  private async renewOne(decision: RenewalDecision): Promise<void> {
    // The act phase re-reads the store: a newer certificate (renewed by another node) is kept.
    const state = this.deps.state.snapshot();
    const certificate = state.certificates.find((item) => item.id === decision.id);
    if (certificate === undefined || certificate.serial !== decision.serial) return;
    const domain = state.domains.find((item) => item.name === certificate.domain);
    if (domain === undefined) return;
    try {
      await this.obtain(domain, { id: certificate.id, names: certificate.names, mode: certificate.mode ?? 'per-service' }, { renewal: true, force: false }, this.abort.signal);
    } catch {
      // Recorded on the certificate by obtain.
    }
  }

  /** Raises or clears expiry warnings: close to expiry while renewal is failing. */
  private async updateWarnings(now: Date): Promise<void> {
    // Plain values only, because the draft objects of the update stop working when it ends.
    const mails: Array<{ certificate: { id: string; notAfter: string }; text: string; email: string }> = [];
    await this.deps.state.update((state) => {
      for (const lifecycle of state.certificateLifecycles ?? []) {
        const certificate = findEntry(state.certificates, (item) => item.id === lifecycle.id);
        if (certificate === undefined) continue;
        const left = Date.parse(certificate.notAfter) - now.getTime();
        if (lifecycle.failures === 0 || left > warningThresholdMs(certificate)) {
          lifecycle.warning = null;
          continue;
        }
        const text = `Certificate ${certificate.id} (${certificate.names.join(', ')}) expires at ${certificate.notAfter} and its renewal is failing: ${lifecycle.lastError ?? 'unknown error'}`;
        lifecycle.warning = text;
        if (lifecycle.warnedAt === null || now.getTime() - Date.parse(lifecycle.warnedAt) >= warningMailIntervalMs) {
          lifecycle.warnedAt = now.toISOString();
          const email = findEntry(state.domains, (item) => item.name === certificate.domain)?.acmeEmail ?? '';
          mails.push({ certificate: { id: certificate.id, notAfter: certificate.notAfter }, text, email });
        }
      }
    });
    for (const mail of mails) {
      this.logger.warn({ certificate: mail.certificate.id, not_after: mail.certificate.notAfter }, mail.text);
      const recipients = ['root', ...(mail.email === '' ? [] : [mail.email])];
      try {
        await sendMail(this.deps.config.certificates.sendmailPath, recipients, `pve-domains: certificate ${mail.certificate.id} expires soon`, mail.text);
      } catch (err) {
        this.logger.error({ err: errorMessage(err), certificate: mail.certificate.id }, 'unable to send the expiry warning mail');
      }
    }
  }
}
