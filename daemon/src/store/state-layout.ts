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

/** Renders the document as file contents keyed by relative path. */
export function splitState(document: StateDocument): Map<string, string> {
  const source = document as unknown as JsonObject;
  const byDomain = new Map<string, DomainFile>();
  for (const key of PER_DOMAIN_KEYS) {
    const list = (source[key] ?? []) as JsonObject[];
    for (const item of list) {
      const name = domainOf(key, item);
      let file = byDomain.get(name);
      if (file === undefined) {
        file = { format: LAYOUT_FORMAT, name, domains: [], services: [], certificates: [], certificateLifecycles: [], issuanceLedger: [] };
        byDomain.set(name, file);
      }
      file[key].push(item);
    }
  }

  const cluster: JsonObject = { format: LAYOUT_FORMAT };
  for (const [key, value] of Object.entries(source)) {
    if (!(PER_DOMAIN_KEYS as readonly string[]).includes(key)) cluster[key] = value;
  }
  const files = new Map<string, string>([[CLUSTER_FILE, `${JSON.stringify(cluster, null, 2)}\n`]]);
  for (const [name, file] of byDomain) files.set(domainFilePath(name), `${JSON.stringify(file, null, 2)}\n`);
  return files;
}

/**
 * Builds the document from file contents keyed by relative path. Domain files are read in
 * name order, so lists come out grouped by domain. Throws on a file of an unknown format.
 */
export function joinState(files: ReadonlyMap<string, string>): StateDocument {
  const clusterText = files.get(CLUSTER_FILE);
  const cluster = clusterText === undefined ? { format: LAYOUT_FORMAT, version: 1 } : (JSON.parse(clusterText) as JsonObject);
  if (cluster['format'] !== LAYOUT_FORMAT) throw new Error(`${CLUSTER_FILE} has layout format ${String(cluster['format'])}, expected ${LAYOUT_FORMAT}`);
  const document: JsonObject = { version: 1, acmeAccounts: [] };
  for (const [key, value] of Object.entries(cluster)) if (key !== 'format') document[key] = value;
  for (const key of PER_DOMAIN_KEYS) document[key] = [];

  const domainPaths = [...files.keys()].filter((path) => path.startsWith(`${DOMAINS_DIR}/`)).sort();
  for (const path of domainPaths) {
    const file = JSON.parse(files.get(path) ?? '{}') as Partial<DomainFile>;
    if (file.format !== LAYOUT_FORMAT) throw new Error(`${path} has layout format ${String(file.format)}, expected ${LAYOUT_FORMAT}`);
    for (const key of PER_DOMAIN_KEYS) (document[key] as unknown[]).push(...(file[key] ?? []));
  }
  return document as unknown as StateDocument;
}
