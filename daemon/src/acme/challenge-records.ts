import type { Logger } from 'pino';
import { registrableDomain } from '../domains/names.js';
import { AppError } from '../errors.js';
import type { DnsProvider, DnsRecord, DnsZone } from '../dns/provider.js';

/** A TXT record published for one dns-01 challenge. */
export interface PublishedChallenge {
  zone: DnsZone;
  recordId: string;
  /** Name the TXT record was written at (the CNAME target when delegated). */
  recordName: string;
  value: string;
}

/** TTL of challenge TXT records, the lowest Cloudflare accepts on every plan (60 s). */
const challengeTtl = 60;
/** Time allowed for removing one challenge record. */
const cleanupTimeoutMs = 30_000;

/** The prefix of the comment on every challenge record this cluster writes. */
export function challengeCommentPrefix(clusterName: string): string {
  return `pve-domains cluster=${clusterName} acme=`;
}

/**
 * Returns the name and zone where the TXT value of `recordName` must be written: the name itself,
 * or the target of a CNAME at that name (RFC 8555 section 8.4 validation follows CNAMEs).
 * A target outside every zone the credentials can read raises DNS_ZONE_NOT_FOUND naming it.
 */
export async function challengeTarget(dns: DnsProvider, recordName: string, registeredZone: string, signal?: AbortSignal): Promise<{ zone: DnsZone; name: string }> {
  const zone = await dns.findZone(recordName, registeredZone, signal);
  const aliases = await dns.listRecords(zone, { name: recordName, type: 'CNAME' }, signal);
  const alias = aliases[0];
  if (alias === undefined) return { zone, name: recordName };
  const target = alias.content.toLowerCase().replace(/\.$/, '');
  // The zone walk stops at the target's registrable domain (public suffix list), so that a
  // target under co.uk is not looked for at co.uk itself.
  const targetRegistered = registrableDomain(target) ?? target;
  try {
    return { zone: await dns.findZone(target, targetRegistered, signal), name: target };
  } catch (err) {
    // A token scoped to other zones gets 403 on the target's zone, which reads as rejected
    // credentials; either way the admin needs to know about the delegation.
    if (err instanceof AppError && (err.code === 'DNS_ZONE_NOT_FOUND' || err.code === 'DNS_AUTH_FAILED')) {
      throw new AppError('DNS_ZONE_NOT_FOUND', `${recordName} is delegated by CNAME to ${target}, whose zone these Cloudflare credentials cannot reach; grant the token Zone:DNS:Edit on the zone of ${target} or remove the CNAME`, {
        cause: err,
        retryable: false,
      });
    }
    throw err;
  }
}

/**
 * Publishes one challenge value. Several values may coexist at one name (an apex and its
 * wildcard), so an existing record is never replaced; an identical record is adopted.
 */
export async function publishChallenge(
  dns: DnsProvider,
  target: { zone: DnsZone; name: string },
  value: string,
  comment: string,
  signal?: AbortSignal,
): Promise<PublishedChallenge> {
  const record = await dns.createRecord(target.zone, { type: 'TXT', name: target.name, content: value, ttl: challengeTtl, comment }, signal);
  return { zone: target.zone, recordId: record.id, recordName: target.name, value };
}

/** Removes challenge records, each by its own id; failures are logged and returned. */
export async function removeChallenges(dns: DnsProvider, published: PublishedChallenge[], log: Logger): Promise<number> {
  let failed = 0;
  for (const item of published) {
    try {
      await dns.deleteRecord(item.zone, item.recordId, AbortSignal.timeout(cleanupTimeoutMs));
    } catch (err) {
      failed++;
      log.error({ err, record_id: item.recordId, record_name: item.recordName }, 'unable to remove an acme challenge record');
    }
  }
  return failed;
}

/**
 * Deletes the challenge TXT records of this cluster at `names` whose order is not running, for
 * example after a crash between publishing and validation. `isRunning` gets the record.
 */
export async function removeOrphanChallenges(
  dns: DnsProvider,
  zone: DnsZone,
  names: string[],
  clusterName: string,
  isRunning: (record: DnsRecord) => boolean,
  log: Logger,
  signal?: AbortSignal,
): Promise<number> {
  const prefix = challengeCommentPrefix(clusterName);
  let removed = 0;
  for (const name of names) {
    const records = await dns.listRecords(zone, { name, type: 'TXT' }, signal);
    for (const record of records) {
      if (!record.comment.startsWith(prefix) || isRunning(record)) continue;
      await dns.deleteRecord(zone, record.id, signal);
      removed++;
      log.warn({ zone: zone.name, record_id: record.id, record_name: name }, 'removed a challenge record left by an earlier order');
    }
  }
  return removed;
}
