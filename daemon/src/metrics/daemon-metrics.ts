import type { RouteStatus } from '../proxy/ingress.js';
import { lifetimeRenewal } from '../reconcile/renewal.js';
import type { CertificateLifecycle, StateDocument, StoredCertificate } from '../store/model.js';
import type { MetricFamily, Sample } from './exposition.js';
import { MetricsRegistry, type Counter } from './registry.js';

const prefix = 'pve_domains_';

/** Sources the scrape-time collectors read; every part but the state is optional. */
export interface MetricsSources {
  state: { snapshot(): StateDocument };
  /** Backends and target states of this node's HAProxy. */
  routeStatus?: () => Promise<RouteStatus[]>;
  /** Services waiting in the reconciler's queue now, and those waiting for a scheduled retry. */
  reconcileQueue?: () => { pending: number; scheduled: number };
}

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

function gauge(name: string, help: string, samples: Sample[]): MetricFamily {
  return { name: `${prefix}${name}`, help, type: 'gauge', samples };
}

/**
 * Returns the next renewal or retry of a certificate, or null while it is blocked. After a failure
 * this is the retry time, else the time the last renewal pass planned. A new certificate has no
 * plan until the next pass, so the lifetime rule gives its time.
 */
export function nextRenewalTime(certificate: StoredCertificate, lifecycle: CertificateLifecycle | undefined): string | null {
  if (lifecycle?.blocked === true) return null;
  return lifecycle?.nextAttemptAt ?? lifecycle?.renewAt ?? lifetimeRenewal(certificate).at.toISOString();
}

/** Certificate families from the shared state, so every node reports the same figures. */
export function certificateFamilies(state: StateDocument): MetricFamily[] {
  const notAfter: Sample[] = [];
  const nextRenewal: Sample[] = [];
  const failures: Sample[] = [];
  const blocked: Sample[] = [];
  const lifecycles = state.certificateLifecycles ?? [];
  for (const certificate of state.certificates) {
    const labels = { id: certificate.id, domain: certificate.domain };
    const lifecycle = lifecycles.find((item) => item.id === certificate.id);
    notAfter.push({ labels, value: seconds(certificate.notAfter) });
    const renewAt = nextRenewalTime(certificate, lifecycle);
    if (renewAt !== null) nextRenewal.push({ labels, value: seconds(renewAt) });
    failures.push({ labels, value: lifecycle?.failures ?? 0 });
    blocked.push({ labels, value: lifecycle?.blocked === true ? 1 : 0 });
  }
  return [
    gauge('certificate_not_after_timestamp_seconds', 'Expiry time of the stored certificate (Unix seconds).', notAfter),
    gauge('certificate_next_renewal_timestamp_seconds', 'Time of the next planned renewal or retry (Unix seconds); absent while renewal is blocked.', nextRenewal),
    gauge('certificate_renewal_failures', 'Consecutive failed orders of the certificate since its last issuance or settings change.', failures),
    gauge('certificate_renewal_blocked', '1 while the certificate is not ordered again until its domain settings change.', blocked),
  ];
}

/** Service families from the shared state. */
export function serviceFamilies(state: StateDocument): MetricFamily[] {
  const failing = state.services.filter((service) => service.retry.failures > 0).length;
  return [
    gauge('services', 'Services in the shared state.', [{ labels: {}, value: state.services.length }]),
    gauge('services_failing', 'Services whose last reconcile pass failed.', [{ labels: {}, value: failing }]),
  ];
}

