import Cloudflare, { APIConnectionError, APIError } from 'cloudflare';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { DnsProvider, DnsRecord, DnsZone, NewDnsRecord, RecordType, SrvData } from './provider.js';

/**
 * Credentials of one external domain: a scoped API token (recommended), the legacy global key,
 * or two tokens for admins who split the permissions: `zoneToken` (Zone:Zone:Read) for zone
 * lookups and `dnsToken` (Zone:DNS:Edit) for record operations.
 */
export type CloudflareCredentials = { kind: 'token'; token: string } | { kind: 'global-key'; email: string; key: string } | { kind: 'split'; zoneToken: string; dnsToken: string };

export interface CloudflareProviderOptions {
  apiBaseUrl: string;
  credentials: CloudflareCredentials;
  logger: Logger;
  /** Time after which one request attempt is abandoned; 30 s when absent. */
  timeoutMs?: number;
}

/**
 * The API version the SDK sends in its `api-version` header. The SDK defaults to the current
 * date, which would let Cloudflare change behaviour under us from one day to the next.
 */
const pinnedApiVersion = '2026-12-01';

/** Cloudflare error codes that mean "the record you create is already there" (81057, 81058). */
const duplicateRecordCodes = new Set([81057, 81058]);
/** Cloudflare error code for an unknown record id. */
const recordNotFoundCode = 81044;
/** Record types Cloudflare's proxy accepts; any other type with `proxied: true` fails with 9004. */
const proxiableTypes: ReadonlySet<RecordType> = new Set(['A', 'AAAA', 'CNAME']);

/** Returns the proxied flag to send, which is never true for a type Cloudflare cannot proxy, such as a challenge TXT. */
function proxiedFlag(record: NewDnsRecord): boolean {
  return record.proxied === true && proxiableTypes.has(record.type);
}

/** The parts of the SDK's APIError these helpers read. */
interface ApiErrorParts {
  status: unknown;
  errors: Array<{ code?: number; message?: string }>;
}

/**
 * Returns the objects of a list the SDK copied unchecked from the response's `errors` field, which
 * a broken response may send as a string, null or a list of anything.
 */
function objectsOf<T extends object>(value: unknown): T[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item: unknown): item is T => typeof item === 'object' && item !== null);
}

/** Returns a field of an error item as text; a broken response may send any JSON there. */
function fieldText(value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? fallback);
}

function describeApiError(err: ApiErrorParts): string {
  const details = objectsOf<{ code?: unknown; message?: unknown }>(err.errors)
    .map((item) => `${fieldText(item.code, '?')}: ${fieldText(item.message, '')}`)
    .join('; ');
  return details === '' ? `HTTP ${String(err.status)}` : `HTTP ${String(err.status)} (${details})`;
}

function errorCodes(err: ApiErrorParts): number[] {
  return objectsOf<{ code?: unknown }>(err.errors).flatMap((item) => (typeof item.code === 'number' ? [item.code] : []));
}

/** Error codes of `err` and of the `error_chain` entries nested in its errors (6003 carries 6111 or 6103 there). */
export function cloudflareErrorCodes(err: unknown): number[] {
  if (!(err instanceof APIError)) return [];
  const items = objectsOf<{ code?: unknown; error_chain?: unknown }>(err.errors);
  return items.flatMap((item) => [item.code, ...objectsOf<{ code?: unknown }>(item.error_chain).map((link) => link.code)]).filter((code): code is number => typeof code === 'number');
}

/** Returns the HTTP status of a Cloudflare API error, or null for any other error. */
export function cloudflareStatus(err: unknown): number | null {
  if (err instanceof AppError) return cloudflareStatus(err.cause);
  return err instanceof APIError && typeof err.status === 'number' ? err.status : null;
}

/** A zone with the fields that verification reads. */
export interface ZoneDetails extends DnsZone {
  /** `active`, `pending`, `initializing` or `moved`. */
  status: string;
  accountId: string | null;
}

