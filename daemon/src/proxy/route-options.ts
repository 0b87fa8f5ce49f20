import { isIPv4, isIPv6 } from 'node:net';

import { parseAuthServerUrl } from './auth-server-url.js';
import { quoteValue } from './validation.js';

/**
 * Per-route settings of the ingress and their checks. Every value that passes `normaliseRouteOptions`
 * can be written into haproxy.cfg or a map file with the encoders of haproxy-syntax.ts.
 */

export type BackendProtocol = 'http' | 'https' | 'https-insecure';
export type BalancePolicy = 'roundrobin' | 'leastconn' | 'source';

export interface HeaderSetting {
  /** Field name, an RFC 9110 token. */
  name: string;
  /** Field value: visible ASCII and spaces, no CR, LF or other control character. */
  value: string;
}

export interface BasicAuthUser {
  user: string;
  /** crypt(3) hash: `$6$` (SHA-512) or `$5$` (SHA-256); both verified with the Debian HAProxy 2.6 build. */
  passwordHash: string;
}

export interface RouteOptions {
  /** Redirect plain HTTP to HTTPS; when false, plain HTTP is proxied too. */
  httpsRedirect: boolean;
  /** Strict-Transport-Security sent on HTTPS responses, or null for none. */
  hsts: { maxAgeSeconds: number; includeSubDomains: boolean } | null;
  /** Idle timeout of upgraded (WebSocket) connections, in seconds. */
  tunnelTimeoutSeconds: number;
  /** How HAProxy talks to the targets: plain HTTP, TLS verified against the system CAs, or TLS unverified. */
  backendProtocol: BackendProtocol;
  /** HTTP health check of every target, or null for none (targets then count as up). */
  healthCheck: { path: string; intervalSeconds: number } | null;
  /** Client networks (CIDR) allowed to use the route; empty allows every client. */
  allowedNetworks: string[];
  /** Users of HTTP basic authentication; empty turns it off. */
  basicAuth: BasicAuthUser[];
  requestHeaders: HeaderSetting[];
  responseHeaders: HeaderSetting[];
  balance: BalancePolicy;
  /**
   * The DNS record is proxied by Cloudflare: the client address is taken from CF-Connecting-IP,
   * for requests that come from Cloudflare's published ranges only.
   */
  cloudflareProxied: boolean;
  /** Require sign-in through the domain's authentication server (see auth-gate.ts). */
  authRequired: boolean;
  /**
   * Base URL (`scheme://host[:port]`) of the domain's authentication server, copied from the domain
   * when the route is applied; null when the domain names none.
   */
  authServer: string | null;
  /** Largest request body in bytes, or null for no limit. */
  maxBodySize: number | null;
  /**
   * Buffer the start of request bodies before the target is contacted (the default). False streams
   * requests and responses for server-sent events and large uploads, with long server timeouts.
   */
  buffering: boolean;
}

export const DEFAULT_TUNNEL_TIMEOUT_SECONDS = 3600;

export function defaultRouteOptions(): RouteOptions {
  return {
    httpsRedirect: true,
    hsts: null,
    tunnelTimeoutSeconds: DEFAULT_TUNNEL_TIMEOUT_SECONDS,
    backendProtocol: 'http',
    healthCheck: null,
    allowedNetworks: [],
    basicAuth: [],
    requestHeaders: [],
    responseHeaders: [],
    balance: 'roundrobin',
    cloudflareProxied: false,
    authRequired: false,
    authServer: null,
    maxBodySize: null,
    buffering: true,
  };
}

/** RFC 9110 section 5.6.2 `token`. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Visible ASCII and space, at least one character; RFC 9110 also allows HTAB and obs-text, which
 * are rejected here. HAProxy 2.6 reads an empty quoted word as the end of a rule's arguments, so
 * `set-header X ""` fails the whole configuration.
 */
