/**
 * How the state document is split into files, so that no file grows with the number of
 * domains: `cluster.json` contains the cluster-wide lists (ACME accounts, sites, nodes and any key
 * added later), and `domains/<domain>.json` contains one domain with its services, certificates'
 * metadata, renewal bookkeeping and issuance records.
 */

import { fileKey } from '../names.js';
import type { StateDocument } from './model.js';

/** Version of the file layout, written into every file. */
export const LAYOUT_FORMAT = 2;
export const CLUSTER_FILE = 'cluster.json';
export const DOMAINS_DIR = 'domains';

/** Keys of the document that are split by domain; every other key goes to cluster.json. */
const PER_DOMAIN_KEYS = ['domains', 'services', 'certificates', 'certificateLifecycles', 'issuanceLedger'] as const;
type PerDomainKey = (typeof PER_DOMAIN_KEYS)[number];

interface DomainFile {
  format: number;
  name: string;
  domains: unknown[];
  services: unknown[];
  certificates: unknown[];
  certificateLifecycles: unknown[];
  issuanceLedger: unknown[];
}

type JsonObject = Record<string, unknown>;

/** Returns the domain a list item belongs to, read from the field each list uses. */
function domainOf(key: PerDomainKey, item: JsonObject): string {
  let field = 'domain';
  if (key === 'domains') field = 'name';
  else if (key === 'issuanceLedger') field = 'registeredDomain';
  const value = item[field];
  if (typeof value !== 'string' || value === '') throw new Error(`unable to file a ${key} entry: its ${field} is missing`);
  return value;
}

/** Path, relative to the state folder, of the file that contains `domain`. */
export function domainFilePath(domain: string): string {
  return `${DOMAINS_DIR}/${fileKey(domain)}.json`;
}

/** Renders cluster.json: every key of the document that is not split by domain. */
export function renderClusterFile(document: StateDocument): string {
  const cluster: JsonObject = { format: LAYOUT_FORMAT };
  for (const [key, value] of Object.entries(document as unknown as JsonObject)) {
    if (!(PER_DOMAIN_KEYS as readonly string[]).includes(key)) cluster[key] = value;
  }
  return `${JSON.stringify(cluster, null, 2)}\n`;
}

/** Renders the file of domain `name`, or returns null when no list has an entry of it. */
export function renderDomainFile(document: StateDocument, name: string): string | null {
  const source = document as unknown as JsonObject;
  const file: DomainFile = { format: LAYOUT_FORMAT, name, domains: [], services: [], certificates: [], certificateLifecycles: [], issuanceLedger: [] };
  let entries = 0;
  for (const key of PER_DOMAIN_KEYS) {
    for (const item of (source[key] ?? []) as JsonObject[]) {
      if (domainOf(key, item) !== name) continue;
      file[key].push(item);
      entries += 1;
    }
  }
  return entries === 0 ? null : `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Returns the files whose content may differ between `before` and `after`, two documents that
 * share every object a change left alone (as immer's drafts produce them), as a map from path to
 * the domain the file contains (null for cluster.json). An object that is not the same instance in
 * both counts as changed, so the result may name files whose text turns out equal, but never
 * misses one. The cost is one pass over each list that changed.
 */
export function changedFiles(before: StateDocument, after: StateDocument): Map<string, string | null> {
  const files = new Map<string, string | null>();
  if (before === after) return files;
  const old = before as unknown as JsonObject;
  const now = after as unknown as JsonObject;
  for (const key of new Set([...Object.keys(old), ...Object.keys(now)])) {
    if ((PER_DOMAIN_KEYS as readonly string[]).includes(key)) continue;
    if (old[key] !== now[key]) files.set(CLUSTER_FILE, null);
  }
  const touch = (key: PerDomainKey, item: JsonObject): void => {
    const name = domainOf(key, item);
    files.set(domainFilePath(name), name);
  };
  for (const key of PER_DOMAIN_KEYS) {
    const a = (old[key] ?? []) as JsonObject[];
    const b = (now[key] ?? []) as JsonObject[];
    if (a === b) continue;
    if (a.length === b.length) {
      // Usually one entry changed in place, so compare position by position.
      for (let index = 0; index < a.length; index += 1) {
        const itemA = a[index] as JsonObject;
        const itemB = b[index] as JsonObject;
        if (itemA === itemB) continue;
        touch(key, itemA);
        touch(key, itemB);
      }
      continue;
    }
    const inA = new Set(a);
    const inB = new Set(b);
    for (const item of b) if (!inA.has(item)) touch(key, item);
    for (const item of a) if (!inB.has(item)) touch(key, item);
  }
  return files;
}

/** Parsed content of one state file: the lists of a domain file, or the keys of cluster.json. */
export type ParsedStateFile = Readonly<JsonObject>;

/** Parses one file's text and checks its layout format. */
export function parseStateFile(path: string, text: string): ParsedStateFile {
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${path} does not contain a JSON object`);
  const format = (parsed as JsonObject)['format'];
  if (format !== LAYOUT_FORMAT) throw new Error(`${path} has layout format ${String(format)}, expected ${LAYOUT_FORMAT}`);
  return parsed as JsonObject;
}

/**
 * Builds the document from parsed files keyed by relative path. Domain files are taken in name
 * order, so lists come out grouped by domain. The entries are the parsed objects themselves, not
 * copies, so a file that did not change keeps its objects across reloads.
 */
export function assembleState(files: ReadonlyMap<string, ParsedStateFile>): StateDocument {
  const cluster = files.get(CLUSTER_FILE) ?? { format: LAYOUT_FORMAT, version: 1 };
  const document: JsonObject = { version: 1, acmeAccounts: [] };
  for (const [key, value] of Object.entries(cluster)) if (key !== 'format') document[key] = value;
  for (const key of PER_DOMAIN_KEYS) document[key] = [];
  const domainPaths = [...files.keys()].filter((path) => path.startsWith(`${DOMAINS_DIR}/`)).sort();
  for (const path of domainPaths) {
    const file = files.get(path) as Partial<DomainFile>;
    for (const key of PER_DOMAIN_KEYS) (document[key] as unknown[]).push(...(file[key] ?? []));
  }
  return document as unknown as StateDocument;
}
