import Cloudflare, { APIConnectionError, APIError } from 'cloudflare';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { DnsProvider, DnsRecord, DnsZone, NewDnsRecord, RecordType } from './provider.js';

/** Credentials of one external domain: a scoped API token (recommended) or the legacy global key. */
export type CloudflareCredentials = { kind: 'token'; token: string } | { kind: 'global-key'; email: string; key: string };

export interface CloudflareProviderOptions {
  apiBaseUrl: string;
  credentials: CloudflareCredentials;
  logger: Logger;
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

/** The parts of the SDK's APIError these helpers read. */
interface ApiErrorParts {
  status: unknown;
  errors: Array<{ code?: number; message?: string }>;
}

function describeApiError(err: ApiErrorParts): string {
  const details = err.errors.map((item) => `${item.code ?? '?'}: ${item.message ?? ''}`).join('; ');
  return details === '' ? `HTTP ${String(err.status)}` : `HTTP ${String(err.status)} (${details})`;
}

function errorCodes(err: ApiErrorParts): number[] {
  return err.errors.flatMap((item) => (typeof item.code === 'number' ? [item.code] : []));
}

/** Maps an SDK error to the daemon's error registry; the message never holds a credential. */
function translate(err: unknown, action: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof APIConnectionError) {
    return new AppError('DNS_API_FAILED', `Unable to ${action}: Cloudflare API unreachable (${err.message}); check the node's network and DNS`, { cause: err });
  }
  if (err instanceof APIError) {
    if (err.status === 400 || err.status === 401 || err.status === 403) {
      const codes = errorCodes(err);
      // 9106, 6003, 1000, 9103 and 9109 are Cloudflare's answers to missing, malformed, unknown
      // or insufficient credentials; 10000 is "Authentication error" for a zone out of scope.
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
}

function toRecord(record: RecordShape): DnsRecord {
  return {
    id: record.id,
    type: record.type as RecordType,
    name: record.name,
    content: record.content ?? '',
    comment: record.comment ?? '',
    ttl: record.ttl,
  };
}

/** DNS provider backed by the Cloudflare API v4 through the official SDK. */
export class CloudflareProvider implements DnsProvider {
  private readonly client: Cloudflare;
  private readonly logger: Logger;

  constructor(options: CloudflareProviderOptions) {
    const auth =
      options.credentials.kind === 'token'
        ? { apiToken: options.credentials.token, apiKey: null, apiEmail: null }
        : { apiToken: null, apiKey: options.credentials.key, apiEmail: options.credentials.email };
    this.client = new Cloudflare({
      ...auth,
      userServiceKey: null,
      baseURL: options.apiBaseUrl,
      apiVersion: pinnedApiVersion,
      maxRetries: 2,
      timeout: 30_000,
    });
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
          this.logger.debug({ candidate }, 'zone candidate refused, trying the parent');
          continue;
        }
        throw translated;
      }
      const zone = zones.result.find((item) => item.name === candidate);
      if (zone !== undefined) return { id: zone.id, name: zone.name, nameServers: zone.name_servers };
    }
    throw new AppError('DNS_ZONE_NOT_FOUND', `Unable to find the Cloudflare zone of ${name}: no zone from ${name} to ${registeredZone} is visible to these credentials; add the zone to Cloudflare or grant the token Zone:Zone:Read on it`);
  }

  async listRecords(zone: DnsZone, filter: { name: string; type?: RecordType }, signal?: AbortSignal): Promise<DnsRecord[]> {
    const found: DnsRecord[] = [];
    try {
      const params = { zone_id: zone.id, name: { exact: filter.name }, per_page: 100, ...(filter.type === undefined ? {} : { type: filter.type }) };
      for await (const record of this.client.dns.records.list(params, { signal })) {
        found.push(toRecord(record));
      }
    } catch (err) {
      throw translate(err, `list the DNS records of ${filter.name} in zone ${zone.name}`);
    }
    return found;
  }

  async createRecord(zone: DnsZone, record: NewDnsRecord, signal?: AbortSignal): Promise<DnsRecord> {
    try {
      const created = await this.client.dns.records.create(
        { zone_id: zone.id, type: record.type, name: record.name, content: record.content, ttl: record.ttl, comment: record.comment, proxied: false },
        { signal },
      );
      this.logger.info({ zone: zone.name, record_id: created.id, record_type: record.type, record_name: record.name }, 'dns record created');
      return toRecord(created);
    } catch (err) {
      if (err instanceof APIError && errorCodes(err).some((code) => duplicateRecordCodes.has(code))) {
        const existing = (await this.listRecords(zone, { name: record.name, type: record.type }, signal)).find((item) => item.content === record.content);
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
      const updated = await this.client.dns.records.edit(
        id,
        { zone_id: zone.id, type: record.type, name: record.name, content: record.content, ttl: record.ttl, comment: record.comment },
        { signal },
      );
      this.logger.info({ zone: zone.name, record_id: id, record_name: record.name }, 'dns record updated');
      return toRecord(updated);
    } catch (err) {
      throw translate(err, `update the ${record.type} record ${record.name} in zone ${zone.name}`);
    }
  }

  async deleteRecord(zone: DnsZone, id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.dns.records.delete(id, { zone_id: zone.id }, { signal });
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
