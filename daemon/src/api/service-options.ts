import { isIP } from 'node:net';

import { invalidParameter } from '../errors.js';
import { hashPassword } from '../proxy/password-hash.js';
import { MAX_BODY_SIZE, MIN_BODY_SIZE, normaliseRouteOptions, type BasicAuthUser } from '../proxy/route-options.js';
import type { ServiceOptions, ServiceTarget, StoredService, TargetPin } from '../store/model.js';

/**
 * The ingress options of a service in the API (kebab-case fields, as the rest of the API) and
 * their conversion to the stored form. Every value is checked with the proxy's own rules before
 * it is stored, so nothing stored can fail later when HAProxy files are written.
 */

const header = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'value'],
  properties: { name: { type: 'string', maxLength: 128 }, value: { type: 'string', maxLength: 4096 } },
} as const;

const target = {
  type: 'object',
  additionalProperties: false,
  required: ['vmid', 'port'],
  properties: {
    vmid: { type: 'integer', minimum: 100, maximum: 999_999_999 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    interface: { type: 'string', maxLength: 8 },
    address: { type: 'string', maxLength: 64 },
  },
} as const;

/** JSON schema properties shared by POST /services and PUT /services/{fqdn}. */
export const serviceOptionProperties = {
  'https-redirect': { type: 'boolean', description: 'Redirect http:// to https:// (default true).' },
  'hsts-max-age': { type: ['integer', 'null'], minimum: 0, maximum: 63_072_000, description: 'Send Strict-Transport-Security with this max-age in seconds; null turns it off.' },
  'hsts-include-subdomains': { type: 'boolean', description: 'Add includeSubDomains to Strict-Transport-Security.' },
  'websocket-timeout': { type: 'integer', minimum: 1, maximum: 86_400, description: 'Idle timeout of WebSocket connections in seconds (default 3600).' },
  'backend-protocol': { type: 'string', enum: ['http', 'https', 'https-insecure'], description: 'Protocol towards the guest: http, https verified against the system CAs, or https without verification.' },
  'health-check': {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['path'],
    properties: { path: { type: 'string', maxLength: 255 }, interval: { type: 'integer', minimum: 1, maximum: 3600 } },
    description: 'HTTP GET health check of every target (interval in seconds, default 5); null turns it off.',
  },
  'allowed-networks': { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 }, description: 'Client networks in CIDR notation; empty allows everyone.' },
  'basic-auth': {
    type: 'array',
    maxItems: 32,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['user'],
      properties: { user: { type: 'string', maxLength: 64 }, password: { type: 'string', maxLength: 256, format: 'password' } },
    },
    description: 'Users of HTTP basic authentication; passwords are stored as SHA-512 crypt hashes. A user without password keeps the stored one.',
  },
  'request-headers': { type: 'array', maxItems: 32, items: header, description: 'Headers set on requests to the guest.' },
  'response-headers': { type: 'array', maxItems: 32, items: header, description: 'Headers set on answers to clients.' },
  balance: { type: 'string', enum: ['roundrobin', 'leastconn', 'source'], description: 'Balancing policy over the targets.' },
  'cloudflare-proxied': { type: 'boolean', description: 'The record is proxied by Cloudflare: take the client address from CF-Connecting-IP for requests from Cloudflare ranges.' },
  interface: { type: ['string', 'null'], maxLength: 8, description: 'Read the guest address from this device only (net0..net31); null for automatic.' },
  address: { type: ['string', 'null'], maxLength: 64, description: 'Fixed target address instead of the lookup; null for automatic.' },
  'additional-targets': { type: 'array', maxItems: 15, items: target, description: 'Further guests (vmid, port, optional interface or address) balanced with the first.' },
  auth: { type: 'boolean', description: "Require sign-in through the domain's auth-server; without one the service answers 503 (default false)." },
  'max-body-size': {
    type: ['integer', 'null'],
    minimum: MIN_BODY_SIZE,
    maximum: MAX_BODY_SIZE,
    description: 'Largest request body in bytes; larger requests get 413, and chunked uploads without Content-Length get 411. null for no limit (default).',
  },
  buffering: {
    type: 'boolean',
    description: 'Buffer the start of request bodies before contacting the guest (default true). false streams requests and responses, for server-sent events and large uploads, with websocket-timeout as the server timeout.',
  },
} as const;

export interface ServiceOptionsBody {
  'https-redirect'?: boolean;
  'hsts-max-age'?: number | null;
  'hsts-include-subdomains'?: boolean;
  'websocket-timeout'?: number;
  'backend-protocol'?: 'http' | 'https' | 'https-insecure';
  'health-check'?: { path: string; interval?: number } | null;
  'allowed-networks'?: string[];
  'basic-auth'?: Array<{ user: string; password?: string }>;
  'request-headers'?: Array<{ name: string; value: string }>;
  'response-headers'?: Array<{ name: string; value: string }>;
  balance?: 'roundrobin' | 'leastconn' | 'source';
  'cloudflare-proxied'?: boolean;
  interface?: string | null;
  address?: string | null;
  'additional-targets'?: ServiceTarget[];
  auth?: boolean;
  'max-body-size'?: number | null;
  buffering?: boolean;
}

const DEFAULT_CHECK_INTERVAL_SECONDS = 5;

