import type { Logger } from 'pino';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';

/** Services of the daemon that the route plugins use. */
export interface ApiContext {
  state: StateStore;
  secrets: SecretStore;
  /** Queues a service for the reconciler. */
  enqueue(fqdn: string): void;
  logger: Logger;
}
