import type { IncomingHttpHeaders } from 'node:http';

/** Ticket and CSRF token validity window: the age in seconds must lie in (-300, 7200) (pve-access-control `AccessControl.pm`). */
export const TICKET_LIFETIME_S = 7200;
export const AUTH_GRACE_PERIOD_S = 300;

const AUTH_COOKIE = 'PVEAuthCookie';
const API_TOKEN = 'PVEAPIToken';

/** A PVE ticket, as the browser sends it in the `PVEAuthCookie` cookie. */
export interface TicketCredential {
  kind: 'ticket';
  ticket: string;
  /** The `user@realm` of the ticket's plain part; trusted only after pveproxy accepted the ticket. */
  userid: string;
  /** Creation time of the ticket in seconds since the epoch. */
  issuedAt: number;
}

/** A PVE API token, `user@realm!name` and its secret. */
export interface TokenCredential {
  kind: 'token';
  tokenId: string;
  secret: string;
}

export type Credential = TicketCredential | TokenCredential;

/** Reason phrase of a 401 for a missing or malformed credential, as pveproxy sends it. */
export type CredentialProblem = 'No ticket' | 'Authentication failed!';

/** Decodes `%XX` sequences only; a `+` stays a plus sign, as pve-http-server `Formatter.pm` does. */
function percentDecode(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value.slice(i + 1, i + 3);
    if (value[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i] ?? ''));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Reads `<key>=<value>` (or `<key> <value>`) from a Cookie or Authorization header and
 * percent-decodes it, following pve-http-server `Formatter.pm` `extract_auth_value`.
 */
function authValue(header: string | string[] | undefined, key: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (text === undefined) return undefined;
  const value = new RegExp(`(?:^|[\\s;])${key}(?:=| )([^;]*)`).exec(text)?.[1]?.trim();
  if (value === undefined || value === '') return undefined;
  return percentDecode(value);
}

/**
 * Parses a ticket `PVE:<userid>:<8 uppercase hex digits>::<signature>` (pve-common `Ticket.pm`).
 * Returns undefined for other shapes and for the half-authenticated second-factor tickets
 * (`!tfa!...`, `tfa!<user>`, `u2f!<user>!...`), which PVE does not accept for API calls either.
 */
export function parseTicket(ticket: string): TicketCredential | undefined {
  const match = /^PVE:([^:\s]+):([0-9A-F]{8})::([^:\s]+)$/.exec(ticket);
  if (match === null) return undefined;
  // Only ':' is percent-escaped in the user part (uri_escape($data, ':')).
  const userid = (match[1] ?? '').replace(/%3A/gi, ':');
  if (!/^[^\s:/!]+@[A-Za-z][A-Za-z0-9.\-_]+$/.test(userid)) return undefined;
  return { kind: 'ticket', ticket, userid, issuedAt: Number.parseInt(match[2] ?? '', 16) };
}

/** Tells whether a PVE timestamp (ticket or CSRF token) lies in the validity window at `nowSeconds`. */
export function withinValidityWindow(issuedAt: number, nowSeconds: number): boolean {
  const age = nowSeconds - issuedAt;
  return age > -AUTH_GRACE_PERIOD_S && age < TICKET_LIFETIME_S;
}

/**
 * Extracts the caller's credential in pveproxy's order of precedence: the `PVEAuthCookie`
 * cookie, then `Authorization: PVEAuthCookie=<ticket>`, then `Authorization:
 * PVEAPIToken=<user@realm!name>=<secret>` (split at the last `=`). Returns the 401 reason when
 * there is none or it is malformed. Signatures and secrets are checked by pveproxy, not here.
 */
export function extractCredential(headers: IncomingHttpHeaders): Credential | CredentialProblem {
  const ticket = authValue(headers.cookie, AUTH_COOKIE) ?? authValue(headers.authorization, AUTH_COOKIE);
  if (ticket !== undefined) return parseTicket(ticket) ?? 'Authentication failed!';

  const token = authValue(headers.authorization, API_TOKEN);
  if (token === undefined) return 'No ticket';
  const separator = token.lastIndexOf('=');
  const tokenId = token.slice(0, separator);
  const secret = token.slice(separator + 1);
  if (separator < 0 || !/^[^\s:/!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/.test(tokenId) || !/^\S+$/.test(secret)) {
    return 'Authentication failed!';
  }
  return { kind: 'token', tokenId, secret };
}

/** Returns the user or token id a credential speaks for. */
export function authidOf(credential: Credential): string {
  return credential.kind === 'ticket' ? credential.userid : credential.tokenId;
}
