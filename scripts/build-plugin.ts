/**
 * Builds the PVE web UI plugin: type-checks pve-plugin/ against its own tsconfig (browser and
 * ExtJS types, not the daemon's) and bundles pve-plugin/src/index.ts with esbuild into one
 * script, pve-plugin/dist/pve-domains.js, that PVE's index page loads after pvemanagerlib.js.
 *
 *   npx tsx scripts/build-plugin.ts [--no-check] [--minify]
 */
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import ts from 'typescript';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const pluginDir = join(repoRoot, 'pve-plugin');
export const pluginFile = join(pluginDir, 'dist', 'pve-domains.js');

export interface PluginBuildOptions {
  outFile?: string;
  minify?: boolean;
  /** Run the TypeScript check first (default true); esbuild itself does not check types. */
  typeCheck?: boolean;
}

export interface PluginBuildResult {
  file: string;
  bytes: number;
  warnings: string[];
}

/** Type-checks the plugin; throws with every diagnostic when there are errors. */
export function checkPluginTypes(): void {
  const configFile = join(pluginDir, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(`cannot read ${configFile}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
    },
  });
  if (parsed === undefined) throw new Error(`cannot read ${configFile}`);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((item) => item.category === ts.DiagnosticCategory.Error);
  if (diagnostics.length === 0) return;
  const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (name) => name, getCurrentDirectory: () => repoRoot, getNewLine: () => '\n' });
  throw new Error(`the PVE plugin has type errors:\n${text}`);
}

/**
 * Bundles the plugin as one IIFE script. The output keeps ES2020 syntax, which every browser
 * PVE 9 supports. ExtJS's callParent finds the calling method through Function.caller, which
 * strict-mode functions hide, so the bundle must not be strict. esbuild would add "use strict"
 * because the tsconfig sets `strict`; `alwaysStrict: false` here keeps it out of the output
 * while the type check stays strict.
 */
export async function buildPlugin(options: PluginBuildOptions = {}): Promise<PluginBuildResult> {
  if (options.typeCheck !== false) checkPluginTypes();
  const outFile = options.outFile ?? pluginFile;
  const result = await build({
    entryPoints: [join(pluginDir, 'src', 'index.ts')],
    outfile: outFile,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: options.minify === true,
    sourcemap: false,
    legalComments: 'none',
    banner: { js: '// pve-domains.js: External Domains panels for the Proxmox VE web UI (AGPL-3.0-or-later)' },
    logLevel: 'silent',
    tsconfigRaw: { compilerOptions: { alwaysStrict: false, verbatimModuleSyntax: true } },
  });
  const warnings = result.warnings.map((warning) => warning.text);
  return { file: outFile, bytes: (await stat(outFile)).size, warnings };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'no-check': { type: 'boolean', default: false }, minify: { type: 'boolean', default: false } } });
  const built = await buildPlugin({ typeCheck: !values['no-check'], minify: values.minify });
  for (const warning of built.warnings) console.warn(`esbuild warning: ${warning}`);
  console.log(`wrote ${built.file} (${built.bytes} bytes)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
