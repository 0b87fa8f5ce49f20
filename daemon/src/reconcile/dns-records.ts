import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { DnsProvider, DnsRecord, DnsZone, NewDnsRecord } from '../dns/provider.js';

export interface AddressRecordOptions {
  /**
   * Publish the records through Cloudflare's proxy. They get TTL 1 (automatic), the only TTL a
   * proxied record has; records already there with the other setting are updated in place.
   */
  proxied?: boolean;
}

/**
 * Makes the A/AAAA records of `name` that carry `comment` equal `addresses`, without touching any
 * record this product did not create. A foreign A, AAAA or CNAME record at the name is a conflict:
 * the service cannot be published there until the admin removes it.
 */
export async function ensureAddressRecords(
  dns: DnsProvider,
  zone: DnsZone,
  name: string,
  addresses: string[],
  comment: string,
  logger: Logger,
  signal?: AbortSignal,
  options: AddressRecordOptions = {},
): Promise<void> {
  const proxied = options.proxied === true;
  const existing = await dns.listRecords(zone, { name }, signal);
  const addressTypes = new Set(['A', 'AAAA', 'CNAME']);
  const foreign = existing.filter((record) => addressTypes.has(record.type) && record.comment !== comment);
  if (foreign.length > 0) {
    const list = foreign.map((record) => `${record.type} ${record.content}`).join(', ');
    throw new AppError('DNS_RECORD_CONFLICT', `Unable to publish ${name}: the zone ${zone.name} already has records at that name that pve-domains did not create (${list}); remove them in Cloudflare or choose another subdomain`);
  }
  const owned = existing.filter((record) => (record.type === 'A' || record.type === 'AAAA') && record.comment === comment);

  const unused: DnsRecord[] = owned.filter((record) => !addresses.includes(record.content));
  const missing = addresses.filter((address) => !owned.some((record) => record.content === address));
  const switched = owned.filter((record) => addresses.includes(record.content) && (record.proxied === true) !== proxied);
  const desired = (address: string): NewDnsRecord => ({ type: isIP(address) === 6 ? 'AAAA' : 'A', name, content: address, ttl: 1, comment, proxied });
  for (const address of missing) {
    const record = desired(address);
    const reusable = unused.findIndex((item) => item.type === record.type);
    if (reusable !== -1) {
      const [previous] = unused.splice(reusable, 1) as [DnsRecord];
      await dns.updateRecord(zone, previous.id, record, signal);
    } else {
      await dns.createRecord(zone, record, signal);
    }
  }
  for (const record of switched) {
    await dns.updateRecord(zone, record.id, desired(record.content), signal);
  }
  for (const record of unused) {
    await dns.deleteRecord(zone, record.id, signal);
  }
  if (missing.length > 0 || unused.length > 0 || switched.length > 0) {
    logger.info({ zone: zone.name, record_name: name, addresses, proxied }, 'address records converged');
  }
}

/** Deletes every record at each of `names` whose comment is one of `comments`; returns how many. */
export async function deleteOwnedRecords(dns: DnsProvider, zone: DnsZone, names: string[], comments: string[], signal?: AbortSignal): Promise<number> {
  let deleted = 0;
  for (const name of names) {
    const records = await dns.listRecords(zone, { name }, signal);
    for (const record of records) {
      if (!comments.includes(record.comment)) continue;
      await dns.deleteRecord(zone, record.id, signal);
      deleted++;
    }
  }
  return deleted;
}
