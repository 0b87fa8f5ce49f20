/**
 * A DNS provider as the reconciler and the ACME module see it. Only modules under `dns/` know
 * a provider's API. Every method accepts an AbortSignal, and every name is canonical (see
 * names.ts).
 */
export interface DnsProvider {
  /**
   * Finds the zone that holds `name`, walking from the longest candidate to `registeredZone`.
   * Throws DNS_ZONE_NOT_FOUND when no candidate is a zone these credentials can read, and
   * DNS_AUTH_FAILED (without trying further candidates) when the credentials are rejected.
   */
  findZone(name: string, registeredZone: string, signal?: AbortSignal): Promise<DnsZone>;
  /** Records named exactly `name`, optionally of one type. */
  listRecords(zone: DnsZone, filter: { name: string; type?: RecordType }, signal?: AbortSignal): Promise<DnsRecord[]>;
  /**
   * Creates a record. Creating a record identical in type, name and content to an existing one
   * returns the existing record instead of failing.
   */
  createRecord(zone: DnsZone, record: NewDnsRecord, signal?: AbortSignal): Promise<DnsRecord>;
  /** Replaces the content, comment, TTL and proxied flag of the record `id`. */
  updateRecord(zone: DnsZone, id: string, record: NewDnsRecord, signal?: AbortSignal): Promise<DnsRecord>;
  /** Deletes the record `id`; deleting a record that no longer exists succeeds. */
  deleteRecord(zone: DnsZone, id: string, signal?: AbortSignal): Promise<void>;
}

export type RecordType = 'A' | 'AAAA' | 'TXT' | 'CNAME' | 'SRV';

/** The fields of an SRV record (RFC 2782); the record's name is `_service._proto.name`. */
export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  /** Host name that serves the service. */
  target: string;
}

export interface DnsZone {
  id: string;
  name: string;
  nameServers: string[];
}

export interface NewDnsRecord {
  type: RecordType;
  name: string;
  content: string;
  comment: string;
  /** Seconds; 1 means the provider's automatic TTL. */
  ttl: number;
  /**
   * Traffic to the name goes through Cloudflare's proxy. Only A, AAAA and CNAME records can be
   * proxied; the provider sends false for every other type. Missing means false.
   */
  proxied?: boolean;
  /** Fields of an SRV record, sent instead of `content`; required when `type` is SRV. */
  srv?: SrvData;
}

export interface DnsRecord extends NewDnsRecord {
  id: string;
}
