import type { Logger } from 'pino';
import type { AcmeIssuer } from '../acme/issuer.js';
import type { DaemonConfig } from '../config.js';
import type { DnsProvider, DnsZone } from '../dns/provider.js';
import { AppError, errorMessage } from '../errors.js';
import { challengeRecordName, ownershipComment } from '../names.js';
import type { Counter } from '../metrics/registry.js';
import type { IngressProxy } from '../proxy/ingress.js';
import type { GuestConfigurator } from '../pve/guest-config.js';
import type { GuestDirectory } from '../pve/guests.js';
import type { CertificateFiles } from '../store/certificate-files.js';
import type { Condition, StoredCertificate, StoredDomain, StoredService } from '../store/model.js';
import type { StateStore } from '../store/state-store.js';
import { findEntry } from '../store/find-entry.js';
import { retryDelay } from './backoff.js';
import { certificateSlot, type CertificateManager } from './certificate-manager.js';
import { setCondition } from './conditions.js';
import { applySignInCondition, routeOptionsOf } from './sign-in.js';
import { checkReachable, resolveServiceTargets, type ResolvedTargets } from './guest-targets.js';
import { deleteOwnedRecords, ensureAddressRecords } from './dns-records.js';
import { ensureSrvRecord, srvPublication } from './srv-records.js';
import { applyStreamRoute, isStreamService, needsCertificate, removeStreamRoute, type StreamForwarding } from './stream-route.js';
import { applyGuestConfig, removeGuestConfig } from './guest-config-step.js';
import { publishedAddresses } from '../domains/sites.js';
import { removeDeletedDomain } from '../domains/deletion.js';
import { lifetimeRenewal } from './renewal.js';

export interface ReconcilerDeps {
  config: DaemonConfig;
  state: StateStore;
  certificates: CertificateFiles;
  issuer: AcmeIssuer;
  guests: GuestDirectory;
  proxy: IngressProxy;
  /** The DNS provider of a domain, built from its stored credentials. */
  dnsFor(domain: StoredDomain): Promise<DnsProvider>;
  /** Orders, installs and renews certificates. */
  certificateManager: CertificateManager;
  /**
   * Whether this node holds the cluster's work lock. Only the holder runs the DNS, certificate and
   * guest configuration steps; the other nodes install the stored certificate and the route in
   * their own proxy. Absent = this node does everything.
   */
  isWorkHolder?(): boolean;
  /** Firewall rules and tags on guests; the step is skipped when absent. */
  guestConfig?: GuestConfigurator;
  /** Removes the secrets of a domain that the reconciler removed with its last service. */
  onDomainRemoved?(domain: string): Promise<void>;
  /** Forwarding of tcp and udp services; their route step fails when the kind is absent. */
  streams?: StreamForwarding;
  /** Counts failed passes by step and reason when set. */
  metrics?: { reconcileErrors: Counter<'step' | 'reason'> };
  logger: Logger;
}

/**
 * Returns true when `certificate` is due for renewal by its lifetime alone (without renewal
 * information from the CA). The rule itself is lifetimeRenewal in renewal.ts.
 */
export function renewalDue(certificate: StoredCertificate, now = new Date()): boolean {
  return now.getTime() >= lifetimeRenewal(certificate).at.getTime();
}

/**
 * The loop that makes DNS, certificates and the proxy match the stored services. It is
 * level-triggered: each pass reads the desired state afresh and repeats only what is missing,
 * so any pass may be interrupted and the next one completes the work. Services are handled one
 * at a time, which keeps the rate of calls to Cloudflare and the CA low.
 */
