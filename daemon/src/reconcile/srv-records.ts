import type { Logger } from 'pino';

import type { DnsProvider, DnsZone, NewDnsRecord, SrvData } from '../dns/provider.js';

/**
 * The SRV record of a TCP or UDP service: `_service._proto.<fqdn>` pointing at the service's own
 * name and external port, so a client that looks up the service finds the port (RFC 2782).
 */

export interface SrvPublication {
  /** `_service._proto.<fqdn>`. */
  name: string;
  data: SrvData;
}

/** Builds the SRV record of service `fqdn` for `service` (such as `_minecraft`) over `protocol`. */
export function srvPublication(fqdn: string, protocol: 'tcp' | 'udp', service: string, externalPort: number, priority: number, weight: number): SrvPublication {
  return { name: `${service}._${protocol}.${fqdn}`, data: { priority, weight, port: externalPort, target: fqdn } };
}

function sameData(first: SrvData | undefined, second: SrvData): boolean {
  return first !== undefined && first.priority === second.priority && first.weight === second.weight && first.port === second.port && first.target === second.target;
}

/**
 * Makes the SRV records that carry `comment` equal `desired`: one record at `desired.name`, none
 * when `desired` is null. Owned SRV records at `previousName` (the name published before a change
 * of service label) are deleted. SRV records of other owners stay, since several SRV records at
 * one name are a normal way to list several servers.
 */
export async function ensureSrvRecord(
  dns: DnsProvider,
  zone: DnsZone,
  desired: SrvPublication | null,
  previousName: string | null,
  comment: string,
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  if (previousName !== null && previousName !== desired?.name) {
    const stale = (await dns.listRecords(zone, { name: previousName, type: 'SRV' }, signal)).filter((record) => record.comment === comment);
    for (const record of stale) await dns.deleteRecord(zone, record.id, signal);
    if (stale.length > 0) logger.info({ zone: zone.name, record_name: previousName, deleted: stale.length }, 'srv records of an earlier name deleted');
  }
  if (desired === null) return;

  const owned = (await dns.listRecords(zone, { name: desired.name, type: 'SRV' }, signal)).filter((record) => record.comment === comment);
  const record: NewDnsRecord = {
    type: 'SRV',
    name: desired.name,
    content: `${desired.data.priority} ${desired.data.weight} ${desired.data.port} ${desired.data.target}`,
    comment,
    ttl: 1,
    srv: desired.data,
  };
  const [first, ...extra] = owned;
  if (first === undefined) {
    await dns.createRecord(zone, record, signal);
    logger.info({ zone: zone.name, record_name: desired.name, srv: desired.data }, 'srv record created');
  } else if (!sameData(first.srv, desired.data)) {
    await dns.updateRecord(zone, first.id, record, signal);
    logger.info({ zone: zone.name, record_name: desired.name, srv: desired.data }, 'srv record updated');
  }
  for (const duplicate of extra) await dns.deleteRecord(zone, duplicate.id, signal);
}
