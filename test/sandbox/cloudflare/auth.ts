import type { IncomingHttpHeaders } from 'node:http';
import {
  BAD_AUTHORIZATION_FORMAT,
  BAD_EMAIL_FORMAT,
  BAD_KEY_FORMAT,
  invalidRequestHeaders,
  missingAuthHeaders,
} from './errors.js';
import { newId } from './store.js';
import type { AuthScheme, TokenGrant, TokenPermission, TokenStatus } from './types.js';

// Credential formats (Cloudflare "API token formats", 2026): unprefixed tokens are 40 letters,
// digits, `-` or `_`. Prefixed tokens are `cfut_` or `cfat_`, 40 characters and a checksum. Global
// keys are 37-45 lower-case hex digits, or `cfk_`, 40 characters and a checksum.
const LEGACY_TOKEN = /^[A-Za-z0-9_-]{40}$/;
const PREFIXED_TOKEN = /^cf(ut|at)_[A-Za-z0-9]{40,}$/;
const LEGACY_KEY = /^[0-9a-f]{37,45}$/;
const PREFIXED_KEY = /^cfk_[A-Za-z0-9]{40,}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function isTokenFormat(token: string): boolean {
  return LEGACY_TOKEN.test(token) || PREFIXED_TOKEN.test(token);
}

export function isGlobalKeyFormat(key: string): boolean {
  return LEGACY_KEY.test(key) || PREFIXED_KEY.test(key);
}

/** Credential as read from the headers, before it is looked up. */
export type PresentedCredential =
  | { scheme: 'bearer'; token: string }
  | { scheme: 'key'; email: string; key: string };

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Names the scheme a request tries to use, for the request log and the rate limiter. */
export function detectScheme(headers: IncomingHttpHeaders): AuthScheme {
  if (headerValue(headers, 'x-auth-key') !== undefined) return 'key';
  if (headerValue(headers, 'authorization') !== undefined) return 'bearer';
  return 'none';
}

/**
 * Reads the credential the way Cloudflare checks it: presence first, then syntax. An `X-Auth-Key`
 * header is validated even when a Bearer token is also sent, because Cloudflare rejects such
 * requests with 6003/6103 (seen with clients that send both).
 */
export function readCredential(headers: IncomingHttpHeaders): PresentedCredential {
  const authorization = headerValue(headers, 'authorization');
  const key = headerValue(headers, 'x-auth-key');
  const email = headerValue(headers, 'x-auth-email');

  if (key !== undefined) {
    const chain = [];
    if (email !== undefined && !EMAIL.test(email)) chain.push(BAD_EMAIL_FORMAT);
    if (!isGlobalKeyFormat(key)) chain.push(BAD_KEY_FORMAT);
    if (chain.length > 0) throw invalidRequestHeaders(chain);
    if (email !== undefined) return { scheme: 'key', email, key };
  }
  if (authorization === undefined) throw missingAuthHeaders();

  const match = /^Bearer (\S+)$/.exec(authorization);
  const token = match?.[1];
  if (token === undefined || !isTokenFormat(token)) throw invalidRequestHeaders([BAD_AUTHORIZATION_FORMAT]);
  return { scheme: 'bearer', token };
}

export interface TokenRecord {
  readonly id: string;
  readonly zones: 'all' | readonly string[];
  readonly permissions: readonly TokenPermission[];
  readonly status: TokenStatus;
  readonly owner: 'user' | 'account';
  readonly expiresOn?: string;
}

/** What an authenticated caller may do; the global key may do everything. */
export type Principal =
  | { kind: 'token'; token: TokenRecord }
  | { kind: 'key'; email: string };

/** Tokens and global keys the simulator accepts. */
export class CredentialRegistry {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly keys = new Map<string, string>();

  addToken(token: string, grant: TokenGrant): void {
    if (!isTokenFormat(token)) {
      throw new Error(
        `token ${token.slice(0, 6)}… has an invalid format; use 40 letters, digits, '-' or '_', or cfut_/cfat_ plus 40 or more letters and digits`,
      );
    }
    const status = grant.status ?? 'active';
    this.tokens.set(token, {
      id: newId(),
      zones: grant.zones === 'all' ? 'all' : grant.zones.map((zone) => zone.toLowerCase()),
      permissions: [...grant.permissions],
      status,
      owner: grant.owner ?? (token.startsWith('cfat_') ? 'account' : 'user'),
      // An expired token needs a date in the past for the verify endpoint's `expires_on`.
      ...(status === 'expired' ? { expiresOn: new Date(Date.now() - 86_400_000).toISOString() } : {}),
    });
  }

  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  addGlobalKey(email: string, key: string): void {
    if (!isGlobalKeyFormat(key)) {
      throw new Error('global key has an invalid format; use 37-45 lower-case hex digits or cfk_ plus 40 or more letters and digits');
    }
    if (!EMAIL.test(email)) throw new Error(`email ${email} is invalid; use an address like user@example.test`);
    this.keys.set(`${email.toLowerCase()}\n${key}`, email);
  }

  findToken(token: string): TokenRecord | undefined {
    return this.tokens.get(token);
  }

  hasGlobalKey(email: string, key: string): boolean {
    return this.keys.has(`${email.toLowerCase()}\n${key}`);
  }
}

/** Checks whether the principal may act on the zone with the permission. `dns_records:edit` implies read. */
/** The zones of each token as a set; a token's list never changes after addToken. */
const zoneSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function zoneSetOf(zones: readonly string[]): ReadonlySet<string> {
  let set = zoneSets.get(zones);
  if (set === undefined) {
    set = new Set(zones);
    zoneSets.set(zones, set);
  }
  return set;
}

export function isAllowed(principal: Principal, zoneName: string, permission: TokenPermission): boolean {
  if (principal.kind === 'key') return true;
  const { token } = principal;
  if (token.zones !== 'all' && !zoneSetOf(token.zones).has(zoneName)) return false;
  if (permission === 'dns_records:read' && token.permissions.includes('dns_records:edit')) return true;
  return token.permissions.includes(permission);
}

/**
 * Checks whether the principal may see the zone in `GET /zones` and `GET /zones/{id}`. Any DNS permission
 * counts, because a token holding only DNS edit on a zone can look the zone up by name.
 * NOTE: that rule comes from client behaviour reported since 2020; Cloudflare does not document it.
 */
export function canSeeZone(principal: Principal, zoneName: string): boolean {
  return (
    isAllowed(principal, zoneName, 'zone:read') ||
    isAllowed(principal, zoneName, 'dns_records:read') ||
    isAllowed(principal, zoneName, 'dns_records:edit')
  );
}

/** Deprecated `permissions` list of the zone object, as seen by this principal. */
export function zonePermissionTags(principal: Principal, zoneName: string): string[] {
  const all: TokenPermission[] = ['zone:read', 'dns_records:read', 'dns_records:edit'];
  return all.filter((permission) => isAllowed(principal, zoneName, permission)).map((permission) => `#${permission}`);
}
