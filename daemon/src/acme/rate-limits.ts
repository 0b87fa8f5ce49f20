import type { IssuanceRecord } from '../store/model.js';

/** One published CA limit: at most `max` events of `kind` in a sliding `windowMs`. */
export interface RateLimit {
  name: string;
  scope: 'registered-domain' | 'name-set' | 'account';
  kind: IssuanceRecord['kind'];
  max: number;
  windowMs: number;
}

const day = 86_400_000;

/**
 * Let's Encrypt's published limits (https://letsencrypt.org/docs/rate-limits/, read 2026):
 * 50 certificates per registered domain and 5 per identical name set per 7 days, 300 new orders
 * per account per 3 hours. Renewals that name `replaces` (ARI) are exempt from all three.
 */
export const letsEncryptLimits: RateLimit[] = [
  { name: 'certificates per registered domain', scope: 'registered-domain', kind: 'certificate', max: 50, windowMs: 7 * day },
  { name: 'certificates per identical name set', scope: 'name-set', kind: 'certificate', max: 5, windowMs: 7 * day },
  { name: 'new orders per account', scope: 'account', kind: 'order', max: 300, windowMs: 3 * 3600_000 },
];

/** The limits the ledger enforces for a directory: Let's Encrypt production only, for now. */
export function limitsFor(directory: string): RateLimit[] {
  // The staging directory has far higher limits, so only production is counted.
  return new URL(directory).hostname === 'acme-v02.api.letsencrypt.org' ? letsEncryptLimits : [];
}

export interface PlannedOrder {
  directory: string;
  account: string;
  registeredDomain: string;
  nameSet: string;
  renewal: boolean;
}

export interface LimitUsage {
  limit: string;
  scope: RateLimit['scope'];
  used: number;
  max: number;
  windowMs: number;
  /** When the oldest counted event leaves the window, or null when none is counted. */
  freesAt: string | null;
}

export function nameSetKey(names: string[]): string {
  return [...names].sort().join(',');
}

function matches(record: IssuanceRecord, limit: RateLimit, order: PlannedOrder, since: number): boolean {
  if (record.kind !== limit.kind || record.renewal || Date.parse(record.at) < since || record.directory !== order.directory) return false;
  if (limit.scope === 'registered-domain') return record.registeredDomain === order.registeredDomain;
  if (limit.scope === 'name-set') return record.nameSet === order.nameSet;
  return record.account === order.account;
}

/** Counts the ledger against every limit of the order's directory. */
export function usageFor(ledger: IssuanceRecord[], order: PlannedOrder, limits = limitsFor(order.directory), now = new Date()): LimitUsage[] {
  return limits.map((limit) => {
    const counted = ledger.filter((record) => matches(record, limit, order, now.getTime() - limit.windowMs));
    const oldest = counted.map((record) => Date.parse(record.at)).sort((a, b) => a - b)[0];
    return {
      limit: limit.name,
      scope: limit.scope,
      used: counted.length,
      max: limit.max,
      windowMs: limit.windowMs,
      freesAt: oldest === undefined ? null : new Date(oldest + limit.windowMs).toISOString(),
    };
  });
}

/**
 * Returns why `order` would exceed a limit and when the limit frees up, or null when it fits.
 * ARI renewals are exempt.
 */
export function checkRateLimits(
  ledger: IssuanceRecord[],
  order: PlannedOrder,
  limits = limitsFor(order.directory),
  now = new Date(),
): { reason: string; freesAt: Date } | null {
  if (order.renewal) return null;
  for (const usage of usageFor(ledger, order, limits, now)) {
    if (usage.used < usage.max || usage.freesAt === null) continue;
    const subject = usage.scope === 'registered-domain' ? order.registeredDomain : usage.scope === 'name-set' ? order.nameSet : `account ${order.account}`;
    return {
      reason: `${usage.used} of ${usage.max} ${usage.limit} used for ${subject} in the last ${Math.round(usage.windowMs / 3600_000)} h`,
      freesAt: new Date(usage.freesAt),
    };
  }
  return null;
}

/** Drops records older than the longest window, so that the ledger stays small. */
export function pruneLedger(ledger: IssuanceRecord[], now = new Date()): IssuanceRecord[] {
  const horizon = now.getTime() - 7 * day;
  return ledger.filter((record) => Date.parse(record.at) >= horizon);
}
