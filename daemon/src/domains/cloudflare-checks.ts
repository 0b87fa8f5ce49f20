import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import type { Logger } from 'pino';
import { cloudflareErrorCodes, cloudflareStatus, type CloudflareCredentials, type CloudflareProvider, type ZoneDetails } from '../dns/cloudflare.js';
import { AppError, errorMessage } from '../errors.js';
import { ownershipComment } from '../names.js';
import type { VerificationCheck } from '../store/model.js';
import { registrableDomain } from './names.js';

/** Codes Cloudflare sends when a token is valid but the zone lies outside its scope (API v4, 2025). */
const scopeRefusalCodes = new Set([0, 10000]);

/**
 * Explains a rejected credential in the admin's terms: which value looks wrong and which
 * credential type to choose. `codes` includes the codes of the `error_chain` of 6003.
 */
export function credentialProblem(err: unknown, credentials: CloudflareCredentials): string {
  const codes = cloudflareErrorCodes(err instanceof AppError ? err.cause : err);
  const upstream = errorMessage(err);
  if (codes.includes(6111)) {
    // Only a hex value of a Global API Key's length is named as one; any other malformed value
    // is most likely a token copied incompletely.
    const looksLikeKey = credentials.kind === 'token' && /^[0-9a-f]{37,45}$/.test(credentials.token);
    const hint = looksLikeKey
      ? 'the value looks like a Global API Key: enter it as cloudflare-global-key with cloudflare-email, or create an API token'
      : 'copy the API token again from the Cloudflare dashboard (a token is 40 characters, or starts with cfut_ or cfat_)';
    return `Cloudflare rejected the format of the API token (6003/6111); ${hint}. ${upstream}`;
  }
  if (codes.includes(6103) || codes.includes(6102)) {
    return `Cloudflare rejected the format of the Global API Key or e-mail (6003/6103); the value looks like an API token: enter it as cloudflare-token instead. ${upstream}`;
  }
  if (codes.includes(9103)) return `Cloudflare does not know this Global API Key and e-mail (9103); copy the key again and check the account e-mail. ${upstream}`;
  if (codes.includes(1000) || codes.includes(9109)) {
    return `Cloudflare rejected the API token as invalid, revoked or expired (${codes.join(', ')}); create a new token with Zone:Zone:Read and Zone:DNS:Edit. ${upstream}`;
  }
  const scheme = credentials.kind === 'token' ? 'API token' : 'Global API Key and e-mail';
  return `Cloudflare rejected the ${scheme}: ${upstream}`;
}

/** True when a failed zone lookup means "this token may not see that name", not "the token is bad". */
function isScopeRefusal(err: unknown): boolean {
  if (cloudflareStatus(err) !== 403) return false;
  const codes = cloudflareErrorCodes(err instanceof AppError ? err.cause : err);
  return codes.length === 0 || codes.every((code) => scopeRefusalCodes.has(code));
}

/** Candidates from `domain` up to its registrable domain, longest first. */
export function zoneCandidates(domain: string): string[] {
  const labels = domain.split('.');
  const last = registrableDomain(domain) ?? domain;
  const candidates: string[] = [];
  for (let start = 0; start < labels.length - 1; start++) {
    const candidate = labels.slice(start).join('.');
    candidates.push(candidate);
    if (candidate === last) break;
  }
  return candidates;
}

export type ZoneSearch = { kind: 'found'; zone: ZoneDetails } | { kind: 'not-found'; refused: string[] } | { kind: 'credentials-rejected'; error: unknown };

/**
 * Walks the candidate zones of `domain`, longest first. A 403 scope refusal (10000) on a
 * candidate means "not visible to this token" and the walk goes on; any other credential
 * rejection ends the walk at once, so a revoked token costs one request.
 */
export async function searchZone(provider: CloudflareProvider, domain: string, signal?: AbortSignal): Promise<ZoneSearch> {
  const refused: string[] = [];
  for (const candidate of zoneCandidates(domain)) {
    try {
      const zone = await provider.zoneByName(candidate, signal);
      if (zone !== null) return { kind: 'found', zone };
    } catch (err) {
      if (isScopeRefusal(err)) {
        refused.push(candidate);
        continue;
      }
      if (err instanceof AppError && err.code === 'DNS_AUTH_FAILED') return { kind: 'credentials-rejected', error: err };
      throw err;
    }
  }
  return { kind: 'not-found', refused };
}

/**
 * The zone check's outcome from a search. `tokenName` names the credential that looks zones up,
 * as the fix names it.
 */
