import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

import { findFreePort } from './ports.js';

/**
 * A stand-in for an oauth2-proxy-style authentication server, on a loopback address:
 *
 * - `GET /oauth2/auth` returns 202 with X-Auth-Request-User, -Email, -Groups and
 *   -Preferred-Username when the `_oauth2_proxy` cookie (or `Authorization: Bearer <session>`)
 *   names a live session, 403 when that session's user is in `forbiddenUsers`, and 401 otherwise;
 * - `GET /oauth2/start?rd=URL` redirects to the sign-in page, keeping `rd`;
 * - `GET /oauth2/sign_in?rd=URL` shows a form, and `POST /oauth2/sign_in` (form field `user`)
 *   starts a session, sets the cookie and redirects to `rd`;
 * - `GET /oauth2/sign_out?rd=URL` ends the session and clears the cookie.
 *
 * Every request to /oauth2/auth is recorded, so tests can check what the ingress forwarded.
 */

export const SESSION_COOKIE = '_oauth2_proxy';

export interface Identity {
  user: string;
  email: string;
  groups: string[];
  preferredUsername: string;
}

export interface AuthCheck {
  headers: IncomingHttpHeaders;
  /** Bytes of request body received. */
  bodyBytes: number;
  status: number;
}

export interface StandInAuthServer {
  address: string;
  port: number;
  /** `http://address:port`. */
  url: string;
  /** Requests to /oauth2/auth, oldest first. */
  checks: AuthCheck[];
  /** Users whose sessions get 403 from /oauth2/auth. */
  forbiddenUsers: Set<string>;
  /** When set, /oauth2/auth returns this status (for example 500) instead of checking. */
  failWith: number | null;
  /** Starts a session and returns its cookie value. */
  createSession(identity: Identity): string;
  /** Ends a session. */
  endSession(token: string): void;
  close(): Promise<void>;
}

function identityOf(user: string): Identity {
  return { user, email: `${user}@example.test`, groups: ['staff', 'admins'], preferredUsername: user };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Accepts a relative path or an absolute http(s) URL as redirect target, like oauth2-proxy's `rd`. */
function safeRedirect(value: string | null): string {
  if (value === null || value === '') return '/';
  if (value.startsWith('/') && !value.startsWith('//')) return value;
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.toString();
  } catch {
    // Falls through to the default below.
  }
  return '/';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export async function startAuthServer(address = '127.0.0.1'): Promise<StandInAuthServer> {
  const port = await findFreePort(address);
  const sessions = new Map<string, Identity>();

  const server: StandInAuthServer = {
    address,
    port,
    url: `http://${address}:${port}`,
    checks: [],
    forbiddenUsers: new Set(),
    failWith: null,
    createSession(identity) {
      const token = randomBytes(18).toString('base64url');
      sessions.set(token, identity);
      return token;
    },
    endSession(token) {
      sessions.delete(token);
    },
    close: () => Promise.resolve(),
  };

  const sessionOf = (request: IncomingMessage): Identity | undefined => {
    const fromCookie = cookieValue(request.headers.cookie, SESSION_COOKIE);
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    return sessions.get(fromCookie ?? '') ?? sessions.get(bearer ?? '');
  };

  const handleAuth = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(request);
    const identity = sessionOf(request);
    let status = identity === undefined ? 401 : server.forbiddenUsers.has(identity.user) ? 403 : 202;
    if (server.failWith !== null) status = server.failWith;
    server.checks.push({ headers: { ...request.headers }, bodyBytes: body.length, status });
    if (status === 202 && identity !== undefined) {
      response.writeHead(202, {
        'X-Auth-Request-User': identity.user,
        'X-Auth-Request-Email': identity.email,
        'X-Auth-Request-Groups': identity.groups.join(','),
        'X-Auth-Request-Preferred-Username': identity.preferredUsername,
      });
    } else {
      response.writeHead(status, { 'content-type': 'text/plain' });
    }
    response.end();
  };

  const handleSignIn = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    if (request.method === 'POST') {
      const form = new URLSearchParams((await readBody(request)).toString('utf8'));
      const user = form.get('user') ?? '';
      if (!/^[a-z][a-z0-9._-]{0,31}$/.test(user)) {
        response.writeHead(400, { 'content-type': 'text/plain' });
        response.end('invalid user');
        return;
      }
      const token = server.createSession(identityOf(user));
      response.writeHead(302, {
        location: safeRedirect(form.get('rd')),
        'set-cookie': `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Lax`,
      });
      response.end();
      return;
    }
    const rd = escapeHtml(url.searchParams.get('rd') ?? '/');
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!DOCTYPE html><title>Sign in</title><form method="post" action="/oauth2/sign_in"><input type="hidden" name="rd" value="${rd}"><input name="user"><button>Sign in</button></form>`);
  };

  const http = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://stand-in.invalid');
    const done = (promise: Promise<void>): void => {
      promise.catch(() => {
        response.writeHead(500);
        response.end();
      });
    };
    if (url.pathname === '/oauth2/auth') return done(handleAuth(request, response));
    if (url.pathname === '/oauth2/sign_in') return done(handleSignIn(request, response, url));
    if (url.pathname === '/oauth2/start') {
      const rd = url.searchParams.get('rd') ?? '/';
      response.writeHead(302, { location: `/oauth2/sign_in?rd=${encodeURIComponent(rd)}` });
      response.end();
      return;
    }
    if (url.pathname === '/oauth2/sign_out') {
      const token = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (token !== undefined) sessions.delete(token);
      response.writeHead(302, { location: safeRedirect(url.searchParams.get('rd')), 'set-cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0` });
      response.end();
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found');
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen({ host: address, port }, resolve);
  });
  server.close = () =>
    new Promise<void>((resolve) => {
      http.closeAllConnections();
      http.close(() => resolve());
    });
  return server;
}
