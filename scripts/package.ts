/**
 * `npm run package`: builds pve-external-domains_<version>_all.deb.
 *
 *   tsx scripts/package.ts [--out DIR] [--ui-file FILE] [--skip-lintian]
 *
 * Bundles the daemon and the CLI with esbuild, checks that both bundles run, generates the man
 * page, the bash completion and debian/copyright, then runs dpkg-buildpackage (debhelper) on a
 * copy of packaging/debian and checks the result with lintian.
 */
import { copyFile, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { bundleProgram } from './package-bundle.js';
import { renderCopyright } from './package-copyright.js';
import { parseUsage, renderBashCompletion, renderManPage } from './package-docs.js';
import { run } from './package-process.js';

const PACKAGE_NAME = 'pve-external-domains';
const repoRoot = resolve(import.meta.dirname, '..');

interface Options {
  outDir: string;
  uiFile: string | null;
  lintian: boolean;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(repoRoot, 'dist', 'debian') },
      'ui-file': { type: 'string' },
      'skip-lintian': { type: 'boolean', default: false },
    },
  });
  const builtUi = join(repoRoot, 'pve-plugin', 'dist', 'pve-domains.js');
  const uiFile = values['ui-file'] ?? (existsSync(builtUi) ? builtUi : null);
  return { outDir: resolve(values.out), uiFile: uiFile === null ? null : resolve(uiFile), lintian: !values['skip-lintian'] };
}

/** Returns package.json's version after checking that debian/changelog names the same one. */
async function readVersion(changelog: string): Promise<{ version: string; date: string }> {
  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const debianVersion = (await run('dpkg-parsechangelog', ['-l', changelog, '-S', 'Version'])).stdout.trim();
  const dateLine = (await run('dpkg-parsechangelog', ['-l', changelog, '-S', 'Date'])).stdout.trim();
  if (debianVersion !== manifest.version) {
    throw new Error(
      `package.json has version ${manifest.version} but ${changelog} starts with ${debianVersion}; add a changelog entry with "dch --changelog ${changelog} -v ${manifest.version}"`,
    );
  }
  return { version: manifest.version, date: new Date(dateLine).toISOString().slice(0, 10) };
}

/** Runs both bundles once: the CLI's usage text, and a daemon start that must fail on a missing file. */
async function checkBundles(daemonFile: string, cliFile: string, scratchDir: string): Promise<string> {
  const help = await run(process.execPath, [cliFile, '--help']);
  if (!help.stdout.startsWith('usage: ')) throw new Error(`the bundled CLI printed no usage text for --help:\n${help.stdout}${help.stderr}`);

  const missing = join(scratchDir, 'missing-settings.json');
  const daemon = await run(process.execPath, [daemonFile, '--config', missing], { allowFailure: true, timeoutMs: 30_000 });
  if (daemon.code !== 1 || !daemon.stdout.includes(`Unable to read the configuration file ${missing}`)) {
    throw new Error(`the bundled daemon did not stop with a clear error for a missing settings file (exit code ${daemon.code}):\n${daemon.stdout}${daemon.stderr}`);
  }
  return help.stdout;
}

async function main(): Promise<void> {
  const started = Date.now();
  const options = readOptions();
  const { version, date } = await readVersion(join(repoRoot, 'packaging', 'debian', 'changelog'));

  const buildRoot = join(options.outDir, 'build');
  const sourceDir = join(buildRoot, `${PACKAGE_NAME}-${version}`);
  await rm(buildRoot, { recursive: true, force: true });
  await mkdir(sourceDir, { recursive: true });
  await cp(join(repoRoot, 'packaging', 'debian'), join(sourceDir, 'debian'), { recursive: true });

  const outputDir = join(sourceDir, 'build');
  const bundle = await bundleProgram(repoRoot, outputDir);
  for (const warning of bundle.warnings) console.warn(`esbuild warning: ${warning}`);
  const usageText = await checkBundles(bundle.daemonFile, bundle.cliFile, buildRoot);

  const usage = parseUsage(usageText);
  await mkdir(join(outputDir, 'man'));
  await writeFile(join(outputDir, 'man', 'pve-domains.1'), renderManPage(usage, version, date));
  await mkdir(join(outputDir, 'completions'));
  await writeFile(join(outputDir, 'completions', 'pve-domains'), renderBashCompletion(usage));
  await writeFile(join(sourceDir, 'debian', 'copyright'), await renderCopyright(bundle.packages));
  if (options.uiFile !== null) {
    await mkdir(join(outputDir, 'ui'));
    await copyFile(options.uiFile, join(outputDir, 'ui', 'pve-domains.js'));
  } else {
    console.warn('pve-plugin/dist/pve-domains.js does not exist; the package carries no web UI');
  }

  // --no-check-builddeps: dpkg-checkbuilddeps also requires build-essential (a C toolchain),
  // which this Architecture: all package does not use; debhelper (compat 13) fails on its own
  // when it is missing or too old.
  await run('dpkg-buildpackage', ['--build=binary', '--no-sign', '--no-check-builddeps'], { cwd: sourceDir });
  const debName = `${PACKAGE_NAME}_${version}_all.deb`;
  const debFile = join(options.outDir, debName);
  await rename(join(buildRoot, debName), debFile);
  await rm(buildRoot, { recursive: true, force: true });

  if (options.lintian) {
    const lintian = await run('lintian', ['--fail-on', 'error', '--display-info', debFile], { allowFailure: true });
    process.stdout.write(lintian.stdout);
    if (lintian.code !== 0) throw new Error(`lintian reported errors for ${debFile}:\n${lintian.stderr}`);
  }

  const size = (await stat(debFile)).size;
  console.log(`${debFile}: ${(size / 1024).toFixed(0)} KiB, ${bundle.packages.length} npm packages bundled, built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(`package: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
