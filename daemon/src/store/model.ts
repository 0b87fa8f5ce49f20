/** Types of the stored documents: desired state written by the API, status written by the reconciler. */

/** One step's outcome on an object, in the manner of Kubernetes conditions. */
export interface Condition {
  type: 'guest' | 'dns' | 'certificate' | 'route';
  status: 'true' | 'false' | 'unknown';
  /** PascalCase reason, stable across retries (for example `ZoneNotFound`). */
  reason: string;
  message: string;
  /** ISO time of the last change of `status` or `reason`. */
  time: string;
}

export interface StoredDomain {
  /** Canonical zone name, for example `example.com`. */
  name: string;
  acmeDirectory: string;
  acmeEmail: string;
  createdAt: string;
}

export interface StoredService {
  /** Canonical fully qualified name; the service's id. */
  fqdn: string;
  subdomain: string;
  domain: string;
  vmid: number;
  port: number;
  createdAt: string;
  /** Set by DELETE; the reconciler removes what the service created, then the service. */
  deleting: boolean;
  conditions: Condition[];
  /** What the reconciler last applied, so that a change of target is noticed. */
  observed: {
    target: { address: string; port: number } | null;
  };
  retry: RetryState;
}

export interface RetryState {
  failures: number;
  /** ISO time before which the reconciler leaves the object alone, or null. */
  nextAttemptAt: string | null;
  lastError: string | null;
}

export interface StoredCertificate {
  /** The certificate's id: the canonical name it was ordered for. */
  id: string;
  domain: string;
  names: string[];
  serial: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  /** The ACME directory that issued it. */
  directory: string;
}

export interface StoredAcmeAccount {
  directory: string;
  email: string;
  url: string;
}

export interface StateDocument {
  version: 1;
  domains: StoredDomain[];
  services: StoredService[];
  certificates: StoredCertificate[];
  acmeAccounts: StoredAcmeAccount[];
}

export function emptyState(): StateDocument {
  return { version: 1, domains: [], services: [], certificates: [], acmeAccounts: [] };
}
