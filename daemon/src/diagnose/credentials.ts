import type { Logger } from 'pino';
import { CloudflareProvider, type CloudflareCredentials, type ZoneDetails } from '../dns/cloudflare.js';
import { credentialProblem, isAccountToken, namedTokens, searchZone, zoneCandidates, type NamedToken } from '../domains/cloudflare-checks.js';
import { errorMessage } from '../errors.js';
import type { CheckOutcome } from './types.js';

/** Returns the CLI command that saves new credentials of the same kind for `domain`. */
export function saveCredentialsCommand(domain: string, credentials: CloudflareCredentials | null): string {
  if (credentials?.kind === 'split') return `pve-domains set /domains/${domain} --cloudflare-zone-token-file FILE --cloudflare-dns-token-file FILE2`;
  if (credentials?.kind === 'global-key') return `pve-domains set /domains/${domain} --cloudflare-global-key-file FILE --cloudflare-email ${credentials.email}`;
  return `pve-domains set /domains/${domain} --cloudflare-token-file FILE`;
}

/** Advice for credentials that Cloudflare rejected or that cannot read the zone. */
export function newTokenFix(domain: string, zone: string, credentials: CloudflareCredentials | null): string {
  return `Create an API token in the Cloudflare dashboard (My Profile > API Tokens) with Zone:Zone:Read and Zone:DNS:Edit on ${zone}, write it to a file and save it with: ${saveCredentialsCommand(domain, credentials)}`;
}

export interface CredentialsResult {
  outcome: CheckOutcome;
  /** The zone that contains the name, or null when the credentials do not reach one. */
  zone: ZoneDetails | null;
}

export interface CredentialsRequest {
  /** The registered domain, for the commands in the advice. */
  domain: string;
  /** The name whose zone is looked up: the domain or a service's name. */
  name: string;
  credentials: CloudflareCredentials;
  apiBaseUrl: string;
  logger: Logger;
}

/** Verifies one token; returns the failed outcome, or null when the token is active. */
async function verifyToken(request: CredentialsRequest, token: NamedToken, accountId: string | null, signal: AbortSignal): Promise<CheckOutcome | null> {
  const credentials: CloudflareCredentials = { kind: 'token', token: token.token };
  const provider = new CloudflareProvider({ apiBaseUrl: request.apiBaseUrl, credentials, logger: request.logger });
  const zoneHint = zoneCandidates(request.domain).at(-1) ?? request.domain;
  try {
    const status = await provider.verifyToken(accountId, signal);
    if (status.status === 'active') return null;
    const expiry = status.expiresOn === null ? '' : ` (expired on ${status.expiresOn})`;
    return {
      verdict: 'failed',
      message: `${token.label} ${status.id} is ${status.status}${expiry}, so Cloudflare rejects every request made with it`,
      fix: `Enable the token in the Cloudflare dashboard (My Profile > API Tokens), or create a new one with Zone:Zone:Read and Zone:DNS:Edit on ${zoneHint}, write it to a file and save it with: ${saveCredentialsCommand(request.domain, request.credentials)}`,
    };
  } catch (err) {
    const problem = credentialProblem(err, credentials);
    return { verdict: 'failed', message: token.split ? `${token.label}: ${problem}` : problem, fix: newTokenFix(request.domain, zoneHint, request.credentials) };
  }
}

/**
 * Checks that Cloudflare accepts the credentials and that they can read the zone holding the
 * name: each token's status first (account tokens after the zone lookup, which gives their
 * account), then the zone walk that the reconciler's lookups also take.
 */
export async function checkCredentials(request: CredentialsRequest, signal: AbortSignal): Promise<CredentialsResult> {
  const { credentials } = request;
  const tokens = namedTokens(credentials);
  for (const token of tokens.filter((item) => !isAccountToken(item.token))) {
    const failure = await verifyToken(request, token, null, signal);
    if (failure !== null) return { outcome: failure, zone: null };
  }

  const provider = new CloudflareProvider({ apiBaseUrl: request.apiBaseUrl, credentials, logger: request.logger });
  const zoneHint = zoneCandidates(request.name).at(-1) ?? request.domain;
  let search;
  try {
    search = await searchZone(provider, request.name, signal);
  } catch (err) {
    return {
      outcome: { verdict: 'failed', message: `Unable to look up the Cloudflare zone of ${request.name}: ${errorMessage(err)}`, fix: "Check the node's network connection to api.cloudflare.com, then run the diagnosis again" },
      zone: null,
    };
  }
  if (search.kind === 'credentials-rejected') {
    return { outcome: { verdict: 'failed', message: credentialProblem(search.error, credentials), fix: newTokenFix(request.domain, zoneHint, credentials) }, zone: null };
  }
  if (search.kind === 'not-found') {
    const refused = search.refused.length === 0 ? '' : ` (Cloudflare refused the lookup of ${search.refused.join(', ')})`;
    return {
      outcome: {
        verdict: 'failed',
        message: `No Cloudflare zone from ${request.name} up to ${zoneHint} is visible to these credentials${refused}`,
        fix: `Add the zone to the Cloudflare account, or grant the token Zone:Zone:Read on it in the Cloudflare dashboard (My Profile > API Tokens > Edit)`,
      },
      zone: null,
    };
  }

  const zone = search.zone;
  for (const token of tokens.filter((item) => isAccountToken(item.token))) {
    if (zone.accountId === null) continue;
    const failure = await verifyToken(request, token, zone.accountId, signal);
    if (failure !== null) return { outcome: failure, zone: null };
  }
  let accepted = 'the API token';
  if (credentials.kind === 'global-key') accepted = `the Global API Key of ${credentials.email}`;
  else if (credentials.kind === 'split') accepted = 'both API tokens';
  return { outcome: { verdict: 'ok', message: `Cloudflare accepts ${accepted}, which can read zone ${zone.name} (id ${zone.id})` }, zone };
}

/** Judges the zone's status as Cloudflare reports it; `domain` is the registered domain it holds. */
export function zoneOutcome(zone: ZoneDetails, domain: string): CheckOutcome {
  const servers = zone.nameServers.join(', ');
  if (zone.status === 'active') return { verdict: 'ok', message: `Zone ${zone.name} is active on Cloudflare` };
  if (zone.status === 'pending' || zone.status === 'initializing') {
    return {
      verdict: 'failed',
      message: `Zone ${zone.name} is ${zone.status}: Cloudflare has not yet seen its nameservers delegated to ${servers}, and serves no proxied records for it`,
      fix: `At the registrar of ${zone.name}, replace the nameservers with ${servers}. Cloudflare activates the zone once the registry publishes them, usually within a few hours`,
    };
  }
  return {
    verdict: 'failed',
    message: `Zone ${zone.name} has the status ${zone.status}: Cloudflare no longer serves it`,
    fix: `Add ${zone.name} to Cloudflare again, set the nameservers it assigns at the registrar, and check the domain again with: pve-domains create /domains/${domain}/verify`,
  };
}
