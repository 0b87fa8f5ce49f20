/** Shapes of the daemon's API responses that the panels read (see daemon/src/api and daemon/src/domains/view.ts). */

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface VerificationCheck {
  check: string;
  status: CheckStatus;
  message: string;
}

export interface DomainView {
  domain: string;
  'domain-unicode': string;
  site: string | null;
  'acme-directory': string;
  'acme-directory-preset': string;
  'acme-email': string;
  'acme-profile': string | null;
  'eab-key-id': string | null;
  'eab-hmac-key': 'set' | null;
  'certificate-mode': 'per-service' | 'wildcard';
  'key-type': string;
  'cloudflare-credentials': 'api-token' | 'global-key' | 'split';
  'cloudflare-secret': string | null;
  'cloudflare-dns-secret': string | null;
  /** Base URL of the sign-in server of services with `auth`; null without one. */
  'auth-server': string | null;
  /** The webhook's origin, masked by the daemon (`/…` stands for a path); null without one. */
  'notify-webhook': string | null;
  services: number;
  deleting: boolean;
  ready: boolean | null;
  verification: { 'checked-at': string; zone: string | null; checks: VerificationCheck[] } | null;
}

export interface VerifyResult {
  domain: string;
  ready: boolean;
  zone: string | null;
  'checked-at': string;
  checks: VerificationCheck[];
}

export interface SiteView {
  site: string;
  nodes: string[];
  addresses: string[];
  default: boolean;
  'allow-private': boolean;
  domains: string[];
}

export interface CertificateView {
  id: string;
  domain: string;
  names: string[];
  issuer: string;
  'not-after': string;
  'next-renewal': string | null;
  'renewal-rule': string | null;
  'ari-window': { start: string; end: string } | null;
  'last-error': string | null;
  failures: number;
  'next-attempt': string | null;
  blocked: boolean;
  warning: string | null;
}

export interface ServiceCondition {
  type: string;
  status: 'true' | 'false' | 'unknown';
  reason: string;
  message: string;
  time: string;
}

export interface ServiceOptionsView {
  'https-redirect': boolean;
  'hsts-max-age': number | null;
  'hsts-include-subdomains': boolean;
  'websocket-timeout': number;
  'backend-protocol': string;
  'health-check': { path: string; interval: number } | null;
  'allowed-networks': string[];
  balance: string;
  'cloudflare-proxied': boolean;
  auth: boolean;
  'max-body-size': number | null;
  buffering: boolean;
}

export type ServiceProtocol = 'http' | 'tcp' | 'udp';

export interface ServiceView {
  fqdn: string;
  subdomain: string;
  domain: string;
  vmid: number;
  port: number;
  protocol: ServiceProtocol;
  /** Port on the site addresses of a tcp or udp service; null for http. */
  'external-port': number | null;
  tls: boolean;
  srv: { service: string; priority: number; weight: number } | null;
  status: 'active' | 'pending' | 'error' | 'deleting';
  options: ServiceOptionsView;
  live: { servers: Array<{ address: string; port: number; state: string; check: string | null }> } | null;
  certificate: { serial: string; 'not-after': string } | null;
  conditions: ServiceCondition[];
  'next-retry': string | null;
  'last-error': string | null;
}

export interface ServiceEvent {
  time: string;
  source: 'audit' | 'condition' | 'retry';
  level: 'info' | 'warning' | 'error';
  subject: string;
  message: string;
  user?: string;
}

/** A task as `GET /tasks` lists it; times are Unix seconds, as in PVE's task list. */
export interface TaskView {
  upid: string;
  type: 'verify' | 'issue' | 'renew';
  id: string;
  node: string;
  user: string;
  starttime: number;
  endtime?: number;
  /** `running`, `OK`, or the error text of a failed task. */
  status: string;
}

/** One line of a task log, numbered from 1. */
export interface TaskLogLine {
  n: number;
  t: string;
}

/** `GET /tasks/{upid}/status`. */
export interface TaskStatus {
  upid: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
}
