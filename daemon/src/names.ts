import { createHash } from 'node:crypto';
import { domainToASCII } from 'node:url';

/**
 * Host name rules (RFC 1035 section 2.3.4 and RFC 1123 section 2.1): labels of letters, digits
 * and hyphens, 1 to 63 octets, not starting or ending with a hyphen; 253 octets in all without the
 * trailing dot. Every name is stored and compared in this canonical form: lower-case, ASCII
 * (internationalised names converted to punycode, RFC 3492), without the trailing dot.
 */
const labelPattern = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const maxNameLength = 253;

export type NameCheck = { ok: true; name: string } | { ok: false; reason: string };

/** Canonicalises a host name, or returns why it is not one. */
export function normaliseHostname(input: string): NameCheck {
  const trimmed = input.trim();
  if (trimmed === '') return { ok: false, reason: 'the name is empty' };
  const withoutDot = trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
  // Checked before any conversion: the WHATWG host parser behind domainToASCII silently drops
  // tabs and newlines and cuts the name at "#", "/" or "?".
  // Besides letters, marks and digits, IDNA2008 allows a few punctuation characters in labels
  // (RFC 5892 appendix A: U+00B7, U+0375, U+05F3, U+05F4, U+06FD, U+06FE, U+0F0B, U+30FB), which
  // the Unicode form of a stored name can contain.
  const bad = /[^\p{L}\p{M}\p{N}.\u00b7\u0375\u05f3\u05f4\u06fd\u06fe\u0f0b\u30fb-]/u.exec(withoutDot);
  if (bad !== null) {
    return { ok: false, reason: `"${input}" contains ${JSON.stringify(bad[0])}; a name may contain only letters, digits, hyphens and dots` };
  }
  if (withoutDot.split('.').some((label) => label === '')) {
    return { ok: false, reason: `"${input}" has an empty label (two dots in a row, or a leading dot)` };
  }
  const ascii = /^[\x21-\x7e]*$/.test(withoutDot) ? withoutDot.toLowerCase() : domainToASCII(withoutDot);
  if (ascii === '') return { ok: false, reason: `"${input}" is not a valid internationalised domain name` };
  if (ascii.length > maxNameLength) {
    return { ok: false, reason: `"${input}" is ${ascii.length} characters long; the maximum is ${maxNameLength}` };
  }
  for (const label of ascii.split('.')) {
    if (label.length > 63) {
      return { ok: false, reason: `the label "${label}" is ${label.length} characters long; the maximum is 63` };
    }
    if (!labelPattern.test(label)) {
      return {
        ok: false,
        reason: `the label "${label}" may contain only letters, digits and hyphens, and may not start or end with a hyphen`,
      };
    }
  }
  return { ok: true, name: ascii };
}

/** True when `name` equals `zone` or lies below it; both must be canonical. */
export function isWithin(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** Returns the TXT record name for a DNS-01 challenge of `identifier` (RFC 8555 section 8.4). */
export function challengeRecordName(identifier: string): string {
  const base = identifier.startsWith('*.') ? identifier.slice(2) : identifier;
  return `_acme-challenge.${base}`;
}

/**
 * Builds the comment stored on every DNS record this product creates. Cloudflare's Free plan
 * allows 100 characters per comment, so a long host name is replaced by a hash of it.
 */
export function ownershipComment(clusterName: string, purpose: 'service' | 'acme', hostname: string): string {
  const full = `pve-domains cluster=${clusterName} ${purpose}=${hostname}`;
  if (full.length <= 100) return full;
  const digest = createHash('sha256').update(hostname).digest('hex').slice(0, 24);
  return `pve-domains cluster=${clusterName.slice(0, 32)} ${purpose}=sha256:${digest}`;
}

/** Builds a file-system-safe key from a canonical host name. A wildcard label becomes `_wildcard`. */
export function fileKey(hostname: string): string {
  const key = hostname.startsWith('*.') ? `_wildcard.${hostname.slice(2)}` : hostname;
  if (!/^[a-z0-9_][a-z0-9_.-]*$/.test(key) || key.includes('..')) {
    throw new Error(`unable to build a file name from "${hostname}": it is not a canonical host name`);
  }
  return key;
}
