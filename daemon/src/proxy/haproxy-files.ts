import { appendFile, chmod, mkdir, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

import type { Logger } from 'pino';

import { readFileIfExists, removeFileDurably, writeFileAtomic } from './atomic-file.js';
import { createFallbackCertificate } from './fallback-certificate.js';
import { parseCrtList, renderCrtList, renderHaproxyConfig, renderMaps, renderNetworkList, type HaproxyConfigOptions, type RenderedConfig, type SlotRenderCache } from './haproxy-config.js';
import { certificateIdFromFileName, type ProxyPaths } from './paths.js';
import { installProxyAssets } from './proxy-assets.js';
import { emptyRouteTable, parseRouteTable, renderRouteJournalEntry, renderRouteTable, replayRouteJournal, type RouteJournalEntry, type RouteTable } from './route-table.js';

/**
 * The ingress files on disk: haproxy.cfg, the host map, the crt-list and the certificate files.
 * Every write is atomic, and a FileChange remembers the previous content so a change that HAProxy
 * rejects can be undone.
 */

const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

/** Previous content of the files one change touched; undefined content means the file did not exist. */
export class FileChange {
  private readonly previous = new Map<string, string | undefined>();

  /** Writes `content` to `path` after remembering the current content. */
  async write(path: string, content: string): Promise<void> {
    await this.remember(path);
    await writeFileAtomic(path, content, FILE_MODE);
  }

  /** Removes `path` after remembering the current content. */
  async remove(path: string): Promise<void> {
    await this.remember(path);
    await removeFileDurably(path);
  }

  /** Restores every touched file, in reverse order of the changes. */
  async restore(): Promise<void> {
    for (const [path, content] of [...this.previous.entries()].reverse()) {
      if (content === undefined) await removeFileDurably(path);
      else await writeFileAtomic(path, content, FILE_MODE);
    }
  }

  private async remember(path: string): Promise<void> {
    if (!this.previous.has(path)) this.previous.set(path, await readFileIfExists(path));
  }
}

/**
 * Reads routes.json; a missing file means no routes. Entries that fail the checks are logged and
 * skipped. An unreadable file is an error, because starting empty would drop every route.
 */
export async function readRouteTable(paths: ProxyPaths, logger: Logger): Promise<RouteTable> {
  const table = await readRouteFile(paths, logger);
  const journal = await readFileIfExists(paths.routeJournalFile);
  if (journal === undefined) return table;
  const replayed = replayRouteJournal(table, journal);
  if (replayed.skipped > 0) logger.warn({ file: paths.routeJournalFile, lines: replayed.skipped }, 'invalid route journal lines skipped');
  return replayed.table;
}

/** Appends one route change to the journal, which the next full write of routes.json makes obsolete. */
export async function appendRouteJournal(paths: ProxyPaths, entry: RouteJournalEntry): Promise<void> {
  await appendFile(paths.routeJournalFile, renderRouteJournalEntry(entry), { mode: FILE_MODE });
}

/** Removes the journal once routes.json contains every change in it. */
export async function clearRouteJournal(paths: ProxyPaths): Promise<void> {
  await rm(paths.routeJournalFile, { force: true });
}

async function readRouteFile(paths: ProxyPaths, logger: Logger): Promise<RouteTable> {
  const text = await readFileIfExists(paths.routesFile);
  if (text === undefined) return emptyRouteTable();
  let parsed;
  try {
    parsed = parseRouteTable(text);
  } catch (err) {
    throw new Error(`cannot read ${paths.routesFile}: ${err instanceof Error ? err.message : String(err)}; restore it or remove it to start without routes`, { cause: err });
  }
  if (parsed.invalid.length > 0) logger.warn({ file: paths.routesFile, routes: parsed.invalid }, 'invalid routes skipped');
  return parsed.table;
}

/**
 * Writes routes.json, the map files and haproxy.cfg for `table` through `change`, skipping files
 * whose content is already right. Returns the rendered configuration.
 */
export async function writeRouteFiles(
  options: HaproxyConfigOptions,
  table: RouteTable,
  change: FileChange,
  cache?: SlotRenderCache,
): Promise<RenderedConfig> {
  const { paths } = options;
  const rendered = renderHaproxyConfig(options, table, cache);
  const files = new Map<string, string>([[paths.routesFile, renderRouteTable(table)], ...renderMaps(paths, table)]);
  // The configuration is written last, so it never names a map that does not exist yet.
  files.set(paths.configFile, rendered.text);
  for (const [path, content] of files) {
    if ((await readFileIfExists(path)) !== content) await change.write(path, content);
  }
  return rendered;
}

/** Reads the certificate paths of the crt-list; a missing crt-list means no entries. */
export async function readCrtList(paths: ProxyPaths): Promise<string[]> {
  return parseCrtList((await readFileIfExists(paths.crtListFile)) ?? '');
}

/** Returns the certificate ids of crt-list entries, leaving out the fallback and foreign paths. */
export function certificateIdsOf(paths: ProxyPaths, entries: readonly string[]): string[] {
  const ids: string[] = [];
  for (const entry of entries) {
    if (dirname(entry) !== paths.certDir) continue;
    const id = certificateIdFromFileName(basename(entry));
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

async function ensureDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: DIRECTORY_MODE });
  await chmod(path, DIRECTORY_MODE);
}

/** Creates the configuration, certificate and runtime directories with mode 0700. */
export async function ensureDirectories(paths: ProxyPaths): Promise<void> {
  await ensureDirectory(paths.configDir);
  await ensureDirectory(paths.certDir);
  await ensureDirectory(paths.runDir);
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the directories, the fallback certificate and the crt-list when they are missing, writes
 * the trusted proxy list, and renders haproxy.cfg and the maps from routes.json. The fallback certificate is moved to the first crt-list
 * entry, because HAProxy serves the first entry when no SNI matches. Entries whose file is missing
 * are dropped and logged, since HAProxy would refuse to start with them.
 */
export async function prepareFiles(options: HaproxyConfigOptions, trustedProxies: readonly string[], logger: Logger): Promise<RenderedConfig> {
  const { paths } = options;
  await ensureDirectories(paths);

  if (!(await fileExists(paths.fallbackCertificate))) {
    await writeFileAtomic(paths.fallbackCertificate, await createFallbackCertificate(), FILE_MODE);
    logger.info({ file: paths.fallbackCertificate }, 'fallback certificate created');
  }

  await installProxyAssets(paths, options.errorPageOverrideDir ?? null, logger);

  const trusted = renderNetworkList(trustedProxies);
  if ((await readFileIfExists(paths.trustedProxiesFile)) !== trusted) await writeFileAtomic(paths.trustedProxiesFile, trusted, FILE_MODE);

  const entries: string[] = [];
  for (const entry of await readCrtList(paths)) {
    if (entry === paths.fallbackCertificate) continue;
    if (await fileExists(entry)) entries.push(entry);
    else logger.error({ file: paths.crtListFile, certificate: entry }, 'crt-list entry without certificate file dropped');
  }
  const crtList = renderCrtList([paths.fallbackCertificate, ...entries]);
  if ((await readFileIfExists(paths.crtListFile)) !== crtList) {
    await writeFileAtomic(paths.crtListFile, crtList, FILE_MODE);
  }

  const rendered = await writeRouteFiles(options, await readRouteTable(paths, logger), new FileChange());
  await clearRouteJournal(paths);
  return rendered;
}
