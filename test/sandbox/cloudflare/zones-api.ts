import type { Zone } from 'cloudflare/resources/zones/zones';
import { canSeeZone } from './auth.js';
import type { ApiContext, ApiResult } from './api-context.js';
import { authenticationError, couldNotRoute, validationFailed } from './errors.js';
import { combine, compareValues, paginate, readDirection, readMatch } from './pagination.js';
import { ID_PATTERN, type StoredZone } from './store.js';
import { toZoneView } from './views.js';

// Limits of GET /zones (Cloudflare API v4 schema `zones-get`): per_page 5-50, default 20.
const ZONE_PAGE_LIMITS = { defaultPerPage: 20, minPerPage: 5, maxPerPage: 50 };
const ZONE_STATUSES = new Set(['initializing', 'pending', 'active', 'moved']);

type Comparable = string | number | boolean;
const ZONE_ORDER_KEYS: Record<string, (zone: Zone) => Comparable> = {
  name: (zone) => zone.name,
  status: (zone) => zone.status ?? '',
  'account.id': (zone) => zone.account.id ?? '',
  'account.name': (zone) => zone.account.name ?? '',
  'plan.id': (zone) => zone.plan.id ?? '',
};

/**
 * Builds a predicate for a string filter with Cloudflare's operator prefixes (`contains:.org`,
 * `starts_with:`, `ends_with:`, `not_equal:` and the `_case_sensitive` variants). A value without a
 * known operator is an exact, case-insensitive match.
 */
export function operatorFilter(raw: string): (value: string) => boolean {
  const match = /^(not_equal|equal|starts_with|ends_with|contains)(_case_sensitive)?:(.*)$/s.exec(raw);
  const operator = match?.[1] ?? 'equal';
  const caseSensitive = match?.[2] !== undefined;
  const operand = match?.[3] ?? raw;
  const expected = caseSensitive ? operand : operand.toLowerCase();
  return (value: string): boolean => {
    const actual = caseSensitive ? value : value.toLowerCase();
    switch (operator) {
      case 'not_equal':
        return actual !== expected;
      case 'starts_with':
        return actual.startsWith(expected);
      case 'ends_with':
        return actual.endsWith(expected);
      case 'contains':
        return actual.includes(expected);
      default:
        return actual === expected;
    }
  };
}

function zoneFilters(query: URLSearchParams): Array<(zone: Zone) => boolean> {
  const filters: Array<(zone: Zone) => boolean> = [];
  for (const name of query.getAll('name')) {
    if (name.length > 253) throw validationFailed(`name filter is longer than 253 characters.`);
    const test = operatorFilter(name);
    filters.push((zone) => test(zone.name));
  }
  for (const status of query.getAll('status')) {
    if (!ZONE_STATUSES.has(status)) {
      throw validationFailed(`status ${JSON.stringify(status)} is invalid; use initializing, pending, active or moved.`);
    }
    filters.push((zone) => zone.status === status);
  }
  for (const accountId of query.getAll('account.id')) filters.push((zone) => zone.account.id === accountId);
  for (const accountName of query.getAll('account.name')) {
    const test = operatorFilter(accountName);
    filters.push((zone) => test(zone.account.name ?? ''));
  }
  return filters;
}

/** GET /zones: zones the credential may see, filtered, ordered and paginated. */
export function listZones(context: ApiContext): ApiResult {
  const { principal, query } = context;
  // The name filters go first: a scale test has a thousand zones, and a view per zone per lookup
  // made the simulator, not the daemon, the slow part. The full filter below applies them again.
  const names = query.getAll('name').map((name) => operatorFilter(name));
  const candidates = context.store.zones().filter((zone) => names.every((test) => test(zone.name)));
  const visible = candidates.filter((zone) => canSeeZone(principal, zone.name));
  // A token with no permission on any zone cannot list zones at all.
  if (principal.kind === 'token' && visible.length === 0 && !hasAnyPermission(context) && !context.store.zones().some((zone) => canSeeZone(principal, zone.name))) {
    throw authenticationError();
  }

  const views = visible.map((zone) => toZoneView(zone, context.owner, context.nameServers, principal));
  const predicate = combine(zoneFilters(query), readMatch(query));
  const typeFilter = query.getAll('type');
  let selected = views.filter((zone) => predicate(zone) && (typeFilter.length === 0 || typeFilter.includes(zone.type ?? '')));

  const order = query.get('order');
  const direction = readDirection(query);
  if (order !== null) {
    const key = ZONE_ORDER_KEYS[order];
    if (key === undefined) {
      throw validationFailed(`order ${JSON.stringify(order)} is invalid; use ${Object.keys(ZONE_ORDER_KEYS).join(', ')}.`);
    }
    selected = [...selected].sort((left, right) => direction * compareValues(key(left), key(right)));
  }

  const { page, info } = paginate(selected, query, ZONE_PAGE_LIMITS);
  return { result: page, resultInfo: info };
}

function hasAnyPermission(context: ApiContext): boolean {
  return context.principal.kind === 'key' || context.principal.token.permissions.length > 0;
}

/**
 * Resolves the zone id of a zone-scoped path. A malformed id gets 404/7003 like a bad route. A
 * well-formed id the token may not use, including one that does not exist, gets 403/10000, because
 * Cloudflare answers a wrong zone id that way (Cloudflare docs, "403 Authentication error when
 * creating DNS records", developers.cloudflare.com/terraform/troubleshooting/). The global key sees
 * every zone of the account, so for it an unknown id is 404/7003.
 */
export function resolveZone(context: ApiContext, zoneId: string): StoredZone {
  if (!ID_PATTERN.test(zoneId)) throw couldNotRoute(context.fullPath);
  const zone = context.store.zoneById(zoneId);
  if (context.principal.kind === 'key') {
    if (zone === undefined) throw couldNotRoute(context.fullPath);
    return zone;
  }
  if (zone === undefined || !canSeeZone(context.principal, zone.name)) throw authenticationError();
  return zone;
}

/** GET /zones/{zone_id}. */
export function getZone(context: ApiContext, zoneId: string): ApiResult {
  const zone = resolveZone(context, zoneId);
  return { result: toZoneView(zone, context.owner, context.nameServers, context.principal) };
}