export function zoneCheck(domain: string, search: ZoneSearch, tokenName = 'the token'): VerificationCheck {
  if (search.kind === 'not-found') {
    const refusal = search.refused.length === 0 ? '' : ` (Cloudflare refused the lookup of ${search.refused.join(', ')})`;
    return {
      check: 'zone',
      status: 'fail',
      message: `No Cloudflare zone from ${domain} up to ${zoneCandidates(domain).at(-1) ?? domain} is visible to these credentials${refusal}; add the zone to Cloudflare, or grant ${tokenName} Zone:Zone:Read on it`,
    };
  }
  if (search.kind === 'credentials-rejected') return { check: 'zone', status: 'skip', message: 'skipped because Cloudflare rejected the credentials' };
  const { zone } = search;
  const where = zone.name === domain ? `zone ${zone.name}` : `zone ${zone.name}, which holds ${domain}`;
  if (zone.status === 'pending' || zone.status === 'initializing') {
    return { check: 'zone', status: 'fail', message: `The ${where} is ${zone.status}: nameservers not yet delegated to Cloudflare; set the nameservers of ${zone.name} at its registrar to ${zone.nameServers.join(', ')}` };
  }
  if (zone.status !== 'active') {
    return { check: 'zone', status: 'fail', message: `The ${where} has status ${zone.status}; Cloudflare no longer serves it, so add it again in the Cloudflare dashboard` };
  }
  return { check: 'zone', status: 'pass', message: `Found the active ${where} (id ${zone.id})` };
}

function canonicalHost(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Compares the NS set that the configured resolvers return for the zone with the nameservers
 * Cloudflare assigned. A mismatch only warns: the delegation may still be propagating.
 */
export async function delegationCheck(zone: ZoneDetails, resolvers: string[]): Promise<VerificationCheck> {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  if (resolvers.length > 0) resolver.setServers(resolvers);
  let found: string[];
  try {
    found = (await resolver.resolveNs(zone.name)).map(canonicalHost).sort();
  } catch (err) {
    return { check: 'delegation', status: 'warn', message: `The NS lookup of ${zone.name} failed (${errorMessage(err)}); check that the registrar delegates it to ${zone.nameServers.join(', ')}` };
  }
  const expected = zone.nameServers.map(canonicalHost).sort();
  if (found.length === expected.length && found.every((name, index) => name === expected[index])) {
    return { check: 'delegation', status: 'pass', message: `${zone.name} is delegated to ${found.join(', ')}` };
  }
  return { check: 'delegation', status: 'warn', message: `${zone.name} is delegated to ${found.join(', ')}, but Cloudflare assigned ${expected.join(', ')}; set these nameservers at the registrar` };
}

/**
 * Checks that the credentials may edit DNS: creates a uniquely named TXT record below `domain`,
 * carrying the product's ownership comment, and deletes it again. `tokenName` names the
 * credential that edits records, as the fix names it.
 */
export async function dnsEditCheck(
  provider: CloudflareProvider,
  zone: ZoneDetails,
  domain: string,
  clusterName: string,
  logger: Logger,
  signal?: AbortSignal,
  tokenName = 'the token',
): Promise<VerificationCheck> {
  const name = `_pve-domains-probe-${randomBytes(4).toString('hex')}.${domain}`;
  let id: string;
  try {
    const created = await provider.createRecord(zone, { type: 'TXT', name, content: 'pve-domains permission check', comment: ownershipComment(clusterName, 'acme', name), ttl: 60 }, signal);
    id = created.id;
  } catch (err) {
    if (err instanceof AppError && err.code === 'DNS_AUTH_FAILED') {
      return { check: 'dns-edit', status: 'fail', message: `The credentials may not create DNS records in zone ${zone.name}; grant ${tokenName} Zone:DNS:Edit on ${zone.name}. ${err.message}` };
    }
    return { check: 'dns-edit', status: 'fail', message: `Unable to create the test record ${name}: ${errorMessage(err)}` };
  }
  try {
    await provider.deleteRecord(zone, id, signal);
  } catch (err) {
    logger.warn({ zone: zone.name, record_id: id, record_name: name, err: errorMessage(err) }, 'test record left behind');
    return { check: 'dns-edit', status: 'warn', message: `Created the test record ${name} but could not delete it (${errorMessage(err)}); delete it in the Cloudflare dashboard` };
  }
  return { check: 'dns-edit', status: 'pass', message: `Created and deleted the test record ${name} in zone ${zone.name}` };
}

/** One API token of the credentials with the name its messages use. */
export interface NamedToken {
  token: string;
  label: string;
  /** True for one of two split tokens, whose messages name which one failed. */
  split: boolean;
}

/** Lists the API tokens of the credentials; the zone token comes first. The global key has none. */
export function namedTokens(credentials: CloudflareCredentials): NamedToken[] {
  if (credentials.kind === 'token') return [{ token: credentials.token, label: 'The API token', split: false }];
  if (credentials.kind === 'split') {
    return [
      { token: credentials.zoneToken, label: 'The zone token (cloudflare-zone-token)', split: true },
      { token: credentials.dnsToken, label: 'The DNS token (cloudflare-dns-token)', split: true },
    ];
  }
  return [];
}

/** True for an account-owned token (`cfat_`), which only `/accounts/{id}/tokens/verify` accepts. */
export function isAccountToken(token: string): boolean {
  return token.startsWith('cfat_');
}
