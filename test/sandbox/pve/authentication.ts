import type { IncomingHttpHeaders } from 'node:http';

import { BareHttpError } from './errors.js';
import type { SimulatorState } from './routes/index.js';
import { extractAuthValue } from './tickets.js';
import type { AuthKind } from './types.js';

export interface Authentication {
  kind: AuthKind;
  /** User id for a ticket, full token id for an API token, empty when unauthenticated. */
  authid: string;
}

const AUTH_COOKIE = 'PVEAuthCookie';
const API_TOKEN = 'PVEAPIToken';

/** Tells whether pveproxy accepts the call without authentication (pve-manager `PVE/HTTPServer.pm` `auth_handler`). */
function isPublic(method: string, path: string): boolean {
  return (
    (path === '/access/domains' && method === 'GET') ||
    (path === '/access/ticket' && (method === 'GET' || method === 'POST')) ||
    (path === '/access/vncticket' && method === 'POST') ||
    (path === '/access/openid/login' && method === 'POST') ||
    (path === '/access/openid/auth-url' && method === 'POST')
  );
}

/** Returns the kind of credential a request carries, valid or not, in pveproxy's order of precedence. */
export function presentedCredential(headers: IncomingHttpHeaders): AuthKind {
  const ticket = extractAuthValue(headers.cookie, AUTH_COOKIE) ?? extractAuthValue(headers.authorization, AUTH_COOKIE);
  if (ticket !== undefined) return 'ticket';
  if (extractAuthValue(headers.authorization, API_TOKEN) !== undefined) return 'token';
  return 'none';
}

/**
 * Authenticates an API call as pveproxy does: the `PVEAuthCookie` cookie first, then a ticket in
 * the Authorization header, then an API token. Writes with a ticket need a CSRF token; writes
 * with an API token do not. Throws BareHttpError 401 on failure.
 */
export function authenticate(state: SimulatorState, method: string, path: string, headers: IncomingHttpHeaders): Authentication {
  const cookie = headers.cookie;
  const authorization = headers.authorization;
  const ticket = extractAuthValue(cookie, AUTH_COOKIE) ?? extractAuthValue(authorization, AUTH_COOKIE);
  const apiToken = ticket === undefined ? extractAuthValue(authorization, API_TOKEN) : undefined;

  if (isPublic(method, path)) {
    // A token sent to a public call still marks the call as token-authenticated, so that
    // `/access/ticket` can reject it as PVE does.
    return apiToken === undefined ? { kind: 'none', authid: '' } : { kind: 'token', authid: '' };
  }

  if (apiToken !== undefined) {
    const separator = apiToken.lastIndexOf('=');
    const tokenId = separator < 0 ? undefined : state.access.verifyToken(apiToken.slice(0, separator), apiToken.slice(separator + 1));
    if (tokenId === undefined) throw new BareHttpError(401, 'Authentication failed!', false);
    return { kind: 'token', authid: tokenId };
  }

  if (ticket === undefined) throw new BareHttpError(401, 'No ticket', false);
  const userid = state.tickets.verifyTicket(ticket);
  if (userid === undefined || !state.access.hasUser(userid)) throw new BareHttpError(401, 'Authentication failed!', false);

  if (method !== 'GET') {
    const csrfHeader = headers.csrfpreventiontoken;
    const csrfToken = Array.isArray(csrfHeader) ? csrfHeader[0] : csrfHeader;
    if (!state.tickets.verifyCsrfToken(userid, csrfToken)) {
      throw new BareHttpError(401, 'Permission denied - invalid csrf token', false);
    }
  }
  return { kind: 'ticket', authid: userid };
}
