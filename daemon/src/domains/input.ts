import { AppError, invalidParameter } from '../errors.js';
import type { CloudflareCredentials } from '../dns/cloudflare.js';
import { parseCloudflareGlobalKey, parseCloudflareToken, parseEmail } from '../api/validation.js';
import { parseAuthServerUrl } from '../proxy/auth-server-url.js';
import type { SecretStore } from '../store/secret-store.js';
import type { FallbackIssuer } from '../store/model.js';
import { eabSecretName } from './acme-account.js';
import { parseDirectory, presetOfUrl } from './directories.js';
import { parseEab, type EabCredentials } from './eab.js';

/** Cloudflare credential fields of a create or update body. */
export interface CredentialFields {
  'cloudflare-token'?: string;
  'cloudflare-global-key'?: string;
  'cloudflare-email'?: string;
  'cloudflare-zone-token'?: string;
  'cloudflare-dns-token'?: string;
}

export interface IssuerFields {
  directory: string;
  email: string;
  'eab-key-id'?: string;
  'eab-hmac-key'?: string;
}

/**
 * Parses the `auth-server` field: undefined when absent, null for an empty string (remove it),
 * otherwise the canonical URL. Throws INVALID_PARAMETER with the reason.
 */
export function parseAuthServerField(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') return null;
  try {
    return parseAuthServerUrl(value);
  } catch (err) {
    throw invalidParameter('auth-server', err instanceof Error ? err.message : String(err));
  }
}

/** True when the body sets any Cloudflare credential field. */
export function hasCredentialFields(body: CredentialFields): boolean {
  return (
    body['cloudflare-token'] !== undefined ||
    body['cloudflare-global-key'] !== undefined ||
    body['cloudflare-email'] !== undefined ||
    body['cloudflare-zone-token'] !== undefined ||
    body['cloudflare-dns-token'] !== undefined
  );
}

/** Parses the pair of split tokens; both must be sent, and only without the other schemes. */
function parseSplitTokens(body: CredentialFields): CloudflareCredentials {
  const zoneToken = body['cloudflare-zone-token'];
  const dnsToken = body['cloudflare-dns-token'];
  if (body['cloudflare-token'] !== undefined || body['cloudflare-global-key'] !== undefined) {
    throw invalidParameter('cloudflare-zone-token', 'send either cloudflare-token, or cloudflare-global-key with cloudflare-email, or cloudflare-zone-token with cloudflare-dns-token, not several');
  }
  if (zoneToken === undefined) throw invalidParameter('cloudflare-zone-token', 'cloudflare-dns-token needs cloudflare-zone-token, a token with Zone:Zone:Read on the zone');
  if (dnsToken === undefined) throw invalidParameter('cloudflare-dns-token', 'cloudflare-zone-token needs cloudflare-dns-token, a token with Zone:DNS:Edit on the zone');
  return { kind: 'split', zoneToken: parseCloudflareToken('cloudflare-zone-token', zoneToken), dnsToken: parseCloudflareToken('cloudflare-dns-token', dnsToken) };
}

/**
 * Parses the Cloudflare credentials of a body: an API token, a Global API Key with the account
 * e-mail, or a zone token with a DNS token. Values are trimmed. An e-mail sent next to a token is not used, so that only
 * the `Authorization: Bearer` header goes to Cloudflare.
 */
export function parseCredentials(body: CredentialFields): CloudflareCredentials {
  if (body['cloudflare-zone-token'] !== undefined || body['cloudflare-dns-token'] !== undefined) return parseSplitTokens(body);
  const token = body['cloudflare-token'];
  const key = body['cloudflare-global-key'];
  if (token !== undefined && key !== undefined) {
    throw invalidParameter('cloudflare-global-key', 'send either cloudflare-token or cloudflare-global-key with cloudflare-email, not both; an API token is recommended');
  }
  if (token !== undefined) return { kind: 'token', token: parseCloudflareToken('cloudflare-token', token) };
  if (key !== undefined) {
    const email = body['cloudflare-email'];
    if (email === undefined || email.trim() === '') throw invalidParameter('cloudflare-email', 'the Global API Key needs the e-mail address of the Cloudflare account');
    return { kind: 'global-key', key: parseCloudflareGlobalKey('cloudflare-global-key', key), email: parseEmail('cloudflare-email', email) };
  }
  throw invalidParameter('cloudflare-token', 'Cloudflare credentials are missing; send cloudflare-token (an API token with Zone:Zone:Read and Zone:DNS:Edit), or cloudflare-global-key with cloudflare-email, or cloudflare-zone-token with cloudflare-dns-token');
}

