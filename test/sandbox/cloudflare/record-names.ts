import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

const LABEL = /^(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$/;

/**
 * Converts a host name to lower-case Punycode without the trailing dot, or returns undefined when
 * it is not a valid name (empty label, label over 63 octets, name over 253 octets, bad characters).
 * A `*` label is accepted only as the first label.
 */
export function normalizeHostName(input: string): string | undefined {
  const trimmed = input.endsWith('.') ? input.slice(0, -1) : input;
  if (trimmed === '') return undefined;
  const ascii = domainToASCII(trimmed);
  if (ascii === '' || ascii.length > 253) return undefined;
  const labels = ascii.split('.');
  const valid = labels.every((label, index) => LABEL.test(label) && (label !== '*' || index === 0));
  return valid ? ascii : undefined;
}

/**
 * Qualifies a record name the way the API does: `@` and the empty name mean the apex, and a name
 * that does not end in the zone name is relative, so the zone is appended (Cloudflare turns
 * `site2.com` in zone `site1.com` into `site2.com.site1.com`).
 */
export function qualifyRecordName(input: string, zoneName: string): string | undefined {
  if (input === '@' || input === '') return zoneName;
  const normalized = normalizeHostName(input);
  if (normalized === undefined) return undefined;
  if (normalized === zoneName || normalized.endsWith(`.${zoneName}`)) return normalized;
  return normalizeHostName(`${normalized}.${zoneName}`);
}

/** Returns the IPv4 address unchanged when it is a full dotted quad, else undefined. */
export function parseIPv4(content: string): string | undefined {
  return isIPv4(content) ? content : undefined;
}

/** Returns the RFC 5952 form of an IPv6 address (`fe80::0:0:1` becomes `fe80::1`), else undefined. */
export function canonicalIPv6(content: string): string | undefined {
  if (!isIPv6(content) || content.includes('%')) return undefined;
  // The WHATWG URL parser serialises IPv6 hosts in the compressed lower-case RFC 5952 form.
  return new URL(`http://[${content}]/`).hostname.slice(1, -1);
}
