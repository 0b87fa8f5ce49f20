import type { RecordBatchResponse, RecordResponse } from 'cloudflare/resources/dns/records';

export type ZoneStatus = 'active' | 'pending' | 'initializing' | 'moved';
export type ZonePlan = 'free' | 'pro';
export type TokenPermission = 'zone:read' | 'dns_records:read' | 'dns_records:edit';
export type TokenStatus = 'active' | 'disabled' | 'expired';
export type AuthScheme = 'bearer' | 'key' | 'none';
export type DnsFault = 'refused' | 'servfail' | 'timeout';

/** Record types the simulator stores and serves; the API rejects every other type. */
export const SUPPORTED_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'CAA', 'MX', 'SRV'] as const;
export type SupportedRecordType = (typeof SUPPORTED_RECORD_TYPES)[number];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A DNS record as the API returns it. This is the SDK's `RecordResponse` except that `comment` is
 * `null` when unset, which is what the live API sends although the SDK types it as optional string.
 */
export type DnsRecordView = DistributiveOmit<RecordResponse, 'comment'> & { comment: string | null };

/** Result of `POST …/dns_records/batch`, keyed like the SDK's `RecordBatchResponse`. */
export type BatchResultView = { [K in keyof RecordBatchResponse]?: DnsRecordView[] };

export interface SimZone {
  readonly id: string;
  readonly name: string;
}

export interface ZoneOptions {
  status?: ZoneStatus;
  plan?: ZonePlan;
}

export interface TokenGrant {
  /** `'all'` or a list of zone names the token may act on. */
  zones: 'all' | string[];
  permissions: TokenPermission[];
  status?: TokenStatus;
  /** Who owns the token; defaults to `'account'` for `cfat_` tokens and `'user'` otherwise. */
  owner?: 'user' | 'account';
}

export interface SeedRecord {
  type: string;
  name: string;
  content: string;
  ttl?: number;
  proxied?: boolean;
  comment?: string;
  priority?: number;
}

export interface RateLimitOptions {
  requests: number;
  windowMs: number;
  retryAfterSeconds: number;
}

export interface CloudflareSimulatorOptions {
  /** Loopback address both servers bind; defaults to 127.0.0.1. */
  host?: string;
  /** Sliding window per credential; defaults to 1200 requests per 300 s with `Retry-After: 300`. */
  rateLimit?: RateLimitOptions;
  /**
   * Loopback address of a second authoritative DNS server on the same port. The second name
   * server host resolves to it, so the zones have two servers that tests can distinguish.
   */
  secondaryDnsHost?: string;
}

export interface RequestLogEntry {
  method: string;
  /** Path without the query string, e.g. `/client/v4/zones`. */
  path: string;
  /** Query string without the leading `?`, empty when none. */
  query: string;
  status: number;
  authScheme: AuthScheme;
  /** Epoch milliseconds when the request arrived. */
  time: number;
}

export interface RequestInfo {
  method: string;
  /** Path without the query string, e.g. `/client/v4/zones/<id>/dns_records`. */
  path: string;
}

/**
 * What a faulty request gets: `reply` sends `status` with `body`; `hang` sends no response until
 * `clearFaults()` closes the connection; `reset` closes the connection without a response;
 * `malformed` sends `status` with a JSON body cut off in the middle.
 */
export type HttpFaultAction = 'reply' | 'hang' | 'reset' | 'malformed';

export interface HttpFault {
  match: (request: RequestInfo) => boolean;
  /** Defaults to `reply`. */
  action?: HttpFaultAction;
  status: number;
  /** JSON body to send; defaults to a failure envelope with code 10001 "Injected fault". */
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail; defaults to 1, `Infinity` keeps the fault. */
  times?: number;
}

export interface CloudflareSimulator {
  /** Base URL for the SDK's `baseURL`, e.g. `http://127.0.0.1:PORT/client/v4`. */
  readonly apiBaseUrl: string;
  readonly dnsAddress: string;
  /** UDP and TCP port of the authoritative DNS server. */
  readonly dnsPort: number;
  /** Host names every zone is delegated to; the DNS server resolves them to `dnsAddress`. */
  readonly nameServers: string[];
  /** Id of the single account that owns every zone. */
  readonly accountId: string;
  readonly requestLog: ReadonlyArray<Readonly<RequestLogEntry>>;
  /** Questions the authoritative DNS server received (name lower-case without the final dot). */
  readonly dnsQueries: ReadonlyArray<Readonly<{ name: string; type: string; time: number }>>;
  addZone(name: string, options?: ZoneOptions): SimZone;
  setZoneStatus(name: string, status: ZoneStatus): void;
  addToken(token: string, grant: TokenGrant): void;
  /** Registers a global API key with full access to every zone. */
  addGlobalKey(email: string, key: string): void;
  revokeToken(token: string): void;
  /** Current records of the zone as the API returns them, in creation order. */
  records(zoneName: string): DnsRecordView[];
  /** Stores a record as if another tool had created it; throws when the API would reject it. */
  addRecord(zoneName: string, record: SeedRecord): DnsRecordView;
  injectFault(fault: HttpFault): void;
  clearFaults(): void;
  /** Makes DNS answers for the zone lag API changes by `ms` milliseconds; 0 restores instant answers. */
  setPropagationDelay(zoneName: string, ms: number): void;
  /** Makes DNS queries for exactly `name` fail as given; `null` removes the fault. */
  setDnsFault(name: string, fault: DnsFault | null): void;
  /** Address of the second DNS server, or null when the simulator runs one server. */
  readonly secondaryDnsAddress: string | null;
  /**
   * Freezes the DNS server at `address`: it keeps answering with the zones as they are now, as a
   * secondary server that no longer receives zone transfers does. `false` makes it current again.
   */
  setDnsServerFrozen(address: string, frozen: boolean): void;
  stop(): Promise<void>;
}