export class Reconciler {
  private readonly logger: Logger;
  private readonly pending = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private wake: (() => void) | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly deps: ReconcilerDeps) {
    this.logger = deps.logger.child({ subsystem: 'reconciler' });
  }

  /** Queues every stored service and starts the work loop and the periodic resynchronisation. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.enqueueAll();
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.deps.config.reconcile.resyncIntervalMs);
    this.resyncTimer.unref();
    this.loop = this.run();
    this.logger.info({ services: this.pending.size }, 'reconciler started');
  }

  /** Stops after the current step; work left is picked up by the next start. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    if (this.resyncTimer !== null) clearInterval(this.resyncTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.wake?.();
    await this.loop;
    this.logger.info('reconciler stopped');
  }

  /** Returns the number of services queued now and of those waiting for a scheduled retry. */
  queueStatus(): { pending: number; scheduled: number } {
    return { pending: this.pending.size, scheduled: this.timers.size };
  }

  /** Number of services queued for a pass now; scheduled retries are not counted. */
  queueLength(): number {
    return this.pending.size;
  }

  /** Queues one service now, cancelling a scheduled retry. */
  enqueue(fqdn: string): void {
    const timer = this.timers.get(fqdn);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.timers.delete(fqdn);
    }
    this.pending.add(fqdn);
    this.wake?.();
  }

  private enqueueAll(): void {
    const now = Date.now();
    for (const service of this.deps.state.snapshot().services) {
      const next = service.retry.nextAttemptAt === null ? 0 : Date.parse(service.retry.nextAttemptAt);
      if (next <= now) this.enqueue(service.fqdn);
      else this.schedule(service.fqdn, next - now);
    }
  }

  private schedule(fqdn: string, delayMs: number): void {
    if (!this.running) return;
    const previous = this.timers.get(fqdn);
    if (previous !== undefined) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.timers.delete(fqdn);
      this.enqueue(fqdn);
    }, delayMs);
    timer.unref();
    this.timers.set(fqdn, timer);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const next = this.pending.values().next();
      if (next.done === true) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      const fqdn = next.value;
      this.pending.delete(fqdn);
      await this.reconcileService(fqdn);
    }
  }

  /** Runs one pass over one service; a failing step is recorded on the service, not thrown. */
  async reconcileService(fqdn: string): Promise<void> {
    const snapshot = this.deps.state.snapshot();
    const service = snapshot.services.find((item) => item.fqdn === fqdn);
    if (service === undefined) {
      if (this.deps.isWorkHolder?.() === false) await this.removeLocalRoute(fqdn);
      return;
    }
    const domain = snapshot.domains.find((item) => item.name === service.domain);
    const log = this.logger.child({ service: fqdn, vmid: service.vmid });
    if (domain !== undefined && this.deps.isWorkHolder?.() === false) {
      await this.applyLocalRoute(service, domain, log);
      return;
    }
    const step: { current: Condition['type'] } = { current: 'guest' };
    try {
      if (domain === undefined) {
        throw new AppError('DOMAIN_NOT_FOUND', `The domain ${service.domain} of service ${fqdn} is no longer registered; register it again or delete the service`, { retryable: false });
      }
      if (service.deleting) await this.removeService(service, domain, log, step);
      else await this.applyService(service, domain, log, step);
    } catch (err) {
      await this.recordFailure(fqdn, step.current, err, log);
    }
  }

  private async applyService(service: StoredService, domain: StoredDomain, log: Logger, step: { current: Condition['type'] }): Promise<void> {
    const signal = this.abort.signal;
    const { fqdn } = service;

    // Guest addresses.
    step.current = 'guest';
    const resolved = await this.resolveGuests(service, log, signal);

    // Firewall rule and tag on the guests.
    if (this.deps.guestConfig !== undefined) {
      step.current = 'guest-config';
      const condition = await applyGuestConfig(this.deps.guestConfig, this.deps.guests, service, this.deps.state.snapshot(), log, signal);
      await this.deps.state.update((state) => {
        const current = findEntry(state.services, (item) => item.fqdn === fqdn);
        if (current !== undefined) setCondition(current.conditions, condition);
      });
    }

    // Address records.
    step.current = 'dns';
    const dns = await this.deps.dnsFor(domain);
    const zone = await dns.findZone(fqdn, domain.name, signal);
    const comment = ownershipComment(this.deps.config.clusterName, 'service', fqdn);
    const addresses = publishedAddresses(this.deps.state.snapshot(), domain, this.deps.config.site.addresses);
    await ensureAddressRecords(dns, zone, fqdn, addresses, comment, log, signal, { proxied: service.options?.cloudflareProxied === true });
    await this.publishSrv(service, dns, zone, comment, log, signal);
    await this.markTrue(fqdn, 'dns', 'RecordsPresent', `${fqdn} points at ${addresses.join(', ')} in zone ${zone.name}`);

    // Certificate: ordered when missing and installed in the proxy; renewal passes renew it.
    // Plain tcp and udp services have none.
    if (needsCertificate(service)) {
      step.current = 'certificate';
      const slot = certificateSlot(domain, fqdn);
      if (!this.deps.state.snapshot().certificates.some((item) => item.id === slot.id)) {
        await this.markUnknown(fqdn, 'certificate', 'Ordering', `ordering certificate ${slot.id} for ${slot.names.join(', ')} from ${domain.acmeDirectory}`);
      }
      const certificate = await this.deps.certificateManager.ensureForService(domain, fqdn, signal);
      await this.markTrue(fqdn, 'certificate', 'Issued', `certificate ${certificate.id}, serial ${certificate.serial}, valid until ${certificate.notAfter}`);
    }

    // Route.
    step.current = 'route';
    if (isStreamService(service)) await this.applyStream(service, resolved, signal);
    else await this.applyRoute(service, resolved, signal);
    log.info({ targets: resolved.routeTargets, maintenance: resolved.maintenance }, 'service reconciled');
  }

  /**
   * Guest step: resolves every target, records where the guests are, and checks new addresses for
   * a TCP listener. An unreachable port is a warning in the condition message, not a failure,
   * because the guest may still be starting.
   */
  private async resolveGuests(service: StoredService, log: Logger, signal: AbortSignal): Promise<ResolvedTargets> {
    const resolved = await resolveServiceTargets(this.deps.guests, service, signal);
    const unreachable: string[] = [];
    // A UDP port cannot be probed with a connection, so only tcp and http targets are checked.
    const probed = service.protocol === 'udp' ? [] : resolved.newTargets;
    for (const target of probed) {
      if (!(await checkReachable(target))) unreachable.push(`${target.address}:${target.port}`);
    }
    const condition = { ...resolved.condition };
    if (unreachable.length > 0) {
      condition.message += `; warning: no TCP listener at ${unreachable.join(', ')} yet (the guest may be starting)`;
      log.warn({ targets: unreachable }, 'target not reachable over TCP');
    }
    await this.deps.state.update((state) => {
      const current = findEntry(state.services, (item) => item.fqdn === service.fqdn);
      if (current === undefined) return;
      current.observed.targets = resolved.observed;
      setCondition(current.conditions, condition);
    });
    return resolved;
  }

  /** Route step of tcp and udp services: hands the targets to the forwarder of their kind (stream-route.ts). */
  private async applyStream(service: StoredService, resolved: ResolvedTargets, signal: AbortSignal): Promise<void> {
    const { fqdn } = service;
    const domain = this.deps.state.snapshot().domains.find((item) => item.name === service.domain);
    const certificateId = domain === undefined ? null : certificateSlot(domain, fqdn).id;
    const message = await applyStreamRoute(this.deps.streams ?? {}, service, resolved, certificateId, signal);
    await this.deps.state.update((state) => {
      const current = findEntry(state.services, (item) => item.fqdn === fqdn);
      if (current === undefined) return;
      current.observed.target = resolved.routeTargets[0] ?? null;
      if (resolved.condition.status === 'true') current.retry = { failures: 0, nextAttemptAt: null, lastError: null };
      setCondition(current.conditions, { type: 'route', status: 'true', reason: resolved.maintenance ? 'Maintenance' : 'Forwarded', message });
    });
  }

  /** SRV part of the DNS step: publishes, moves or removes the SRV record of a tcp or udp service. */
  private async publishSrv(service: StoredService, dns: DnsProvider, zone: DnsZone, comment: string, log: Logger, signal: AbortSignal): Promise<void> {
    const previous = service.observed.srvRecord ?? null;
    const protocol = service.protocol === 'tcp' || service.protocol === 'udp' ? service.protocol : null;
    const desired = protocol === null || service.srv === undefined || service.externalPort === undefined ? null : srvPublication(service.fqdn, protocol, service.srv.service, service.externalPort, service.srv.priority, service.srv.weight);
    if (desired === null && previous === null) return;
    await ensureSrvRecord(dns, zone, desired, previous, comment, log, signal);
    await this.deps.state.update((state) => {
      const current = findEntry(state.services, (item) => item.fqdn === service.fqdn);
      if (current !== undefined) current.observed.srvRecord = desired?.name ?? null;
    });
  }

  /** Route step: hands the resolved targets and the service options to the ingress. */
  private async applyRoute(service: StoredService, resolved: ResolvedTargets, signal: AbortSignal): Promise<void> {
    const { fqdn } = service;
    const first = resolved.routeTargets[0] ?? null;
    const domain = this.deps.state.snapshot().domains.find((item) => item.name === service.domain);
    await this.deps.proxy.setRoute({ hostname: fqdn, targets: resolved.routeTargets, maintenance: resolved.maintenance, options: routeOptionsOf(service, domain) }, signal);
    const where = resolved.routeTargets.map((target) => `${target.address}:${target.port}`).join(', ') || 'no target';
    const message = resolved.maintenance ? `https://${fqdn} returns 503 (maintenance page): no running guest (${where})` : `https://${fqdn} is routed to ${where}`;
    await this.deps.state.update((state) => {
      const current = findEntry(state.services, (item) => item.fqdn === fqdn);
      if (current === undefined) return;
      current.observed.target = first;
      if (resolved.condition.status === 'true') current.retry = { failures: 0, nextAttemptAt: null, lastError: null };
      setCondition(current.conditions, { type: 'route', status: 'true', reason: resolved.maintenance ? 'Maintenance' : 'Routed', message });
      applySignInCondition(current.conditions, current, domain);
    });
  }

  /**
   * Re-resolves the guests of an already routed service and updates its route, without the DNS
   * and certificate steps. The guest watcher calls this when a guest moved, stopped, started or
   * changed its address.
   */
  async refreshRoute(fqdn: string): Promise<void> {
    const service = this.deps.state.snapshot().services.find((item) => item.fqdn === fqdn);
    if (service === undefined || service.deleting) return;
    if (!service.conditions.some((item) => item.type === 'route' && item.status === 'true')) {
      // Never routed yet: the full pass does everything.
      this.enqueue(fqdn);
      return;
    }
    const log = this.logger.child({ service: fqdn, vmid: service.vmid });
    try {
      const resolved = await this.resolveGuests(service, log, this.abort.signal);
      if (isStreamService(service)) await this.applyStream(service, resolved, this.abort.signal);
      else await this.applyRoute(service, resolved, this.abort.signal);
      log.info({ targets: resolved.routeTargets, maintenance: resolved.maintenance }, 'route refreshed');
    } catch (err) {
      await this.recordFailure(fqdn, 'guest', err, log);
    }
  }

  private async removeService(service: StoredService, domain: StoredDomain, log: Logger, step: { current: Condition['type'] }): Promise<void> {
    const signal = this.abort.signal;
    const { fqdn } = service;

    step.current = 'route';
    await this.deps.proxy.removeRoute(fqdn, signal);
    // A TLS tcp service binds its certificate file, so the service goes before the certificate.
    await removeStreamRoute(this.deps.streams ?? {}, fqdn, signal);
    await this.deps.proxy.removeCertificate(fqdn, signal);

    step.current = 'dns';
    let deleted = 0;
    try {
      const dns = await this.deps.dnsFor(domain);
      const zone = await dns.findZone(fqdn, domain.name, signal);
      const comments = [ownershipComment(this.deps.config.clusterName, 'service', fqdn), ownershipComment(this.deps.config.clusterName, 'acme', fqdn)];
      const srvNames = service.observed.srvRecord == null ? [] : [service.observed.srvRecord];
      deleted = await deleteOwnedRecords(dns, zone, [fqdn, challengeRecordName(fqdn), ...srvNames], comments, signal);
    } catch (err) {
      // A zone these credentials cannot see contains no record the product could have created,
      // unless the records step once succeeded (the token may have lost access since).
      const published = service.conditions.some((item) => item.type === 'dns' && item.status === 'true');
      const zoneMissing = err instanceof AppError && err.code === 'DNS_ZONE_NOT_FOUND';
      if (service.forceDelete !== true && (published || !zoneMissing)) {
        throw new AppError(
          err instanceof AppError ? err.code : 'DNS_API_FAILED',
          `${errorMessage(err)}; the service stays until its DNS records are removed, or delete it with force (pve-domains delete /services/${fqdn} --force 1) to leave them in place`,
          { cause: err },
        );
      }
      log.warn({ err, forced: service.forceDelete === true }, 'dns records of a deleted service left in place');
    }

    if (this.deps.guestConfig !== undefined) {
      step.current = 'guest-config';
      await removeGuestConfig(this.deps.guestConfig, this.deps.guests, service, this.deps.state.snapshot(), signal);
    }

    step.current = 'certificate';
    await this.deps.certificates.remove(fqdn);
    const domainRemoved = await this.deps.state.update((state) => {
      state.certificates = state.certificates.filter((item) => item.id !== fqdn);
      state.certificateLifecycles = (state.certificateLifecycles ?? []).filter((item) => item.id !== fqdn);
      state.services = state.services.filter((item) => item.fqdn !== fqdn);
      return removeDeletedDomain(state, domain.name);
    });
    log.info({ records_deleted: deleted }, 'service removed');
    if (domainRemoved) {
      await this.deps.onDomainRemoved?.(domain.name);
      log.info({ domain: domain.name }, 'domain removed with its last service');
    }
  }

  /**
   * The pass of a node without the work lock: installs the certificate the holder stored and the
   * route in this node's proxy, or removes both for a service being deleted. It writes nothing to
   * the shared state; a failure is logged and retried after the minimum retry delay.
   */
  private async applyLocalRoute(service: StoredService, domain: StoredDomain, log: Logger): Promise<void> {
    const signal = this.abort.signal;
    const { fqdn } = service;
    try {
      if (service.deleting) {
        await this.removeLocalRoute(fqdn);
        return;
      }
      if (!needsCertificate(service)) {
        const resolvedStream = await resolveServiceTargets(this.deps.guests, service, signal);
        await applyStreamRoute(this.deps.streams ?? {}, service, resolvedStream, null, signal);
        log.info({ targets: resolvedStream.routeTargets }, 'forwarding applied from the shared state');
        return;
      }
      const slot = certificateSlot(domain, fqdn);
      const stored = this.deps.state.snapshot().certificates.find((item) => item.id === slot.id);
      const pair = stored === undefined ? null : await this.deps.certificates.load(slot.id);
      if (pair === null) {
        // The state poller queues the service again once the holder has stored the certificate.
        log.info({ certificate: slot.id }, 'waiting for the work lock holder to obtain the certificate');
        return;
      }
      await this.deps.proxy.setCertificate(slot.id, pair.chainPem, pair.keyPem, signal);
      const resolved = await resolveServiceTargets(this.deps.guests, service, signal);
      if (isStreamService(service)) await applyStreamRoute(this.deps.streams ?? {}, service, resolved, slot.id, signal);
      else await this.deps.proxy.setRoute({ hostname: fqdn, targets: resolved.routeTargets, maintenance: resolved.maintenance, options: routeOptionsOf(service, domain) }, signal);
      log.info({ targets: resolved.routeTargets, maintenance: resolved.maintenance }, 'route applied from the shared state');
    } catch (err) {
      if (signal.aborted) return;
      log.error({ err, retry_in_ms: this.deps.config.reconcile.retryMinMs }, 'unable to apply the route from the shared state');
      this.schedule(fqdn, this.deps.config.reconcile.retryMinMs);
    }
  }

  /** Removes a route and its certificate from this node's proxy only. */
  private async removeLocalRoute(fqdn: string): Promise<void> {
    try {
      await this.deps.proxy.removeRoute(fqdn, this.abort.signal);
      await removeStreamRoute(this.deps.streams ?? {}, fqdn, this.abort.signal);
      await this.deps.proxy.removeCertificate(fqdn, this.abort.signal);
    } catch (err) {
      this.logger.error({ err, service: fqdn }, 'unable to remove the route of a removed service');
    }
  }

  private async markTrue(fqdn: string, type: Condition['type'], reason: string, message: string): Promise<void> {
    await this.deps.state.update((state) => {
      const current = findEntry(state.services, (item) => item.fqdn === fqdn);
      if (current !== undefined) setCondition(current.conditions, { type, status: 'true', reason, message });
    });
  }

  private async markUnknown(fqdn: string, type: Condition['type'], reason: string, message: string): Promise<void> {
    await this.deps.state.update((state) => {
      const current = findEntry(state.services, (item) => item.fqdn === fqdn);
      if (current !== undefined) setCondition(current.conditions, { type, status: 'unknown', reason, message });
    });
  }

  private async recordFailure(fqdn: string, type: Condition['type'], err: unknown, log: Logger): Promise<void> {
    if (!this.running && this.abort.signal.aborted) {
      log.info({ step: type }, 'pass interrupted by shutdown');
      return;
    }
    const reason = err instanceof AppError ? pascalCase(err.code) : 'InternalError';
    this.deps.metrics?.reconcileErrors.inc({ step: type, reason });
    const message = errorMessage(err);
    const retryable = !(err instanceof AppError) || err.retryable;
    const { retryMinMs, retryMaxMs } = this.deps.config.reconcile;
    let delay: number | null = null;
    try {
      await this.deps.state.update((state) => {
        const current = findEntry(state.services, (item) => item.fqdn === fqdn);
        if (current === undefined) return;
        current.retry.failures += 1;
        delay = retryable ? retryDelay(current.retry.failures, retryMinMs, retryMaxMs) : null;
        current.retry.nextAttemptAt = delay === null ? null : new Date(Date.now() + delay).toISOString();
        current.retry.lastError = message;
        setCondition(current.conditions, { type, status: 'false', reason, message });
      });
    } catch (storeErr) {
      log.error({ err: storeErr }, 'unable to record the failure of a pass');
      delay = retryMinMs;
    }
    log.error({ err, step: type, retry_in_ms: delay }, 'service pass failed');
    if (delay !== null) this.schedule(fqdn, delay);
  }
}

function pascalCase(code: string): string {
  return code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