function parsePin(parameter: string, pin: TargetPin): TargetPin {
  const result: TargetPin = {};
  if (pin.interface !== undefined) {
    if (!/^net(?:[0-9]|[12][0-9]|3[01])$/.test(pin.interface)) throw invalidParameter(parameter, `"${pin.interface}" is not a network device; use net0 to net31`);
    result.interface = pin.interface;
  }
  if (pin.address !== undefined) {
    if (isIP(pin.address) === 0 || /[^0-9a-fA-F:.]/.test(pin.address)) throw invalidParameter(parameter, `"${pin.address}" is not an IPv4 or IPv6 address`);
    result.address = pin.address.toLowerCase();
  }
  return result;
}

async function mergeUsers(requested: Array<{ user: string; password?: string }>, stored: BasicAuthUser[]): Promise<BasicAuthUser[]> {
  const users: BasicAuthUser[] = [];
  for (const entry of requested) {
    if (entry.password !== undefined) {
      try {
        users.push({ user: entry.user, passwordHash: await hashPassword(entry.password) });
      } catch (err) {
        throw invalidParameter('basic-auth', err instanceof Error ? err.message : String(err));
      }
      continue;
    }
    const existing = stored.find((user) => user.user === entry.user);
    if (existing === undefined) throw invalidParameter('basic-auth', `user ${JSON.stringify(entry.user)} has no stored password; give a password`);
    users.push(existing);
  }
  return users;
}

/**
 * Applies the option fields of `body` to `service` (fields left out keep their value) and checks
 * the result. Throws INVALID_PARAMETER naming the first invalid field.
 */
export async function applyServiceOptions(service: StoredService, body: ServiceOptionsBody): Promise<void> {
  const current = normaliseRouteOptions(service.options);
  const next: ServiceOptions = structuredClone(current);
  if (body['https-redirect'] !== undefined) next.httpsRedirect = body['https-redirect'];
  if (body['hsts-max-age'] === null) next.hsts = null;
  else if (body['hsts-max-age'] !== undefined) next.hsts = { maxAgeSeconds: body['hsts-max-age'], includeSubDomains: current.hsts?.includeSubDomains ?? false };
  if (body['hsts-include-subdomains'] !== undefined) {
    if (next.hsts === null) throw invalidParameter('hsts-include-subdomains', 'HSTS is off; set hsts-max-age as well');
    next.hsts.includeSubDomains = body['hsts-include-subdomains'];
  }
  if (body['websocket-timeout'] !== undefined) next.tunnelTimeoutSeconds = body['websocket-timeout'];
  if (body['backend-protocol'] !== undefined) next.backendProtocol = body['backend-protocol'];
  if (body['health-check'] === null) next.healthCheck = null;
  else if (body['health-check'] !== undefined) next.healthCheck = { path: body['health-check'].path, intervalSeconds: body['health-check'].interval ?? DEFAULT_CHECK_INTERVAL_SECONDS };
  if (body['allowed-networks'] !== undefined) next.allowedNetworks = body['allowed-networks'];
  if (body['basic-auth'] !== undefined) next.basicAuth = await mergeUsers(body['basic-auth'], current.basicAuth);
  if (body['request-headers'] !== undefined) next.requestHeaders = body['request-headers'];
  if (body['response-headers'] !== undefined) next.responseHeaders = body['response-headers'];
  if (body.balance !== undefined) next.balance = body.balance;
  if (body['cloudflare-proxied'] !== undefined) next.cloudflareProxied = body['cloudflare-proxied'];
  if (body.auth !== undefined) next.authRequired = body.auth;
  if (body['max-body-size'] !== undefined) next.maxBodySize = body['max-body-size'];
  if (body.buffering !== undefined) next.buffering = body.buffering;
  // The server comes from the domain when the route is applied; the service never stores one.
  next.authServer = null;

  try {
    service.options = normaliseRouteOptions(next);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw invalidParameter(optionParameter(message), message);
  }

  const pin: TargetPin = { ...service.pin };
  if (body.interface !== undefined) {
    if (body.interface === null) delete pin.interface;
    else pin.interface = body.interface;
  }
  if (body.address !== undefined) {
    if (body.address === null) delete pin.address;
    else pin.address = body.address;
  }
  service.pin = parsePin('interface', pin);
  if (body['additional-targets'] !== undefined) {
    service.extraTargets = body['additional-targets'].map((item, index) => ({ vmid: item.vmid, port: item.port, ...parsePin(`additional-targets[${index}]`, item) }));
  }
}

const PARAMETER_BY_OPTION: Record<string, string> = {
  hsts: 'hsts-max-age',
  tunnelTimeoutSeconds: 'websocket-timeout',
  backendProtocol: 'backend-protocol',
  healthCheck: 'health-check',
  allowedNetworks: 'allowed-networks',
  basicAuth: 'basic-auth',
  requestHeaders: 'request-headers',
  responseHeaders: 'response-headers',
  balance: 'balance',
  authRequired: 'auth',
  maxBodySize: 'max-body-size',
  buffering: 'buffering',
};

/** The API field a message of normaliseRouteOptions() is about. */
function optionParameter(message: string): string {
  const option = /route option ([A-Za-z]+)/.exec(message)?.[1] ?? '';
  return PARAMETER_BY_OPTION[option] ?? 'options';
}
