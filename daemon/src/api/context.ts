import type { Logger } from 'pino';
import type { StoredCertificate } from '../store/model.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';
import type { DomainVerifier } from '../domains/verification.js';

/** Services of the daemon that the route plugins use. */
export interface ApiContext {
  state: StateStore;
  secrets: SecretStore;
  /** Queues a service for the reconciler. */
  enqueue(fqdn: string): void;
  /** Starts an order for certificate `id` now, bypassing its backoff; returns the current certificate. */
  renewCertificate?(id: string): StoredCertificate;
  /** Checks domains against Cloudflare and the CA when saved; without it domains are saved unverified. */
  domainVerifier?: DomainVerifier;
  logger: Logger;
}