const FIELD_VALUE = /^[\x20-\x7e]+$/;
/** Headers the ingress sets itself or that would break the HTTP framing. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'x-forwarded-for',
  'x-forwarded-proto',
  'strict-transport-security',
  'cf-connecting-ip',
]);
const MAX_HEADERS = 32;
const MAX_HEADER_VALUE = 4096;
const USER_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** crypt(3) output: `$6$`/`$5$`, an optional `rounds=N$`, a salt of up to 16 characters and the hash. */
const PASSWORD_HASH = /^\$(?:5|6)\$(?:rounds=[0-9]{1,9}\$)?[A-Za-z0-9./]{1,16}\$[A-Za-z0-9./]{43,86}$/;
/** Absolute path with an optional query, of RFC 3986 path and query characters except `%` (no percent-encoding). */
const CHECK_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/?-]{0,254}$/;
const MAX_NETWORKS = 64;
/** Bounds of maxBodySize in bytes: 1 KiB to 1 TiB. */
export const MIN_BODY_SIZE = 1024;
export const MAX_BODY_SIZE = 1024 ** 4;
const MAX_USERS = 32;

function fail(option: string, value: unknown, expected: string): never {
  throw new Error(`invalid route option ${option} ${quoteValue(value)}: expected ${expected}`);
}

function integerIn(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(option, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function booleanOf(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(option, value, 'true or false');
  return value;
}

/** Returns `network` in canonical form (`10.0.0.0/8`, a bare address gets /32 or /128), or throws. */
export function normaliseNetwork(option: string, network: unknown): string {
  if (typeof network !== 'string') fail(option, network, 'a network in CIDR notation such as 192.0.2.0/24');
  const [address = '', prefixText, extra] = network.split('/');
  const family = isIPv4(address) ? 4 : isIPv6(address) && /^[0-9a-fA-F:.]+$/.test(address) ? 6 : 0;
  const maxPrefix = family === 4 ? 32 : 128;
  if (family === 0 || extra !== undefined || (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText))) {
    fail(option, network, 'a network in CIDR notation such as 192.0.2.0/24 or 2001:db8::/32');
  }
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (prefix > maxPrefix) fail(option, network, `a prefix length of at most ${maxPrefix}`);
  return `${address.toLowerCase()}/${prefix}`;
}

/** Throws unless `header` is a settable header with a safe value. */
export function checkHeader(option: string, header: unknown): HeaderSetting {
  if (typeof header !== 'object' || header === null) fail(option, header, 'an object with name and value');
  const { name, value } = header as Record<string, unknown>;
  if (typeof name !== 'string' || name.length > 128 || !TOKEN.test(name)) {
    fail(`${option}.name`, name, 'a header name made of RFC 9110 token characters (letters, digits and !#$%&\'*+.^_`|~-)');
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) fail(`${option}.name`, name, 'a header the ingress does not set itself');
  if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE || !FIELD_VALUE.test(value)) {
    fail(`${option}.value`, value, `1 to ${MAX_HEADER_VALUE} visible ASCII characters and spaces, without CR, LF or tabs`);
  }
  return { name, value };
}

function headerList(option: string, value: unknown): HeaderSetting[] {
  if (!Array.isArray(value) || value.length > MAX_HEADERS) fail(option, value, `a list of at most ${MAX_HEADERS} headers`);
  return value.map((item, index) => checkHeader(`${option}[${index}]`, item));
}

function basicAuthList(value: unknown): BasicAuthUser[] {
  if (!Array.isArray(value) || value.length > MAX_USERS) fail('basicAuth', value, `a list of at most ${MAX_USERS} users`);
  const seen = new Set<string>();
  return value.map((item: unknown, index) => {
    const { user, passwordHash } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof user !== 'string' || !USER_NAME.test(user)) fail(`basicAuth[${index}].user`, user, 'a user name of 1 to 64 letters, digits and ._-');
    if (seen.has(user)) fail(`basicAuth[${index}].user`, user, 'each user once');
    seen.add(user);
    if (typeof passwordHash !== 'string' || !PASSWORD_HASH.test(passwordHash)) {
      fail(`basicAuth[${index}].passwordHash`, '(hidden)', 'a SHA-512 or SHA-256 crypt hash ($6$ or $5$)');
    }
    return { user, passwordHash };
  });
}

