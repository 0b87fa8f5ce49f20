import type { DnsRecord } from '../dns/provider.js';
import type { CheckOutcome } from './types.js';

export interface ExpectedRecords {
  fqdn: string;
  zone: string;
  /** Addresses the A and AAAA records must hold: the site's public addresses. */
  addresses: string[];
  /** Whether the records go through Cloudflare's proxy (the service's cloudflare-proxied option). */
  proxied: boolean;
  /** Ownership comment of the service's records. */
  comment: string;
}

const addressTypes = new Set(['A', 'AAAA', 'CNAME']);

function describe(record: DnsRecord): string {
  return `${record.type} ${record.content}${record.proxied ? ' (proxied)' : ''}`;
}

/** Compares the service's own A and AAAA records with the addresses and proxy setting they should have. */
export function judgeRecords(expected: ExpectedRecords, records: DnsRecord[]): CheckOutcome {
  const owned = records.filter((record) => (record.type === 'A' || record.type === 'AAAA') && record.comment === expected.comment);
  const missing = expected.addresses.filter((address) => !owned.some((record) => record.content === address));
  const extra = owned.filter((record) => !expected.addresses.includes(record.content));
  const wrongProxy = owned.filter((record) => expected.addresses.includes(record.content) && record.proxied !== expected.proxied);
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${missing.join(', ')}`);
  if (extra.length > 0) problems.push(`left over ${extra.map(describe).join(', ')}`);
  if (wrongProxy.length > 0) problems.push(`${wrongProxy.map((record) => record.content).join(', ')} ${expected.proxied ? 'not proxied although' : 'proxied although not'} cloudflare-proxied is set`);
  if (problems.length === 0) {
    const mode = expected.proxied ? 'through Cloudflare\'s proxy' : 'DNS only';
    return { verdict: 'ok', message: `${expected.fqdn} points at ${expected.addresses.join(', ')} (${mode}) in zone ${expected.zone}` };
  }
  return {
    verdict: 'failed',
    message: `The records of ${expected.fqdn} in zone ${expected.zone} differ from the site's addresses ${expected.addresses.join(', ')}: ${problems.join('; ')}`,
    fix: `Queue the service for the daemon, which rewrites its records, with: pve-domains set /services/${expected.fqdn}. If they stay wrong, "pve-domains get /services/${expected.fqdn}" shows the error of its dns step`,
  };
}

/** Finds records at the service's name that the daemon did not create and that stop it from publishing there. */
export function judgeConflicts(expected: ExpectedRecords, records: DnsRecord[]): CheckOutcome {
  const foreign = records.filter((record) => addressTypes.has(record.type) && record.comment !== expected.comment);
  if (foreign.length === 0) return { verdict: 'ok', message: `No A, AAAA or CNAME record at ${expected.fqdn} was created by anything but pve-domains` };
  return {
    verdict: 'failed',
    message: `Zone ${expected.zone} has records at ${expected.fqdn} that pve-domains did not create: ${foreign.map(describe).join(', ')}; the daemon leaves them alone and cannot publish the service`,
    fix: `Delete these records in the Cloudflare dashboard (DNS > Records) if nothing else uses them, or expose the service under another subdomain`,
  };
}
