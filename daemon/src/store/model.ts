/** Types of the stored documents: desired state written by the API, status written by the reconciler. */

import type { RouteOptions } from '../proxy/route-options.js';

/** One step's outcome on an object, in the manner of Kubernetes conditions. */
export interface Condition {
  type: 'guest' | 'guest-config' | 'dns' | 'certificate' | 'route' | 'sign-in';
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
  /** `per-service` (default when absent) or one `example.com` + `*.example.com` certificate. */
  certificateMode?: CertificateMode;
  /** Key of new certificates; `ecdsa-p256` when absent. */
  keyType?: KeyType;
  /** CAs tried in order after repeated failure at `acmeDirectory`. */
  fallbackIssuers?: FallbackIssuer[];
  /** Name of the site whose addresses the service records point at; the default site when absent. */
  site?: string;
  /** External Account Binding key id at `acmeDirectory`; its HMAC key is a secret. */
  eabKeyId?: string;
  /** ACME profile (draft-aaron-acme-profiles) sent in new orders at `acmeDirectory`; absent for the CA's default. */
  acmeProfile?: string;
  /** Credential scheme of the domain's Cloudflare secret; `api-token` when absent. */
  cloudflareAuth?: 'api-token' | 'global-key' | 'split';
  /** Last four characters of the stored Cloudflare secret (the zone token when split), shown instead of the secret. */
  cloudflareSecretHint?: string;
  /** Last four characters of the DNS token of split credentials. */
  cloudflareDnsSecretHint?: string;
  /** Outcome of the last verification; absent for domains saved before verification existed. */
  verification?: DomainVerification;
  /** ISO time of the last change through PUT; part of the certificate manager's fingerprint. */
  updatedAt?: string;
  /** Set by DELETE with remove-services; the reconciler removes the domain with its last service. */
  deleting?: boolean;
  /** Base URL (`scheme://host[:port]`) of the oauth2-proxy-style server that services with `auth` sign in through. */
  authServer?: string;
  /** https URL that receives the notifications about the domain's objects as JSON POSTs. */
  notifyWebhook?: string;
}

export interface FallbackIssuer {
  directory: string;
  email: string;
  /** External Account Binding key id at `directory`; its HMAC key is a secret. */
  eabKeyId?: string;
}

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

/** One verification check of a domain and its outcome. */
export interface VerificationCheck {
  check: 'credentials' | 'zone' | 'delegation' | 'dns-edit' | 'acme-account' | 'caa';
  status: CheckStatus;
  message: string;
}

export interface DomainVerification {
  /** False when a blocking check failed or was skipped by a forced save. */
  ready: boolean;
  /** The Cloudflare zone that contains the domain, or null when none was found. */
  zone: string | null;
  checkedAt: string;
  checks: VerificationCheck[];
}

/** An ingress: the nodes that run the proxy and the public addresses DNS records point at. */
export interface StoredSite {
  name: string;
  nodes: string[];
  addresses: string[];
  /** Exactly one site is the default, used by domains that name no site. */
  default: boolean;
  /** Loopback and private addresses are accepted (labs and the sandbox). */
  allowPrivate: boolean;
  createdAt: string;
}

export type CertificateMode = 'per-service' | 'wildcard';
export type KeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-4096';

export interface StoredService {
  /** Canonical fully qualified name; the service's id. */
  fqdn: string;
  subdomain: string;
  domain: string;
  vmid: number;
  port: number;
  /** Pins the address of the first target: a `netN` key to read, or a fixed address. */
  pin?: TargetPin;
  /** Further targets balanced with the first one. */
  extraTargets?: ServiceTarget[];
  /** Ingress options; missing fields take the defaults of proxy/route-options.ts. */
  options?: Partial<ServiceOptions>;
  /** `http` when absent; `tcp` and `udp` forward `externalPort` on the site's addresses to `port`. */
  protocol?: ServiceProtocol;
  /** Port on the site's ingress addresses; set for tcp and udp services only. */
  externalPort?: number;
  /** TCP only: HAProxy terminates TLS with the domain's certificate. */
  tls?: boolean;
  /** SRV record of a tcp or udp service. */
  srv?: ServiceSrv;
  createdAt: string;
  /** Set by DELETE; the reconciler removes what the service created, then the service. */
  deleting: boolean;
  /**
   * Set by DELETE with force: a step that fails while removing the service is logged and
   * skipped, so that a service whose zone or guest is gone can still be removed.
   */
  forceDelete?: boolean;
  conditions: Condition[];
  /** What the reconciler last applied, so that a change of target is noticed. */
  observed: {
    target: { address: string; port: number } | null;
    /** Every target as last resolved: guest, node, address and whether the guest runs. */
    targets?: ObservedTarget[];
    /** Name of the SRV record last published, so that a changed service label removes the old one. */
    srvRecord?: string | null;
  };
  retry: RetryState;
}

