import { validationFailed } from './errors.js';

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

export interface PageLimits {
  defaultPerPage: number;
  minPerPage: number;
  maxPerPage: number;
}

function readInteger(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) throw validationFailed(`${name} must be a positive integer, got ${JSON.stringify(raw)}.`);
  return Number(raw);
}

/**
 * Cuts one page out of `items`. A page past the last one is empty but successful, because the SDK
 * asks for page+1 until it gets an empty page. NOTE: Cloudflare does not document what an
 * out-of-range `per_page` returns; the simulator rejects it with a 400.
 */
export function paginate<T>(items: readonly T[], query: URLSearchParams, limits: PageLimits): { page: T[]; info: ResultInfo } {
  const page = readInteger(query, 'page', 1);
  const perPage = readInteger(query, 'per_page', limits.defaultPerPage);
  if (page < 1) throw validationFailed(`page must be 1 or more, got ${page}.`);
  if (perPage < limits.minPerPage || perPage > limits.maxPerPage) {
    throw validationFailed(`per_page must be from ${limits.minPerPage} to ${limits.maxPerPage}, got ${perPage}.`);
  }
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    page: slice,
    info: {
      page,
      per_page: perPage,
      count: slice.length,
      total_count: items.length,
      total_pages: Math.ceil(items.length / perPage),
    },
  };
}

/** Reads `direction`, which both list endpoints accept as `asc` or `desc`. */
export function readDirection(query: URLSearchParams): 1 | -1 {
  const direction = query.get('direction') ?? 'asc';
  if (direction !== 'asc' && direction !== 'desc') {
    throw validationFailed(`direction must be asc or desc, got ${JSON.stringify(direction)}.`);
  }
  return direction === 'asc' ? 1 : -1;
}

/** Reads `match`, which combines filters with AND (`all`, the default) or OR (`any`). */
export function readMatch(query: URLSearchParams, name = 'match'): 'all' | 'any' {
  const match = query.get(name) ?? 'all';
  if (match !== 'all' && match !== 'any') throw validationFailed(`${name} must be all or any, got ${JSON.stringify(match)}.`);
  return match;
}

/** Applies predicates with the `match` rule; no predicates keeps everything. */
export function combine<T>(predicates: Array<(item: T) => boolean>, match: 'all' | 'any'): (item: T) => boolean {
  if (predicates.length === 0) return () => true;
  return match === 'all'
    ? (item) => predicates.every((predicate) => predicate(item))
    : (item) => predicates.some((predicate) => predicate(item));
}

export function compareValues(left: string | number | boolean, right: string | number | boolean): number {
  if (left === right) return 0;
  return left < right ? -1 : 1;
}
