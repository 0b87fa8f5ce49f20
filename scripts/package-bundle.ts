import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

import { build, type Metafile } from 'esbuild';

/** An npm package whose code ended up in a bundle. */
export interface BundledPackage {
  name: string;
  version: string;
  /** SPDX expression from its package.json. */
  license: string;
  /** Absolute path of the package's folder under node_modules. */
  dir: string;
  author: string | null;
}

export interface BundleResult {
  daemonFile: string;
  cliFile: string;
  packages: BundledPackage[];
  warnings: string[];
}

/** Debian's nodejs installs the interpreter here; /usr/bin/env would pick any node on PATH. */
const INTERPRETER_LINE = '#!/usr/bin/node';

/**
 * Node's ESM output has no `require`; CommonJS dependencies inside the bundle call it for Node's
 * built-in modules, so the bundle defines one.
 */
const REQUIRE_SHIM = "import { createRequire as __pveDomainsCreateRequire } from 'node:module';\nconst require = __pveDomainsCreateRequire(import.meta.url);";

/**
 * Bundles the daemon and the CLI, each with every npm dependency, into one ES module file
 * (`pve-domainsd.mjs`, `pve-domains.mjs`) under `outDir`, and lists the npm packages they contain.
 */
export async function bundleProgram(repoRoot: string, outDir: string): Promise<BundleResult> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: {
      'pve-domainsd': 'daemon/src/bin/pve-domainsd.ts',
      'pve-domains': 'daemon/src/bin/pve-domains.ts',
    },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    // Debian 13 ships nodejs 20.19.2; package.json "engines" requires 20.19.
    target: 'node20.19',
    format: 'esm',
    banner: { js: REQUIRE_SHIM },
    // The licences of the bundled packages are listed in debian/copyright.
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });

  const daemonFile = join(outDir, 'pve-domainsd.mjs');
  const cliFile = join(outDir, 'pve-domains.mjs');
  for (const file of [daemonFile, cliFile]) await setInterpreter(file);

  return {
    daemonFile,
    cliFile,
    packages: await listPackages(repoRoot, result.metafile),
    warnings: result.warnings.map((warning) => `${warning.location?.file ?? ''}:${warning.location?.line ?? ''} ${warning.text}`),
  };
}

/** Replaces the entry's `#!/usr/bin/env node` line with Debian's interpreter path. */
async function setInterpreter(file: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const body = text.startsWith('#!') ? text.slice(text.indexOf('\n') + 1) : text;
  await writeFile(file, `${INTERPRETER_LINE}\n${body}`);
  await chmod(file, 0o755);
}

/** Returns the npm packages whose files are inputs of the bundle, sorted by name. */
async function listPackages(repoRoot: string, metafile: Metafile): Promise<BundledPackage[]> {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const parts = relative(repoRoot, join(repoRoot, input)).split(sep);
    const last = parts.lastIndexOf('node_modules');
    if (last === -1) continue;
    const scoped = parts[last + 1]?.startsWith('@') === true;
    dirs.add(join(repoRoot, ...parts.slice(0, last + (scoped ? 3 : 2))));
  }

  const packages: BundledPackage[] = [];
  for (const dir of dirs) {
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      name?: string;
      version?: string;
      license?: string;
      author?: string | { name?: string; email?: string };
    };
    if (manifest.name === undefined || manifest.version === undefined || manifest.license === undefined) {
      throw new Error(`${dir}/package.json lacks name, version or license; the package cannot be listed in debian/copyright`);
    }
    packages.push({ name: manifest.name, version: manifest.version, license: manifest.license, dir, author: authorOf(manifest.author) });
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

function authorOf(author: string | { name?: string; email?: string } | undefined): string | null {
  if (author === undefined) return null;
  if (typeof author === 'string') return author;
  if (author.name === undefined) return null;
  return author.email === undefined ? author.name : `${author.name} <${author.email}>`;
}