export type ServiceOptions = RouteOptions;

export type ServiceProtocol = 'http' | 'tcp' | 'udp';

/** SRV record `<service>._<protocol>.<fqdn>` pointing at the service's name and external port. */
export interface ServiceSrv {
  /** Service label with its underscore, such as `_minecraft`. */
  service: string;
  priority: number;
  weight: number;
}

export interface TargetPin {
  /** `net0`..`net31`: read this device's address only. */
  interface?: string;
  /** Use this address and skip the lookup. */
  address?: string;
}

export interface ServiceTarget extends TargetPin {
  vmid: number;
  port: number;
}

export interface ObservedTarget {
  vmid: number;
  port: number;
  node: string | null;
  address: string | null;
  /** running, stopped, or missing when the guest no longer exists. */
  guest: 'running' | 'stopped' | 'missing';
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
  keyType?: KeyType;
  mode?: CertificateMode;
  /** RFC 9773 certificate identifier, base64url(AKI keyIdentifier).base64url(serial). */
  ariCertId?: string;
}

/** An order that was created and not yet finished, so that a restart resumes it. */
export interface PendingOrder {
  url: string;
  directory: string;
  names: string[];
  keyType: KeyType;
  /** ARI certificate identifier of the certificate this order replaces, or null. */
  replaces: string | null;
  createdAt: string;
}

/** Renewal bookkeeping of one certificate id, kept apart from the issued certificate. */
export interface CertificateLifecycle {
  /** Certificate id (`app.example.com`, or `*.example.com` in wildcard mode). */
  id: string;
  domain: string;
  names: string[];
  failures: number;
  /** Last error verbatim from the CA or DNS provider, secrets removed. */
  lastError: string | null;
  lastErrorAt: string | null;
  /** ISO time before which no order is sent, or null. */
  nextAttemptAt: string | null;
  /** Set for errors that waiting cannot heal; cleared when `configFingerprint` changes. */
  blocked: boolean;
  /** Hash of the domain settings that the failure count belongs to. */
  configFingerprint: string;
  pendingOrder: PendingOrder | null;
  /** RFC 9773 suggested window, the time picked inside it and when to fetch it again. */
  ari: { start: string; end: string; selected: string; checkAfter: string; explanationUrl: string | null } | null;
  /** When the certificate is renewed next and which rule set that time. */
  renewAt: string | null;
  renewRule: string | null;
  /** Index into [acmeDirectory, ...fallbackIssuers] used for the next order. */
  issuerIndex: number;
  /** Expiry warning text while renewal is failing close to expiry, or null. */
  warning: string | null;
  warnedAt: string | null;
}

/** One order or issuance counted against a CA's rate limits. */
export interface IssuanceRecord {
  directory: string;
  account: string;
  /** Registered domain (the Cloudflare zone). */
  registeredDomain: string;
  /** Sorted, comma-joined identifiers of the order. */
  nameSet: string;
  kind: 'order' | 'certificate';
  /** ARI renewals (orders naming `replaces`) are exempt from Let's Encrypt's limits. */
  renewal: boolean;
  at: string;
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
  /** Absent in state files written before renewal tracking existed. */
  certificateLifecycles?: CertificateLifecycle[];
  issuanceLedger?: IssuanceRecord[];
  /** Absent in state files written before sites existed. */
  sites?: StoredSite[];
  /** Nodes running pve-domainsd with the addresses their proxy connects to guests from. */
  clusterNodes?: ClusterNodeRecord[];
}

/** One node of the cluster as its daemon registered itself. */
export interface ClusterNodeRecord {
  /** PVE node name. */
  name: string;
  /** Source addresses of this node's proxy towards guests; guest firewall rules accept them. */
  ingressAddresses: string[];
  registeredAt: string;
}

export function emptyState(): StateDocument {
  return { version: 1, domains: [], services: [], certificates: [], acmeAccounts: [], certificateLifecycles: [], issuanceLedger: [], sites: [] };
}