/** Backend families of this node's HAProxy; `routes` is null when the statistics could not be read. */
export function backendFamilies(routes: RouteStatus[] | null): MetricFamily[] {
  const up: Sample[] = [];
  const targets: Sample[] = [];
  for (const route of routes ?? []) {
    up.push({ labels: { fqdn: route.hostname }, value: route.targets.some((target) => target.state === 'up') ? 1 : 0 });
    const counts = new Map<string, number>();
    for (const target of route.targets) counts.set(target.state, (counts.get(target.state) ?? 0) + 1);
    for (const [state, count] of counts) targets.push({ labels: { fqdn: route.hostname, state }, value: count });
  }
  return [
    gauge('haproxy_stats_up', '1 when this scrape read the HAProxy statistics, 0 when reading them failed.', [{ labels: {}, value: routes === null ? 0 : 1 }]),
    gauge('backend_up', '1 when at least one target of the service is up in this node\'s HAProxy, else 0.', up),
    gauge('backend_targets', 'Targets of the service per HAProxy server state (up, down, maintenance, drain, unknown).', targets),
  ];
}

/**
 * The daemon's metrics, prefixed `pve_domains_`. Counters are per process and start at 0 when the
 * daemon starts; the gauges are read at each scrape.
 */
export class DaemonMetrics {
  readonly registry = new MetricsRegistry();
  readonly apiRequests: Counter<'method' | 'status'>;
  readonly reconcileErrors: Counter<'step' | 'reason'>;
  readonly cloudflareRequests: Counter<'operation' | 'status'>;
  readonly cloudflareErrors: Counter<'operation'>;
  readonly caRequests: Counter<'operation' | 'status'>;
  readonly caErrors: Counter<'operation'>;
  readonly certificateOrders: Counter<'kind' | 'result'>;
  readonly notifications: Counter<'event' | 'channel' | 'result'>;

  constructor(sources?: MetricsSources) {
    const registry = this.registry;

    if (sources !== undefined) {
      registry.addCollector(() => certificateFamilies(sources.state.snapshot()));
      registry.addCollector(() => serviceFamilies(sources.state.snapshot()));
    }

    this.certificateOrders = registry.counter(`${prefix}certificate_orders_total`, 'Certificate orders this process ran, by kind (issue, renew) and result (ok, error).', ['kind', 'result']);
    if (sources?.reconcileQueue !== undefined) {
      const queue = sources.reconcileQueue;
      registry.addCollector(() => {
        const { pending, scheduled } = queue();
        return [
          gauge('reconcile_queue_length', 'Services queued for a reconcile pass now.', [{ labels: {}, value: pending }]),
          gauge('reconcile_retries_scheduled', 'Services waiting for a scheduled retry after a failed pass.', [{ labels: {}, value: scheduled }]),
        ];
      });
    }

    this.reconcileErrors = registry.counter(`${prefix}reconcile_errors_total`, 'Failed reconcile passes, by step (guest, guest-config, dns, certificate, route) and reason.', ['step', 'reason']);

    this.cloudflareRequests = registry.counter(`${prefix}cloudflare_requests_total`, 'Cloudflare DNS operations, by operation and status (ok, or the error code).', ['operation', 'status']);
    this.cloudflareErrors = registry.counter(`${prefix}cloudflare_errors_total`, 'Cloudflare DNS operations that failed, by operation.', ['operation']);
    this.caRequests = registry.counter(`${prefix}ca_requests_total`, 'HTTP requests to ACME CAs, by operation and HTTP status (none when no response arrived).', ['operation', 'status']);
    this.caErrors = registry.counter(`${prefix}ca_errors_total`, 'HTTP requests to ACME CAs that got no response or a status of 400 or more, by operation.', ['operation']);

    if (sources?.routeStatus !== undefined) {
      const routeStatus = sources.routeStatus;
      registry.addCollector(async () => {
        let routes: RouteStatus[] | null;
        try {
          routes = await routeStatus();
        } catch {
          // The haproxy_stats_up gauge reports the failure; the daemon log has HAProxy's own errors.
          routes = null;
        }
        return backendFamilies(routes);
      });
    }

    this.apiRequests = registry.counter(`${prefix}api_requests_total`, 'API requests answered, by method and HTTP status.', ['method', 'status']);
    this.notifications = registry.counter(`${prefix}notifications_total`, 'Notifications, by event, channel (mail, webhook) and result (sent, failed, suppressed).', ['event', 'channel', 'result']);
  }
}
