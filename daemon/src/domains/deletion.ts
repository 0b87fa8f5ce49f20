import type { StateDocument, StoredService } from '../store/model.js';

/**
 * Marks every service of `domain` and the domain itself for deletion, in the manner of
 * DELETE /services/{fqdn}. Returns the marked services' names. The reconciler removes each
 * service and then the domain, once its last service is gone.
 */
export function markDomainForDeletion(state: StateDocument, domain: string): string[] {
  const stored = state.domains.find((item) => item.name === domain);
  if (stored === undefined) return [];
  stored.deleting = true;
  const services: StoredService[] = state.services.filter((item) => item.domain === domain);
  for (const service of services) {
    service.deleting = true;
    service.retry = { failures: 0, nextAttemptAt: null, lastError: null };
  }
  return services.map((item) => item.fqdn);
}

/**
 * Removes `domain` from `state` when it is marked for deletion and no service uses it any more.
 * Returns true when it removed the domain; the caller then removes its Cloudflare secret.
 */
export function removeDeletedDomain(state: StateDocument, domain: string): boolean {
  const stored = state.domains.find((item) => item.name === domain);
  if (stored?.deleting !== true) return false;
  if (state.services.some((item) => item.domain === domain)) return false;
  state.domains = state.domains.filter((item) => item.name !== domain);
  return true;
}