/** Outcome of `GET /user/tokens/verify` or `GET /accounts/{id}/tokens/verify`. */
export interface TokenStatus {
  id: string;
  /** `active`, `disabled` or `expired`. */
  status: string;
  expiresOn: string | null;
}

/** Maps an SDK error to the daemon's error registry; the message never contains a credential. */
function translate(err: unknown, action: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof APIConnectionError) {
    return new AppError('DNS_API_FAILED', `Unable to ${action}: Cloudflare API unreachable (${err.message}); check the node's network and DNS`, { cause: err });
  }
  if (err instanceof APIError) {
    if (err.status === 400 || err.status === 401 || err.status === 403) {
      const codes = errorCodes(err);
      // Cloudflare returns 9106, 6003, 1000, 9103 and 9109 for missing, malformed, unknown or
      // insufficient credentials, and 10000 ("Authentication error") for a zone out of scope.
      if ([9106, 6003, 1000, 9103, 9109, 10000].some((code) => codes.includes(code))) {
        return new AppError('DNS_AUTH_FAILED', `Unable to ${action}: Cloudflare rejected the credentials, ${describeApiError(err)}; check the API token and its permissions (Zone:Zone:Read and Zone:DNS:Edit on the zone)`, {
          cause: err,
        });
      }
    }
    return new AppError('DNS_API_FAILED', `Unable to ${action}: Cloudflare answered ${describeApiError(err)}`, { cause: err });
  }
  return new AppError('DNS_API_FAILED', `Unable to ${action}: ${(err as Error).message}`, { cause: err });
}

interface RecordShape {
  id: string;
  type: string;
  name: string;
  content?: string;
  comment?: string | null;
  ttl: number;
  proxied?: boolean;
  data?: unknown;
}

/** Reads the `data` object of an SRV record; undefined when a field is missing. */
function srvData(data: unknown): SrvData | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { priority, weight, port, target } = data as Record<string, unknown>;
  if (typeof priority !== 'number' || typeof weight !== 'number' || typeof port !== 'number' || typeof target !== 'string') return undefined;
  return { priority, weight, port, target };
}

function toRecord(record: RecordShape): DnsRecord {
  const srv = record.type === 'SRV' ? srvData(record.data) : undefined;
  return {
    id: record.id,
    type: record.type as RecordType,
    name: record.name,
    content: record.content ?? '',
    comment: record.comment ?? '',
    ttl: record.ttl,
    proxied: record.proxied === true,
    ...(srv === undefined ? {} : { srv }),
  };
}

/** Builds the record fields of a create or edit request; an SRV record carries `data` instead of `content`. */
function recordFields(record: NewDnsRecord) {
  if (record.type === 'SRV') {
    if (record.srv === undefined) throw new AppError('DNS_API_FAILED', `Unable to write the SRV record ${record.name}: its priority, weight, port and target are missing`);
    return { type: 'SRV' as const, name: record.name, data: { ...record.srv }, ttl: record.ttl, comment: record.comment, proxied: false };
  }
  return { type: record.type, name: record.name, content: record.content, ttl: record.ttl, comment: record.comment, proxied: proxiedFlag(record) };
}

/** Returns whether an existing record has the value of `record`, compared by fields for SRV and by content otherwise. */
function sameValue(existing: DnsRecord, record: NewDnsRecord): boolean {
  if (record.type !== 'SRV') return existing.content === record.content;
  const wanted = record.srv;
  const found = existing.srv;
  return wanted !== undefined && found !== undefined && found.priority === wanted.priority && found.weight === wanted.weight && found.port === wanted.port && found.target === wanted.target;
}

type SdkAuth = { apiToken: string; apiKey: null; apiEmail: null } | { apiToken: null; apiKey: string; apiEmail: string };

/**
 * The SDK client, with each request given an abort signal of its own. The SDK (7.3.0) adds an
 * abort listener to the signal of every request and never removes it. A long-lived signal, such
 * as the reconciler's, would keep one listener per request, each with the request's controller.
 * Each new listener also takes longer to add than the one before.
 */
