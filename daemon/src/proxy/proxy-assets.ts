import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Logger } from 'pino';

import { readFileIfExists, writeFileAtomic } from './atomic-file.js';
import { errorPageBodyFile, errorPageFile, loadErrorPages } from './error-pages/pages.js';
import type { ProxyPaths } from './paths.js';

/**
 * Files the ingress installs next to haproxy.cfg (the sign-in gate's Lua script and the error
 * pages). They live in the repository beside this module. The Debian package bundles the code
 * into one file, so there they are looked up in PACKAGED_ASSET_DIR instead.
 */

/** Folder where the package installs the non-code contents of daemon/src/proxy/. */
export const PACKAGED_ASSET_DIR = '/usr/share/pve-external-domains/proxy';

const SOURCE_ASSET_DIR = dirname(fileURLToPath(import.meta.url));
const FILE_MODE = 0o600;

const cache = new Map<string, string>();

/** Reads the asset `relativePath` (such as `auth-gate.lua`); throws naming every place tried. */
export async function readProxyAsset(relativePath: string): Promise<string> {
  const cached = cache.get(relativePath);
  if (cached !== undefined) return cached;
  const candidates = [join(SOURCE_ASSET_DIR, relativePath), join(PACKAGED_ASSET_DIR, relativePath)];
  for (const path of candidates) {
    try {
      const text = await readFile(path, 'utf8');
      cache.set(relativePath, text);
      return text;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`proxy asset ${relativePath} not found in ${candidates.join(' or ')}; reinstall the package`);
}

/** Installs the sign-in gate's script and the error pages next to haproxy.cfg; unchanged files are not rewritten. */
export async function installProxyAssets(paths: ProxyPaths, overrideDirectory: string | null, logger: Logger): Promise<void> {
  try {
    await writeIfChanged(paths.authGateScript, await readProxyAsset('auth-gate.lua'));
  } catch (err) {
    // Only routes that require sign-in load the script, so the proxy still starts without it.
    logger.error({ err, file: paths.authGateScript }, 'sign-in gate script not installed; routes that require sign-in fail the configuration check until it is');
  }

  await mkdir(paths.errorPagesDir, { recursive: true, mode: 0o700 });
  const pages = await loadErrorPages(overrideDirectory, (name, err) => {
    logger.error({ err, page: name, directory: overrideDirectory }, 'error page not usable; a fallback page is served instead');
  });
  for (const page of pages) {
    await writeIfChanged(errorPageFile(paths.errorPagesDir, page.name), page.response);
    await writeIfChanged(errorPageBodyFile(paths.errorPagesDir, page.name), page.body);
  }
  const replaced = pages.filter((page) => page.source !== 'shipped').map((page) => page.source);
  if (replaced.length > 0) logger.info({ files: replaced }, 'error pages replaced by the administrator');
}

async function writeIfChanged(path: string, content: string): Promise<void> {
  if ((await readFileIfExists(path)) !== content) await writeFileAtomic(path, content, FILE_MODE);
}
