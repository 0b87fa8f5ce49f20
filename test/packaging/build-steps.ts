import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { run } from '../../scripts/package-process.js';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const standInDir = join(repoRoot, 'test', 'packaging', 'stand-ins');

/** Version in package.json, which the .deb must carry. */
export async function projectVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Runs scripts/package.ts into `outDir` with a placeholder UI file; returns the .deb path. */
export async function buildPackage(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'package.ts'), '--out', outDir, '--skip-lintian'], {
    cwd: repoRoot,
  });
  return join(outDir, `pve-external-domains_${await projectVersion()}_all.deb`);
}

/** Runs scripts/repo.ts with a throwaway key; returns the repository folder. */
export async function buildRepository(debs: readonly string[], outDir: string): Promise<string> {
  const args = [join(repoRoot, 'scripts', 'repo.ts'), '--out', outDir, '--throwaway-key', ...debs.flatMap((deb) => ['--deb', deb])];
  await run(process.execPath, ['--import', 'tsx', ...args], { cwd: repoRoot });
  return outDir;
}

/** Returns the stand-in page template of pve-manager `version`. */
export async function standInTemplate(version: string): Promise<string> {
  return (await readFile(join(standInDir, 'index.html.tpl'), 'utf8')).replace('@VERSION@', version);
}

/**
 * Builds a tiny pve-manager .deb: the page template, an empty js folder and the recording pveum.
 * (On PVE, pveum comes from libpve-access-control, a dependency of pve-manager.)
 */
export async function buildStandInPveManager(version: string, workDir: string): Promise<string> {
  const tree = join(workDir, `pve-manager-${version}`);
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(join(tree, 'usr', 'share', 'pve-manager', 'js'), { recursive: true });
  await mkdir(join(tree, 'usr', 'sbin'), { recursive: true });
  await writeFile(join(tree, 'usr', 'share', 'pve-manager', 'index.html.tpl'), await standInTemplate(version));
  await copyFile(join(standInDir, 'pveum'), join(tree, 'usr', 'sbin', 'pveum'));
  await chmod(join(tree, 'usr', 'sbin', 'pveum'), 0o755);
  await writeFile(
    join(tree, 'DEBIAN', 'control'),
    [
      'Package: pve-manager',
      `Version: ${version}`,
      'Architecture: all',
      'Maintainer: pve-external-domains tests <tests@pve-external-domains.example>',
      'Description: stand-in for the Proxmox VE manager in packaging tests',
      '',
    ].join('\n'),
  );
  const deb = join(workDir, `pve-manager_${version}_all.deb`);
  await run('dpkg-deb', ['--root-owner-group', '--build', tree, deb]);
  return deb;
}
