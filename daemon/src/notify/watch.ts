import type { Logger } from 'pino';
import type { RouteStatus } from '../proxy/ingress.js';
import type { StateDocument, StoredCertificate } from '../store/model.js';
import { backendDown, certificateExpiring, type Notification } from './events.js';

export interface WatchDeps {
  node: string;
  state: { snapshot(): StateDocument };
  routeStatus(): Promise<RouteStatus[]>;
  notify(notification: Notification): unknown;
  /** True on the node holding the work lock; only that node reports expiring certificates. Absent = always. */
  isWorkHolder?(): boolean;
  /** Time left below which a certificate is reported as expiring, capped at a quarter of its lifetime. */
  expiringSoonMs: number;
  /** Interval between two checks. */
  intervalMs: number;
  /** Checks in a row that must see a backend down before it is reported, so that one failed health check does not mail. */
  downChecks: number;
  logger: Logger;
}

/**
 * Time left below which a certificate counts as expiring: `expiringSoonMs`, but at most a quarter
 * of its lifetime. The cap keeps short-lived certificates (6 days) quiet while the renewal at half
 * their lifetime still has time to succeed.
 */
export function expiringThresholdMs(certificate: StoredCertificate, expiringSoonMs: number): number {
  const lifetime = Date.parse(certificate.notAfter) - Date.parse(certificate.notBefore);
  return Math.min(expiringSoonMs, lifetime / 4);
}

/** Services whose targets are all down or unknown, with at least one down; maintenance routes are left out. */
export function downRoutes(routes: RouteStatus[]): RouteStatus[] {
  return routes.filter((route) => route.targets.length > 0 && route.targets.some((target) => target.state === 'down') && !route.targets.some((target) => target.state === 'up' || target.state === 'maintenance' || target.state === 'drain'));
}

/**
 * Periodic checks for the events that no single operation reports: certificates close to expiry
 * and services whose every backend target is down in this node's HAProxy.
 */
export class NotificationWatch {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly downStreak = new Map<string, number>();

  constructor(private readonly deps: WatchDeps) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.running === null) this.running = this.check().finally(() => (this.running = null));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs both checks once. */
  async check(now = new Date()): Promise<void> {
    this.checkCertificates(now);
    await this.checkBackends();
  }

  private checkCertificates(now: Date): void {
    if (this.deps.isWorkHolder?.() === false) return;
    const state = this.deps.state.snapshot();
    for (const certificate of state.certificates) {
      const left = Date.parse(certificate.notAfter) - now.getTime();
      if (left >= expiringThresholdMs(certificate, this.deps.expiringSoonMs)) continue;
      const lifecycle = (state.certificateLifecycles ?? []).find((item) => item.id === certificate.id);
      this.deps.notify(certificateExpiring(certificate, left, lifecycle?.lastError ?? null));
    }
  }

  private async checkBackends(): Promise<void> {
    let routes: RouteStatus[];
    try {
      routes = await this.deps.routeStatus();
    } catch (err) {
      this.deps.logger.warn({ err }, 'unable to read the HAProxy backend states for notifications');
      return;
    }
    const down = new Set(downRoutes(routes).map((route) => route.hostname));
    for (const hostname of [...this.downStreak.keys()]) if (!down.has(hostname)) this.downStreak.delete(hostname);
    const services = this.deps.state.snapshot().services;
    for (const route of routes) {
      if (!down.has(route.hostname)) continue;
      const streak = (this.downStreak.get(route.hostname) ?? 0) + 1;
      this.downStreak.set(route.hostname, streak);
      if (streak !== this.deps.downChecks) continue;
      const domain = services.find((service) => service.fqdn === route.hostname)?.domain ?? null;
      const targets = route.targets.map((target) => ({ address: target.address, port: target.port, check: target.check }));
      this.deps.notify(backendDown(route.hostname, domain, this.deps.node, targets));
    }
  }
}
