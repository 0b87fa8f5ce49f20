import type { Logger } from 'pino';
import type { StoredCertificate } from '../store/model.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';

/** Services of the daemon that the route plugins use. */
export interface ApiContext {
  state: StateStore;
  secrets: SecretStore;
  /** Queues a service for the reconciler. */
  enqueue(fqdn: string): void;
  /** Starts an order for certificate `id` now, bypassing its backoff; returns the current certificate. */
  renewCertificate?(id: string): StoredCertificate;
  logger: Logger;
}
