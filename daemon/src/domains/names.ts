import { domainToUnicode } from 'node:url';
import { parse as parseWithSuffixList } from 'tldts';
import { invalidParameter } from '../errors.js';
import { isWithin, normaliseHostname } from '../names.js';

/** A registered domain in both forms: ASCII (stored, compared) and Unicode (shown). */
export interface DomainName {
  ascii: string;
  unicode: string;
}

/** Returns the Unicode form of a canonical ASCII name (RFC 3492), or the name itself when it has no punycode label. */
export function unicodeForm(ascii: string): string {
  const unicode = domainToUnicode(ascii);
  return unicode === '' ? ascii : unicode;
}

/**
 * Returns the public suffix of `name` when `name` is nothing more than that suffix, else null.
 * Only the ICANN section of the Public Suffix List counts: the private section names companies'
 * own domains (such as hosting platforms), which may well be Cloudflare zones of their owners.
 */
export function barePublicSuffix(name: string): string | null {
  const parsed = parseWithSuffixList(name, { allowPrivateDomains: false });
  if (parsed.isIcann === true && parsed.publicSuffix === name) return name;
  return null;
}

/** The registrable domain (public suffix plus one label) of `name`, or null when the list knows none. */
export function registrableDomain(name: string): string | null {
  return parseWithSuffixList(name, { allowPrivateDomains: false }).domain;
}

/**
 * Parses the domain of an External Domain: canonical ASCII form, at least two labels, and not a
 * bare public suffix such as `com`, `co.uk` or `com.au`. Throws a 400 naming `parameter`.
 */
export function parseRegisteredDomain(parameter: string, input: string): DomainName {
  const result = normaliseHostname(input);
  if (!result.ok) throw invalidParameter(parameter, `${result.reason}; enter a domain such as example.com`);
  const ascii = result.name;
  if (!ascii.includes('.')) {
    throw invalidParameter(parameter, `"${input}" is a top-level domain; enter the registered domain, such as example.com`);
  }
  // No top-level domain is all-numeric (RFC 3696 section 2), and the WHATWG host parser behind
  // domainToUnicode reads a name whose last label is a decimal or 0x number as an IPv4 address.
  const topLabel = ascii.slice(ascii.lastIndexOf('.') + 1);
  if (/^(?:[0-9]+|0x[0-9a-f]*)$/.test(topLabel)) {
    throw invalidParameter(parameter, `"${input}" ends in the numeric label "${topLabel}", which reads as an IP address; enter a domain name such as example.com`);
  }
  const suffix = barePublicSuffix(ascii);
  if (suffix !== null) {
    throw invalidParameter(parameter, `"${input}" is a public suffix, under which anyone can register names; enter your own domain below it, such as example.${suffix}`);
  }
  return { ascii, unicode: unicodeForm(ascii) };
}

/** The registered domains that `name` lies below (parents) or that lie below `name` (children). */
export function overlappingDomains(name: string, registered: readonly string[]): { parents: string[]; children: string[] } {
  const others = registered.filter((item) => item !== name);
  return {
    parents: others.filter((item) => isWithin(name, item)),
    children: others.filter((item) => isWithin(item, name)),
  };
}
