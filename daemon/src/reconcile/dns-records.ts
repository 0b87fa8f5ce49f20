import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { DnsProvider, DnsRecord, DnsZone } from '../dns/provider.js';

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
): Promise<void> {
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
  for (const address of missing) {
    const type = isIP(address) === 6 ? 'AAAA' : 'A';
    const reusable = unused.findIndex((record) => record.type === type);
    if (reusable !== -1) {
      const [record] = unused.splice(reusable, 1) as [DnsRecord];
      await dns.updateRecord(zone, record.id, { type, name, content: address, ttl: 1, comment }, signal);
    } else {
      await dns.createRecord(zone, { type, name, content: address, ttl: 1, comment }, signal);
    }
  }
  for (const record of unused) {
    await dns.deleteRecord(zone, record.id, signal);
  }
  if (missing.length > 0 || unused.length > 0) {
    logger.info({ zone: zone.name, record_name: name, addresses }, 'address records converged');
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
