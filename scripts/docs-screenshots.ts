/**
 * `npm run docs:screenshots`: runs the web UI tests, which save a screenshot of every screen they
 * visit under test-artifacts/ui/, and copies the ones the administrator's guide shows into
 * docs/images/. The guide's pictures are therefore always those of the current UI.
 *
 *   tsx scripts/docs-screenshots.ts [--skip-tests]
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const repoRoot = resolve(import.meta.dirname, '..');
const sourceDir = join(repoRoot, 'test-artifacts', 'ui');
const targetDir = join(repoRoot, 'docs', 'images');

/** Screenshots the guide links to, by the name the UI tests give them. */
const guideScreenshots = [
  'domains-grid',
  'domain-add-window',
  'domain-add-field-marked',
  'domain-verify',
  'certificates-grid',
  'site-edit-window',
  'service-add-window',
  'service-progress-ready',
  'services-grid',
  'service-events',
] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'skip-tests': { type: 'boolean', default: false } } });
  if (!values['skip-tests']) {
    const tests = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'run-tests.mjs'), 'test/ui/panels.test.ts'], { cwd: repoRoot, stdio: 'inherit' });
    if (tests.status !== 0) throw new Error(`the UI tests failed (exit code ${String(tests.status)}); the screenshots were not copied`);
  }

  await mkdir(targetDir, { recursive: true });
  const missing: string[] = [];
  for (const name of guideScreenshots) {
    const source = join(sourceDir, `${name}.png`);
    try {
      await stat(source);
    } catch {
      missing.push(name);
      continue;
    }
    await copyFile(source, join(targetDir, `${name}.png`));
  }
  if (missing.length > 0) throw new Error(`the UI tests saved no screenshot named ${missing.join(', ')} in ${sourceDir}; update the list in scripts/docs-screenshots.ts`);
  console.log(`copied ${guideScreenshots.length} screenshots to ${targetDir}`);
}

main().catch((err: unknown) => {
  console.error(`docs-screenshots: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
