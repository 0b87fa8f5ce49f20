/**
 * Picks up changes that other nodes wrote to the shared state. pmxcfs has no inotify support,
 * so the files are re-read at an interval and the services whose stored data changed (or whose
 * domain or certificate changed) are handed to the reconciler.
 */

import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { StateDocument } from '../store/model.js';
import type { StateStore } from '../store/state-store.js';

export interface StateChanges {
  /** Services that are new or whose data, domain or certificate changed. */
  changed: string[];
  /** Services that no longer exist. */
  removed: string[];
}

export interface ChangePollerOptions {
  store: StateStore;
  intervalMs: number;
  onChanges(changes: StateChanges): void;
  logger: Logger;
}

/** JSON of everything a service's route and certificate depend on, per domain. */
function domainFingerprints(document: StateDocument): Map<string, string> {
  const result = new Map<string, string>();
  for (const domain of document.domains) {
    const certificates = document.certificates.filter((item) => item.domain === domain.name);
    result.set(domain.name, JSON.stringify({ domain, certificates }));
  }
  return result;
}

/** Compares two documents service by service. */
export function diffServices(before: StateDocument, after: StateDocument): StateChanges {
  const oldDomains = domainFingerprints(before);
  const newDomains = domainFingerprints(after);
  const oldServices = new Map(before.services.map((service) => [service.fqdn, JSON.stringify(service)]));
  const changed: string[] = [];
  for (const service of after.services) {
    const serviceChanged = oldServices.get(service.fqdn) !== JSON.stringify(service);
    const domainChanged = oldDomains.get(service.domain) !== newDomains.get(service.domain);
    if (serviceChanged || domainChanged) changed.push(service.fqdn);
  }
  const present = new Set(after.services.map((service) => service.fqdn));
  const removed = [...oldServices.keys()].filter((fqdn) => !present.has(fqdn));
  return { changed, removed };
}

export class ChangePoller {
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> = Promise.resolve();
  private stopped = true;
  private failures = 0;

  constructor(private readonly options: ChangePollerOptions) {}

  start(): void {
    this.stopped = false;
    // Writes on this node reload the files too, so changes are reported from every reload.
    this.options.store.onReload((before, after) => this.report(diffServices(before, after)));
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.tick;
  }

  /** Reloads the state once; the reload listener reports the differences. Returns whether the files changed. */
  async poll(): Promise<boolean> {
    try {
      const changed = await this.options.store.refresh();
      this.failures = 0;
      return changed;
    } catch (err) {
      this.failures += 1;
      // Logged on the first failure and then every 60th, so a long outage does not flood the log.
      if (this.failures % 60 === 1) this.options.logger.error({ err: errorMessage(err), failures: this.failures }, 'unable to reload the shared state');
      return false;
    }
  }

  private report(changes: StateChanges): void {
    if (changes.changed.length === 0 && changes.removed.length === 0) return;
    this.options.logger.info(changes, 'state changed on another node');
    this.options.onChanges(changes);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick = this.poll().then(
        () => this.schedule(),
        () => this.schedule(),
      );
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
