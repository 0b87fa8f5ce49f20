import { isIPv4, isIPv6 } from 'node:net';

import { isHostname, quoteValue } from './validation.js';

/**
 * The URL of a domain's authentication server. It is written into haproxy.cfg (as a Lua action
 * argument and a server line), so only its canonical form `scheme://host[:port]` is kept, and
 * that form contains nothing but letters, digits and `.:-[]/`.
 */

const MAX_URL_LENGTH = 2000;

export interface AuthServerAddress {
  /** `http` or `https`. */
  scheme: 'http' | 'https';
  /** Host name (lower case) or IP address, IPv6 without brackets. */
  host: string;
  port: number;
  /** True when `host` is an IP address, so no SNI is sent. */
  isAddress: boolean;
}

function reject(value: unknown, reason: string): never {
  throw new Error(`invalid auth-server ${quoteValue(value)}: ${reason}; use the base URL of an oauth2-proxy-style server, such as https://auth.example.com`);
}

/**
 * Checks an authentication server URL and returns its canonical form `scheme://host[:port]`.
 * Throws when the URL is not absolute http(s), carries a user name or password, a path other than
 * `/`, a query or a fragment, or a host that is neither a host name nor an IP address.
 */
export function parseAuthServerUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH) reject(value, `expected a URL of at most ${MAX_URL_LENGTH} characters`);
  const text = value.trim();
  const unsafe = [...text].some((character) => character.charCodeAt(0) < 0x20 || character.charCodeAt(0) === 0x7f || /[\s"'\\]/.test(character));
  if (unsafe) reject(value, 'the URL contains white space, quotes, backslashes or control characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    reject(value, 'not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') reject(value, `the scheme must be http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username !== '' || url.password !== '') reject(value, 'the URL must not contain a user name or password');
  if (text.includes('#')) reject(value, 'the URL must not contain a fragment');
  if (text.includes('?')) reject(value, 'the URL must not contain a query');
  if (url.pathname !== '/' && url.pathname !== '') reject(value, 'the server must serve /oauth2/ at its root, so the URL takes no path');

  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const isAddress = isIPv4(host) || isIPv6(host);
  if (!isAddress && !isHostname(host)) reject(value, `${quoteValue(host)} is not a host name or IP address`);
  if (url.port === '0') reject(value, 'the port must be from 1 to 65535');
  const port = url.port === '' ? '' : `:${url.port}`;
  return `${url.protocol}//${url.hostname}${port}`;
}

/** Splits a URL returned by parseAuthServerUrl() into the parts a server line needs. */
export function authServerAddress(canonical: string): AuthServerAddress {
  const url = new URL(parseAuthServerUrl(canonical));
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const defaultPort = scheme === 'https' ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  return { scheme, host, port, isAddress: isIPv4(host) || isIPv6(host) };
}
