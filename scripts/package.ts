/**
 * `npm run package`: builds pve-external-domains_<version>_all.deb.
 *
 *   tsx scripts/package.ts [--out DIR] [--ui-file FILE] [--skip-lintian]
 *
 * Bundles the daemon and the CLI with esbuild, checks that both bundles run, generates the man
 * page and the bash completion of pve-domains from the API schema of a daemon built in this
 * process (scripts/cli-docs.ts) and debian/copyright, builds the web UI (scripts/build-plugin.ts)
 * unless --ui-file names a built one, copies the proxy's Lua script and error pages, then runs
 * dpkg-buildpackage (debhelper) on a copy of packaging/debian and checks the result with lintian.
 */
import { copyFile, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { bundleProgram } from './package-bundle.js';
import { renderCopyright } from './package-copyright.js';
import { buildPlugin } from './build-plugin.js';
import { apiSchemaInProcess, renderBashCompletion, renderManPage } from './cli-docs.js';
import { run } from './package-process.js';

const PACKAGE_NAME = 'pve-external-domains';
const repoRoot = resolve(import.meta.dirname, '..');

interface Options {
  outDir: string;
  /** A built web UI to ship instead of building pve-plugin/ here. */
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
  const uiFile = values['ui-file'];
  return { outDir: resolve(values.out), uiFile: uiFile === undefined ? null : resolve(uiFile), lintian: !values['skip-lintian'] };
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
async function checkBundles(daemonFile: string, cliFile: string, scratchDir: string): Promise<void> {
  const help = await run(process.execPath, [cliFile, '--help']);
  if (!help.stdout.startsWith('usage: ')) throw new Error(`the bundled CLI printed no usage text for --help:\n${help.stdout}${help.stderr}`);

  const missing = join(scratchDir, 'missing-settings.json');
  const daemon = await run(process.execPath, [daemonFile, '--config', missing], { allowFailure: true, timeoutMs: 30_000 });
  if (daemon.code !== 1 || !daemon.stdout.includes(`Unable to read the configuration file ${missing}`)) {
    throw new Error(`the bundled daemon did not stop with a clear error for a missing settings file (exit code ${daemon.code}):\n${daemon.stdout}${daemon.stderr}`);
  }
}

/**
 * Copies the files HAProxy reads besides its configuration: the sign-in gate's Lua script and the
 * shipped error pages. The bundled daemon finds them in /usr/share/pve-external-domains/proxy.
 */
async function copyProxyAssets(targetDir: string): Promise<void> {
  const sourceDir = join(repoRoot, 'daemon', 'src', 'proxy');
  await mkdir(join(targetDir, 'error-pages'), { recursive: true });
  await copyFile(join(sourceDir, 'auth-gate.lua'), join(targetDir, 'auth-gate.lua'));
  const pages = (await readdir(join(sourceDir, 'error-pages'))).filter((name) => name.endsWith('.html'));
  if (pages.length === 0) throw new Error(`no error pages found in ${join(sourceDir, 'error-pages')}`);
  for (const page of pages) await copyFile(join(sourceDir, 'error-pages', page), join(targetDir, 'error-pages', page));
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
  await checkBundles(bundle.daemonFile, bundle.cliFile, buildRoot);

  const schema = await apiSchemaInProcess();
  await mkdir(join(outputDir, 'man'));
  await writeFile(join(outputDir, 'man', 'pve-domains.1'), renderManPage(schema, version, date));
  await mkdir(join(outputDir, 'completions'));
  await writeFile(join(outputDir, 'completions', 'pve-domains'), renderBashCompletion(schema));
  await writeFile(join(sourceDir, 'debian', 'copyright'), await renderCopyright(bundle.packages));
  await mkdir(join(outputDir, 'ui'));
  const uiTarget = join(outputDir, 'ui', 'pve-domains.js');
  if (options.uiFile !== null) {
    await copyFile(options.uiFile, uiTarget);
  } else {
    const ui = await buildPlugin({ outFile: uiTarget, minify: true });
    for (const warning of ui.warnings) console.warn(`esbuild warning (web UI): ${warning}`);
  }
  await copyProxyAssets(join(outputDir, 'proxy'));

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
