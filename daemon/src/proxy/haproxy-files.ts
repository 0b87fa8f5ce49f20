import { chmod, mkdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

import type { Logger } from 'pino';

import { readFileIfExists, removeFileDurably, writeFileAtomic } from './atomic-file.js';
import { createFallbackCertificate } from './fallback-certificate.js';
import { parseCrtList, parseHostsMap, renderCrtList, renderHostsMap, renderHaproxyConfig, type HaproxyConfigOptions } from './haproxy-config.js';
import type { Route } from './ingress.js';
import { certificateIdFromFileName, type ProxyPaths } from './paths.js';

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

/** Reads the routes of the host map; a missing map means no routes. Invalid lines are logged and skipped. */
export async function readRoutes(paths: ProxyPaths, logger: Logger): Promise<Route[]> {
  const text = (await readFileIfExists(paths.mapFile)) ?? '';
  const parsed = parseHostsMap(text);
  if (parsed.invalidLines.length > 0) {
    logger.warn({ file: paths.mapFile, lines: parsed.invalidLines }, 'invalid host map lines skipped');
  }
  return parsed.routes;
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
 * Creates the directories, the fallback certificate, an empty host map and the crt-list when they
 * are missing, and renders haproxy.cfg. The fallback certificate is moved to the first crt-list
 * entry, because HAProxy serves the first entry when no SNI matches. Entries whose file is missing
 * are dropped and logged, since HAProxy would refuse to start with them.
 */
export async function prepareFiles(options: HaproxyConfigOptions, logger: Logger): Promise<void> {
  const { paths } = options;
  await ensureDirectories(paths);

  if (!(await fileExists(paths.fallbackCertificate))) {
    await writeFileAtomic(paths.fallbackCertificate, await createFallbackCertificate(), FILE_MODE);
    logger.info({ file: paths.fallbackCertificate }, 'fallback certificate created');
  }

  if ((await readFileIfExists(paths.mapFile)) === undefined) {
    await writeFileAtomic(paths.mapFile, renderHostsMap([]), FILE_MODE);
  }

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

  const config = renderHaproxyConfig(options);
  if ((await readFileIfExists(paths.configFile)) !== config) {
    await writeFileAtomic(paths.configFile, config, FILE_MODE);
  }
}
