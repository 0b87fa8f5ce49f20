import type { OpenApiDocument } from '../api/openapi.js';
import { capabilities, childEntries, fillTemplate, matchPath } from './api-schema.js';
import { apiData } from './client.js';
import type { Endpoint } from './connection.js';
import { UsageError } from './errors.js';

/** One line of `pve-domains ls`: the entry's name and pvesh's five flags (such as `Dr--d`). */
export interface ListingEntry {
  name: string;
  flags: string;
}

/** Name of a list item below a `{parameter}` segment: the field of that name, else `subdir`. */
function itemName(item: unknown, parameter: string): string | undefined {
  if (typeof item !== 'object' || item === null) return typeof item === 'string' ? item : undefined;
  const record = item as Record<string, unknown>;
  const value = record[parameter] ?? record['subdir'];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/**
 * Lists the entries below `path`: the fixed path segments from the schema, and for a
 * `{parameter}` segment the items that GET on `path` returns.
 */
export async function listEntries(document: OpenApiDocument, endpoint: Endpoint, path: string): Promise<ListingEntry[]> {
  const match = matchPath(document, path);
  if (match === undefined) throw new UsageError(`no API path matches ${path}; list the paths with pve-domains ls /`);
  const entries: ListingEntry[] = [];
  for (const child of childEntries(document, match.template)) {
    const flags = capabilities(document, child.template);
    if (!child.segment.startsWith('{')) {
      entries.push({ name: child.segment, flags });
      continue;
    }
    if (document.paths[match.template]?.get === undefined) continue;
    const data = await apiData(endpoint, { method: 'GET', path: fillTemplate(match.template, match.params) });
    if (!Array.isArray(data)) continue;
    for (const item of data) {
      const name = itemName(item, child.segment.slice(1, -1));
      if (name !== undefined) entries.push({ name, flags });
    }
  }
  return entries;
}

/** pvesh's text form: the flags, then the name. */
export function renderListingText(entries: readonly ListingEntry[]): string {
  return entries.map((entry) => `${entry.flags}        ${entry.name}`).join('\n');
}