class RequestScopedCloudflare extends Cloudflare {
  override async fetchWithTimeout(url: Parameters<Cloudflare['fetchWithTimeout']>[0], init: Parameters<Cloudflare['fetchWithTimeout']>[1], ms: number, controller: AbortController): Promise<Response> {
    const outer = init?.signal ?? undefined;
    if (outer === undefined || outer === null) return super.fetchWithTimeout(url, init, ms, controller);
    const inner = new AbortController();
    const forward = (): void => {
      inner.abort(outer.reason);
    };
    if (outer.aborted) forward();
    else outer.addEventListener('abort', forward, { once: true });
    try {
      return await super.fetchWithTimeout(url, { ...init, signal: inner.signal }, ms, controller);
    } finally {
      outer.removeEventListener('abort', forward);
    }
  }
}

function sdkClient(apiBaseUrl: string, auth: SdkAuth, timeoutMs = 30_000): Cloudflare {
  return new RequestScopedCloudflare({ ...auth, userServiceKey: null, baseURL: apiBaseUrl, apiVersion: pinnedApiVersion, maxRetries: 2, timeout: timeoutMs });
}

function tokenAuth(token: string): SdkAuth {
  return { apiToken: token, apiKey: null, apiEmail: null };
}

/** DNS provider backed by the Cloudflare API v4 through the official SDK. */
export class CloudflareProvider implements DnsProvider {
  /** Client for zone lookups and token verification. */
  private readonly client: Cloudflare;
  /** Client for record operations; the same as `client` unless the credentials are split. */
  private readonly dnsClient: Cloudflare;
  private readonly logger: Logger;

  constructor(options: CloudflareProviderOptions) {
    const { credentials } = options;
    if (credentials.kind === 'split') {
      this.client = sdkClient(options.apiBaseUrl, tokenAuth(credentials.zoneToken), options.timeoutMs);
      this.dnsClient = sdkClient(options.apiBaseUrl, tokenAuth(credentials.dnsToken), options.timeoutMs);
    } else {
      const auth: SdkAuth = credentials.kind === 'token' ? tokenAuth(credentials.token) : { apiToken: null, apiKey: credentials.key, apiEmail: credentials.email };
      this.client = sdkClient(options.apiBaseUrl, auth, options.timeoutMs);
      this.dnsClient = this.client;
    }
    this.logger = options.logger.child({ subsystem: 'cloudflare' });
  }

  async findZone(name: string, registeredZone: string, signal?: AbortSignal): Promise<DnsZone> {
    const labels = name.split('.');
    const zoneLabels = registeredZone.split('.').length;
    for (let start = 0; labels.length - start >= zoneLabels; start++) {
      const candidate = labels.slice(start).join('.');
      let zones;
      try {
        zones = await this.client.zones.list({ name: candidate, per_page: 5 }, { signal });
      } catch (err) {
        const translated = translate(err, `look up the Cloudflare zone ${candidate}`);
        // A token scoped to one zone may be refused on candidates that are not its zone;
        // that means "not this zone", unless it is the registered zone itself.
        if (translated.code === 'DNS_AUTH_FAILED' && candidate !== registeredZone && err instanceof APIError && err.status === 403) {
          this.logger.debug({ candidate }, 'zone candidate rejected, trying the parent');
          continue;
        }
        throw translated;
      }
      // A broken response may carry no list of zones in `result`; that reads as "no such zone".
      const zone = objectsOf<(typeof zones.result)[number]>(zones.result).find((item) => item.name === candidate && typeof item.id === 'string');
      if (zone !== undefined) return { id: zone.id, name: zone.name, nameServers: Array.isArray(zone.name_servers) ? zone.name_servers : [] };
    }
    throw new AppError('DNS_ZONE_NOT_FOUND', `Unable to find the Cloudflare zone of ${name}: no zone from ${name} to ${registeredZone} is visible to these credentials; add the zone to Cloudflare or grant the token Zone:Zone:Read on it`);
  }

