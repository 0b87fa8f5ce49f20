import { authServerAddress } from './auth-server-url.js';
import { errorPageFile } from './error-pages/pages.js';
import { formatBindAddress, SYSTEM_CA } from './haproxy-config.js';
import { quoteConfigWord } from './haproxy-syntax.js';
import type { ProxyPaths } from './paths.js';
import type { RouteOptions } from './route-options.js';

/**
 * Configuration text of the sign-in gate of one route backend. HAProxy has no subrequest
 * authentication of its own, so the Lua action of auth-gate.lua queries the authentication
 * server and stores the outcome in txn.pve_auth; the rules rendered here act on it. Requests for the
 * server's own paths (`/oauth2/...`) go to it through the static server `pve_auth`, which has
 * weight 0 so the balancing never picks it for other requests.
 */

/** Action registered by auth-gate.lua. */
export const AUTH_GATE_ACTION = 'lua.pve_auth_gate';
/** Name of the static server that serves the authentication server's own paths. */
export const AUTH_SERVER_NAME = 'pve_auth';
/** Path prefix of an oauth2-proxy-style server. */
export const AUTH_PATH_PREFIX = '/oauth2/';

/**
 * Identity headers removed from every request of a gated route before the gate sets them from the
 * server's response, so that a client can never forge them: every `X-Auth-Request-*` header, plus these.
 */
export const FORWARDED_IDENTITY_HEADERS = ['X-Forwarded-User', 'X-Forwarded-Email', 'X-Forwarded-Groups', 'X-Forwarded-Preferred-Username'] as const;

export interface AuthGateLines {
  /** `http-request` rules, in order, placed after the access rules of the backend. */
  requestRules: string[];
  /** `use-server` and `server` lines. */
  serverLines: string[];
}

/** Renders the gate of a route; empty when the route does not require sign-in. */
export function renderAuthGate(options: RouteOptions, paths: ProxyPaths): AuthGateLines {
  if (!options.authRequired) return { requestRules: [], serverLines: [] };
  const requestRules = [
    '    http-request del-header X-Auth-Request- -m beg',
    ...FORWARDED_IDENTITY_HEADERS.map((name) => `    http-request del-header ${name}`),
  ];
  if (options.authServer === null) {
    // `if TRUE` (a predefined ACL) keeps HAProxy from warning that the rules after this final one never run.
    requestRules.push(`    http-request return status 503 errorfile ${errorPageFile(paths.errorPagesDir, 'sign-in-not-configured')} if TRUE`);
    return { requestRules, serverLines: [] };
  }

  const prefix = `{ path_beg ${AUTH_PATH_PREFIX} }`;
  requestRules.push(
    // The server's own paths skip the gate. While its server is not up (for example disabled
    // because its name did not resolve), use-server would fall back to the guest's servers, so
    // those paths would reach the guest without a sign-in; they get the 503 page instead.
    `    http-request return status 503 errorfile ${errorPageFile(paths.errorPagesDir, 'sign-in-unavailable')} if ${prefix} !{ srv_is_up(${AUTH_SERVER_NAME}) }`,
    `    http-request ${AUTH_GATE_ACTION} ${quoteConfigWord(options.authServer)} unless ${prefix}`,
    `    http-request return status 503 errorfile ${errorPageFile(paths.errorPagesDir, 'sign-in-unavailable')} if { var(txn.pve_auth) -m str unavailable }`,
    '    http-request deny deny_status 403 if { var(txn.pve_auth) -m str forbidden }',
    '    http-request redirect location %[var(txn.pve_signin)] code 302 if { var(txn.pve_auth) -m str signin }',
  );

  const address = authServerAddress(options.authServer);
  const server = [`    server ${AUTH_SERVER_NAME}`, formatServerAddress(address.host, address.port), 'weight 0', 'init-addr last,libc,none'];
  if (address.scheme === 'https') {
    server.push('ssl verify required', `ca-file ${SYSTEM_CA}`);
    if (!address.isAddress) server.push(`sni str(${address.host})`);
  }
  return { requestRules, serverLines: [`    use-server ${AUTH_SERVER_NAME} if ${prefix}`, server.join(' ')] };
}

/** Formats a server address as HAProxy parses it; host names pass through, IP addresses are checked. */
function formatServerAddress(host: string, port: number): string {
  if (/^[0-9.]+$/.test(host) || host.includes(':')) return formatBindAddress({ address: host, port });
  return `${host}:${port}`;
}

/** Returns the global section line that loads the gate's script, when a route uses the gate. */
export function authGateGlobalLines(needed: boolean, paths: ProxyPaths): string[] {
  return needed ? [`    lua-load ${paths.authGateScript}`] : [];
}

/** Returns whether a route with `options` runs the Lua action. */
export function usesAuthGate(options: RouteOptions): boolean {
  return options.authRequired && options.authServer !== null;
}