/**
 * Fills in defaults and checks every field. Throws an Error naming the option on the first
 * invalid value; the result is a fresh object that shares nothing with `input`.
 */
export function normaliseRouteOptions(input: Partial<RouteOptions> = {}): RouteOptions {
  const merged: Record<string, unknown> = { ...defaultRouteOptions(), ...input };
  const options = defaultRouteOptions();
  options.httpsRedirect = booleanOf('httpsRedirect', merged.httpsRedirect);
  options.cloudflareProxied = booleanOf('cloudflareProxied', merged.cloudflareProxied);

  const hsts = merged.hsts;
  if (hsts !== null) {
    const { maxAgeSeconds, includeSubDomains } = (typeof hsts === 'object' && hsts !== undefined ? hsts : {}) as Record<string, unknown>;
    options.hsts = {
      maxAgeSeconds: integerIn('hsts.maxAgeSeconds', maxAgeSeconds, 0, 63_072_000),
      includeSubDomains: booleanOf('hsts.includeSubDomains', includeSubDomains),
    };
  }

  options.tunnelTimeoutSeconds = integerIn('tunnelTimeoutSeconds', merged.tunnelTimeoutSeconds, 1, 86_400);
  const protocol = merged.backendProtocol;
  if (protocol !== 'http' && protocol !== 'https' && protocol !== 'https-insecure') fail('backendProtocol', protocol, 'http, https or https-insecure');
  options.backendProtocol = protocol;
  const balance = merged.balance;
  if (balance !== 'roundrobin' && balance !== 'leastconn' && balance !== 'source') fail('balance', balance, 'roundrobin, leastconn or source');
  options.balance = balance;

  const check = merged.healthCheck;
  if (check !== null) {
    const { path, intervalSeconds } = (typeof check === 'object' && check !== undefined ? check : {}) as Record<string, unknown>;
    if (typeof path !== 'string' || !CHECK_PATH.test(path)) fail('healthCheck.path', path, 'an absolute path such as /health, without spaces, quotes, backslashes, % or #');
    options.healthCheck = { path, intervalSeconds: integerIn('healthCheck.intervalSeconds', intervalSeconds, 1, 3600) };
  }

  const networks = merged.allowedNetworks;
  if (!Array.isArray(networks) || networks.length > MAX_NETWORKS) fail('allowedNetworks', networks, `a list of at most ${MAX_NETWORKS} networks`);
  options.allowedNetworks = [...new Set(networks.map((network, index) => normaliseNetwork(`allowedNetworks[${index}]`, network)))];

  options.basicAuth = basicAuthList(merged.basicAuth);
  options.requestHeaders = headerList('requestHeaders', merged.requestHeaders);
  options.responseHeaders = headerList('responseHeaders', merged.responseHeaders);

  options.authRequired = booleanOf('authRequired', merged.authRequired);
  const authServer = merged.authServer;
  if (authServer !== null) {
    try {
      options.authServer = parseAuthServerUrl(authServer);
    } catch {
      fail('authServer', authServer, 'an http or https URL of scheme, host and port only, such as https://auth.example.com');
    }
  }
  const maxBodySize = merged.maxBodySize;
  if (maxBodySize !== null) options.maxBodySize = integerIn('maxBodySize', maxBodySize, MIN_BODY_SIZE, MAX_BODY_SIZE);
  options.buffering = booleanOf('buffering', merged.buffering);
  return options;
}

/** The HSTS header value of `options`, or undefined when HSTS is off. */
export function hstsValue(options: RouteOptions): string | undefined {
  if (options.hsts === null) return undefined;
  return `max-age=${options.hsts.maxAgeSeconds}${options.hsts.includeSubDomains ? '; includeSubDomains' : ''}`;
}
