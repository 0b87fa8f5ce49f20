import type { Route, RouteTarget } from './ingress.js';
import { normaliseRouteOptions, type RouteOptions } from './route-options.js';
import { assertHostname, assertIpAddress, assertPort } from './validation.js';

/**
 * The ingress's own record of its routes (routes.json), from which haproxy.cfg and the map files
 * are rendered. Each route owns one backend slot; slots are declared in haproxy.cfg ahead of use
 * so that a new route needs no reload.
 */

export interface RouteRecord {
  hostname: string;
  /** Index of the backend `be_slot_<slot>` that serves this route. */
  slot: number;
  targets: RouteTarget[];
  maintenance: boolean;
  options: RouteOptions;
}

export interface RouteTable {
  version: 1;
  /** Backend slots declared in haproxy.cfg; slots without a route have no server and get no traffic. */
  slotCount: number;
  routes: RouteRecord[];
}

/** Fewest free slots kept declared, so that this many new routes need no reload. */
export const MIN_FREE_SLOTS = 32;
export const MAX_TARGETS = 16;

export function emptyRouteTable(): RouteTable {
  return { version: 1, slotCount: MIN_FREE_SLOTS, routes: [] };
}

/** Checks a route and returns a normalised copy (defaults filled in, targets deduplicated). */
export function normaliseRoute(route: Route): Omit<RouteRecord, 'slot'> {
  assertHostname(route.hostname);
  if (!Array.isArray(route.targets) || route.targets.length > MAX_TARGETS) {
    throw new Error(`invalid targets of ${route.hostname}: expected a list of at most ${MAX_TARGETS} targets`);
  }
  const seen = new Set<string>();
  const targets: RouteTarget[] = [];
  for (const target of route.targets) {
    assertIpAddress(target.address, 'target address');
    assertPort(target.port, 'target port');
    const key = `${target.address}|${target.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push({ address: target.address, port: target.port });
  }
  return {
    hostname: route.hostname,
    targets,
    maintenance: route.maintenance === true,
    options: normaliseRouteOptions(route.options),
  };
}

/** Returns the lowest slot no route uses, or undefined when every declared slot is taken. */
export function freeSlot(table: RouteTable): number | undefined {
  const used = new Set(table.routes.map((route) => route.slot));
  for (let slot = 0; slot < table.slotCount; slot++) if (!used.has(slot)) return slot;
  return undefined;
}

/** Slot count after growing a full table: half again as many, at least MIN_FREE_SLOTS more. */
export function grownSlotCount(table: RouteTable): number {
  return table.slotCount + Math.max(MIN_FREE_SLOTS, Math.ceil(table.slotCount / 2));
}

export function renderRouteTable(table: RouteTable): string {
  const routes = [...table.routes].sort((first, second) => (first.hostname < second.hostname ? -1 : first.hostname > second.hostname ? 1 : 0));
  // One route per line keeps the file readable and diffable without the size of indented JSON.
  const lines = routes.map((route) => JSON.stringify(route));
  return `{"version":1,"slotCount":${table.slotCount},"routes":[\n${lines.join(',\n')}\n]}\n`;
}

export interface ParsedRouteTable {
  table: RouteTable;
  /** Host names (or indexes) of entries dropped because they failed the checks. */
  invalid: string[];
}

/** Parses routes.json; entries that fail the checks, or reuse a host or slot, are dropped and listed. */
export function parseRouteTable(text: string): ParsedRouteTable {
  const document = JSON.parse(text) as Partial<RouteTable>;
  if (document.version !== 1 || !Array.isArray(document.routes)) throw new Error('routes.json: expected version 1 with a routes list');
  const slotCount = Number.isInteger(document.slotCount) && (document.slotCount ?? 0) > 0 ? (document.slotCount as number) : MIN_FREE_SLOTS;
  const table: RouteTable = { version: 1, slotCount, routes: [] };
  const invalid: string[] = [];
  const hosts = new Set<string>();
  const slots = new Set<number>();
  document.routes.forEach((entry: Partial<RouteRecord>, index) => {
    try {
      const record = normaliseRoute({
        hostname: entry.hostname as string,
        targets: entry.targets as RouteTarget[],
        maintenance: entry.maintenance === true,
        options: entry.options,
      });
      const slot = entry.slot;
      if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= slotCount) throw new Error('invalid slot');
      if (hosts.has(record.hostname) || slots.has(slot)) throw new Error('duplicate');
      hosts.add(record.hostname);
      slots.add(slot);
      table.routes.push({ ...record, slot });
    } catch {
      invalid.push(typeof entry.hostname === 'string' ? JSON.stringify(entry.hostname) : `#${index}`);
    }
  });
  return { table, invalid };
}

/** One line of the route journal: a route set with its slot, or a host name removed. */
export type RouteJournalEntry = { set: RouteRecord } | { remove: string };

export function renderRouteJournalEntry(entry: RouteJournalEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

/**
 * Applies the journal lines in `text` to `table`, in order. A line that does not parse or fails
 * the checks of parseRouteTable is skipped and counted. A crash during a write can cut the last
 * line short. Replaying a line that the table already contains changes nothing.
 */
export function replayRouteJournal(table: RouteTable, text: string): { table: RouteTable; skipped: number } {
  let routes = [...table.routes];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as Partial<{ set: Partial<RouteRecord>; remove: unknown }>;
      if (typeof entry.remove === 'string') {
        const hostname = entry.remove;
        routes = routes.filter((route) => route.hostname !== hostname);
        continue;
      }
      const raw = entry.set;
      if (raw === undefined) throw new Error('neither set nor remove');
      const record = normaliseRoute({ hostname: raw.hostname as string, targets: raw.targets as RouteTarget[], maintenance: raw.maintenance === true, options: raw.options });
      const slot = raw.slot;
      if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= table.slotCount) throw new Error('invalid slot');
      if (routes.some((route) => route.slot === slot && route.hostname !== record.hostname)) throw new Error('slot taken');
      routes = [...routes.filter((route) => route.hostname !== record.hostname), { ...record, slot }];
    } catch {
      skipped += 1;
    }
  }
  return { table: { ...table, routes }, skipped };
}