  /**
   * Verifies an API token with `GET /user/tokens/verify`, or with
   * `GET /accounts/{accountId}/tokens/verify` for account-owned (`cfat_`) tokens, which the user
   * endpoint rejects. Throws the translated SDK error, with the SDK error as its cause.
   */
  async verifyToken(accountId: string | null, signal?: AbortSignal): Promise<TokenStatus> {
    try {
      const result = accountId === null ? await this.client.user.tokens.verify({ signal }) : await this.client.accounts.tokens.verify({ account_id: accountId }, { signal });
      return { id: result.id, status: result.status, expiresOn: result.expires_on ?? null };
    } catch (err) {
      throw translate(err, 'verify the Cloudflare API token');
    }
  }

  /**
   * Reads the zone named exactly `name`, or null when these credentials see no such zone. One
   * request; refusals are thrown as translated errors whose cause is the SDK error.
   */
  async zoneByName(name: string, signal?: AbortSignal): Promise<ZoneDetails | null> {
    try {
      const zones = await this.client.zones.list({ name, per_page: 5 }, { signal });
      const zone = zones.result.find((item) => item.name === name);
      if (zone === undefined) return null;
      return { id: zone.id, name: zone.name, nameServers: zone.name_servers, status: zone.status ?? 'active', accountId: zone.account.id ?? null };
    } catch (err) {
      throw translate(err, `look up the Cloudflare zone ${name}`);
    }
  }

  async listRecords(zone: DnsZone, filter: { name: string; type?: RecordType }, signal?: AbortSignal): Promise<DnsRecord[]> {
    const found: DnsRecord[] = [];
    try {
      const params = { zone_id: zone.id, name: { exact: filter.name }, per_page: 100, ...(filter.type === undefined ? {} : { type: filter.type }) };
      for await (const record of this.dnsClient.dns.records.list(params, { signal })) {
        found.push(toRecord(record));
      }
    } catch (err) {
      throw translate(err, `list the DNS records of ${filter.name} in zone ${zone.name}`);
    }
    return found;
  }

  async createRecord(zone: DnsZone, record: NewDnsRecord, signal?: AbortSignal): Promise<DnsRecord> {
    try {
      const created = await this.dnsClient.dns.records.create({ zone_id: zone.id, ...recordFields(record) }, { signal });
      this.logger.info({ zone: zone.name, record_id: created.id, record_type: record.type, record_name: record.name }, 'dns record created');
      return toRecord(created);
    } catch (err) {
      if (err instanceof APIError && errorCodes(err).some((code) => duplicateRecordCodes.has(code))) {
        const existing = (await this.listRecords(zone, { name: record.name, type: record.type }, signal)).find((item) => sameValue(item, record));
        if (existing !== undefined) {
          this.logger.warn({ zone: zone.name, record_id: existing.id, record_name: record.name }, 'identical dns record already exists, adopting it');
          return existing;
        }
      }
      throw translate(err, `create the ${record.type} record ${record.name} in zone ${zone.name}`);
    }
  }

  async updateRecord(zone: DnsZone, id: string, record: NewDnsRecord, signal?: AbortSignal): Promise<DnsRecord> {
    try {
      const updated = await this.dnsClient.dns.records.edit(id, { zone_id: zone.id, ...recordFields(record) }, { signal });
      this.logger.info({ zone: zone.name, record_id: id, record_name: record.name, proxied: proxiedFlag(record) }, 'dns record updated');
      return toRecord(updated);
    } catch (err) {
      throw translate(err, `update the ${record.type} record ${record.name} in zone ${zone.name}`);
    }
  }

  async deleteRecord(zone: DnsZone, id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.dnsClient.dns.records.delete(id, { zone_id: zone.id }, { signal });
      this.logger.info({ zone: zone.name, record_id: id }, 'dns record deleted');
    } catch (err) {
      if (err instanceof APIError && (err.status === 404 || errorCodes(err).includes(recordNotFoundCode))) {
        this.logger.info({ zone: zone.name, record_id: id }, 'dns record already gone');
        return;
      }
      throw translate(err, `delete the DNS record ${id} in zone ${zone.name}`);
    }
  }
}