/** Returns the secret part of credentials, from which the masked hint is cut: the zone token of split credentials. */
export function credentialSecret(credentials: CloudflareCredentials): string {
  if (credentials.kind === 'token') return credentials.token;
  if (credentials.kind === 'split') return credentials.zoneToken;
  return credentials.key;
}

/** An issuer with its EAB credentials in memory, before anything is stored. */
export interface ParsedIssuer {
  directory: string;
  email: string;
  eab: EabCredentials | null;
}

/**
 * Parses an issuer's directory, email and optional EAB pair. A key id without an HMAC key reuses
 * the stored HMAC key of that key id, so that an update need not send the secret again.
 */
export async function parseIssuer(prefix: string, fields: IssuerFields, secrets: SecretStore): Promise<ParsedIssuer> {
  const directory = parseDirectory(`${prefix}directory`, fields.directory);
  const email = parseEmail(`${prefix}email`, fields.email);
  const keyId = fields['eab-key-id'];
  const hmac = fields['eab-hmac-key'];
  if (keyId === undefined && hmac === undefined) {
    const preset = presetOfUrl(directory);
    if (preset?.requiresEab === true) {
      throw invalidParameter(`${prefix}eab-key-id`, `${preset.title} requires External Account Binding; enter eab-key-id and eab-hmac-key from the ${preset.title} account page`);
    }
    return { directory, email, eab: null };
  }
  if (keyId === undefined) throw invalidParameter(`${prefix}eab-key-id`, 'an EAB HMAC key needs its key id; copy both from the CA account page');
  if (hmac === undefined) {
    const stored = await secrets.read('acme-account', eabSecretName(directory, keyId.trim()));
    if (stored === null) throw invalidParameter(`${prefix}eab-hmac-key`, `no HMAC key is stored for the EAB key id ${keyId.trim()} at ${directory}; send eab-hmac-key too`);
    return { directory, email, eab: { keyId: keyId.trim(), hmacKey: stored } };
  }
  return { directory, email, eab: parseEab(`${prefix}eab-key-id`, `${prefix}eab-hmac-key`, keyId, hmac) };
}

/** Writes the EAB HMAC keys of issuers; they are secrets, kept apart from the state. */
export async function storeEabKeys(issuers: readonly ParsedIssuer[], secrets: SecretStore): Promise<void> {
  for (const issuer of issuers) {
    if (issuer.eab !== null) await secrets.write('acme-account', eabSecretName(issuer.directory, issuer.eab.keyId), issuer.eab.hmacKey);
  }
}

/** Builds the stored form of a fallback issuer. */
export function storedFallback(issuer: ParsedIssuer): FallbackIssuer {
  return issuer.eab === null ? { directory: issuer.directory, email: issuer.email } : { directory: issuer.directory, email: issuer.email, eabKeyId: issuer.eab.keyId };
}

/** Rejects a fallback list that repeats the primary issuer or one of its own entries. */
export function checkDistinctIssuers(issuers: readonly ParsedIssuer[]): void {
  const seen = new Set<string>();
  for (const [index, issuer] of issuers.entries()) {
    const key = `${issuer.directory}\n${issuer.email}`;
    if (seen.has(key)) {
      throw new AppError('INVALID_PARAMETER', 'Parameter verification failed.', {
        parameters: { 'fallback-issuers': `issuer ${index} repeats ${issuer.directory} with ${issuer.email}; each fallback issuer must differ from the primary one and from the others` },
        retryable: false,
      });
    }
    seen.add(key);
  }
}
