import type { Logger } from 'pino';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';

/** What the route plugins need from the daemon. */
export interface ApiContext {
  state: StateStore;
  secrets: SecretStore;
  /** Queues a service for the reconciler. */
  enqueue(fqdn: string): void;
  logger: Logger;
}
