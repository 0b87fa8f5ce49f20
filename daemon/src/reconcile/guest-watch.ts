import type { Logger } from 'pino';

import type { GuestDirectory, GuestSummary } from '../pve/guests.js';
import type { StoredService } from '../store/model.js';
import type { StateStore } from '../store/state-store.js';
import { serviceTargets } from './guest-targets.js';

/**
 * Polls the cluster's guests and refreshes the route of every service whose guest migrated,
 * stopped, started, was destroyed or changed its address. PVE offers no change notification for
 * guests (the cluster file system has no inotify), so polling `/cluster/resources` is the only way.
 *
 * Each poll costs one listing plus, for each running target, a config read and an interfaces
 * read to notice a DHCP address change.
 */

export interface GuestWatchOptions {
  guests: GuestDirectory;
  state: StateStore;
  /** Re-resolves and re-routes one service (Reconciler.refreshRoute). */
  refresh(fqdn: string): Promise<void>;
  logger: Logger;
  /** Time between two polls; default 3 s. */
  intervalMs?: number;
}

const DEFAULT_INTERVAL_MS = 3000;

export class GuestWatch {
  private readonly options: GuestWatchOptions;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private failures = 0;

  constructor(options: GuestWatchOptions) {
    this.options = options;
    this.logger = options.logger.child({ subsystem: 'guest-watch' });
  }

  start(): void {
    if (this.timer !== null) return;
    const interval = this.options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.timer = setInterval(() => {
      if (this.polling !== null) return;
      this.polling = this.pollOnce().finally(() => {
        this.polling = null;
      });
    }, interval);
    this.timer.unref();
    this.logger.info({ interval_ms: interval }, 'guest watch started');
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.polling;
    this.logger.info('guest watch stopped');
  }

  /** One poll: lists the guests and refreshes each routed service whose guests changed. Never throws. */
  async pollOnce(): Promise<void> {
    const signal = this.abort.signal;
    let listing: GuestSummary[];
    try {
      listing = await this.options.guests.listGuests(signal);
    } catch (err) {
      this.failures += 1;
      // Repeated failures are logged once per 20 polls.
      if (this.failures === 1 || this.failures % 20 === 0) this.logger.warn({ err, failures: this.failures }, 'guest listing failed');
      return;
    }
    this.failures = 0;

    for (const service of this.options.state.snapshot().services) {
      if (service.deleting || signal.aborted) continue;
      let changed: string | null;
      try {
        changed = await this.changeOf(service, listing, signal);
      } catch (err) {
        this.logger.debug({ service: service.fqdn, err }, 'guest check failed');
        continue;
      }
      if (changed === null) continue;
      this.logger.info({ service: service.fqdn, change: changed }, 'guest changed; refreshing route');
      await this.options.refresh(service.fqdn);
    }
  }

  /** Describes what changed for `service` since its guests were last resolved, or returns null. */
  private async changeOf(service: StoredService, listing: GuestSummary[], signal: AbortSignal): Promise<string | null> {
    const observed = service.observed.targets;
    if (observed === undefined) return null;
    for (const target of serviceTargets(service)) {
      const last = observed.find((item) => item.vmid === target.vmid && item.port === target.port);
      const guest = listing.find((item) => item.vmid === target.vmid);
      if (last === undefined) return `guest ${target.vmid} added`;
      if (guest === undefined) {
        if (last.guest !== 'missing') return `guest ${target.vmid} destroyed`;
        continue;
      }
      const status = guest.status === 'running' ? 'running' : 'stopped';
      if (last.guest !== status) return `guest ${target.vmid} ${status}`;
      if (last.node !== guest.node) return `guest ${target.vmid} moved from ${last.node ?? '?'} to ${guest.node}`;
      if (status !== 'running' || target.address !== undefined) continue;
      const resolved = await this.options.guests.resolveGuest(target.vmid, target, signal, listing);
      if (resolved.address !== null && resolved.address !== last.address) return `guest ${target.vmid} address ${last.address ?? 'none'} -> ${resolved.address}`;
    }
    return null;
  }
}
