/**
 * `npm run repo`: builds a signed apt repository from the built .deb files.
 *
 *   tsx scripts/repo.ts (--key-id ID | --throwaway-key) [--deb FILE ...] [--out DIR] [--url URL]
 *
 * --key-id signs with a key of the caller's GnuPG keyring (GNUPGHOME). --throwaway-key signs with
 * a key made for this run in a temporary GnuPG home that is deleted afterwards, for tests and
 * local trials. The repository gets dists/<suite>/{Release,InRelease,Release.gpg}, Packages
 * indices, the public key as pve-external-domains.gpg and a deb822 .sources entry for --url.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

import { run } from './package-process.js';

const repoRoot = resolve(import.meta.dirname, '..');
const SUITE = 'trixie';
const COMPONENT = 'main';
/** PVE 9 runs on amd64; arm64 is listed for the community builds. The package is Architecture: all. */
const ARCHITECTURES = ['amd64', 'arm64'];
const KEY_FILE = 'pve-external-domains.gpg';

interface Options {
  debs: string[];
  outDir: string;
  url: string;
  keyId: string | null;
  throwawayKey: boolean;
}

async function readOptions(): Promise<Options> {
  const { values } = parseArgs({
    options: {
      deb: { type: 'string', multiple: true },
      out: { type: 'string', default: join(repoRoot, 'dist', 'apt') },
      url: { type: 'string' },
      'key-id': { type: 'string' },
      'throwaway-key': { type: 'boolean', default: false },
    },
  });
  let debs = values.deb?.map((file) => resolve(file)) ?? [];
  if (debs.length === 0) {
    const dir = join(repoRoot, 'dist', 'debian');
    const names = await readdir(dir).catch(() => []);
    debs = names.filter((name) => name.endsWith('.deb')).map((name) => join(dir, name));
  }
  if (debs.length === 0) throw new Error('no .deb files found in dist/debian; run "npm run package" first or name them with --deb');
  const keyId = values['key-id'] ?? null;
  const throwawayKey = values['throwaway-key'];
  if (keyId === null && !throwawayKey) throw new Error('missing signing key: name it with --key-id ID, or pass --throwaway-key for a test repository');
  if (keyId !== null && throwawayKey) throw new Error('--key-id and --throwaway-key exclude each other; pass one of them');
  const outDir = resolve(values.out);
  return { debs, outDir, url: values.url ?? `file://${outDir}`, keyId, throwawayKey };
}

/** Creates a passphrase-less Ed25519 signing key valid for one day in `home`; returns its fingerprint. */
async function createThrowawayKey(home: string): Promise<string> {
  const env = { ...process.env, GNUPGHOME: home };
  await run('gpg', ['--batch', '--passphrase', '', '--quick-generate-key', 'pve-external-domains throwaway repository key', 'ed25519', 'sign', '1d'], { env });
  const listing = await run('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env });
  const fingerprint = /^fpr:(?::*)([0-9A-F]{40}):/m.exec(listing.stdout)?.[1];
  if (fingerprint === undefined) throw new Error(`gpg created no key in ${home}:\n${listing.stdout}`);
  return fingerprint;
}

function releaseOptions(): string[] {
  const fields: Record<string, string> = {
    Origin: 'pve-external-domains',
    Label: 'pve-external-domains',
    Suite: SUITE,
    Codename: SUITE,
    Architectures: ARCHITECTURES.join(' '),
    Components: COMPONENT,
    Description: 'pve-external-domains for Proxmox VE 9 (Debian 13 trixie)',
  };
  return Object.entries(fields).flatMap(([name, value]) => ['-o', `APT::FTPArchive::Release::${name}=${value}`]);
}

function sourcesEntry(url: string): string {
  return [
    'Types: deb',
    `URIs: ${url}`,
    `Suites: ${SUITE}`,
    `Components: ${COMPONENT}`,
    `Signed-By: /etc/apt/keyrings/${KEY_FILE}`,
    '',
  ].join('\n');
}

async function writeRepository(options: Options, keyId: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { outDir } = options;
  await rm(outDir, { recursive: true, force: true });
  const pool = join(outDir, 'pool', COMPONENT, 'p', 'pve-external-domains');
  await mkdir(pool, { recursive: true });
  for (const deb of options.debs) await copyFile(deb, join(pool, basename(deb)));

  // Paths in Packages are relative to the repository root, so apt-ftparchive runs there.
  const packages = (await run('apt-ftparchive', ['packages', 'pool'], { cwd: outDir })).stdout;
  for (const architecture of ARCHITECTURES) {
    const dir = join(outDir, 'dists', SUITE, COMPONENT, `binary-${architecture}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Packages'), packages);
    await writeFile(join(dir, 'Packages.gz'), gzipSync(packages));
  }

  const suiteDir = join(outDir, 'dists', SUITE);
  const release = (await run('apt-ftparchive', [...releaseOptions(), 'release', suiteDir])).stdout;
  await writeFile(join(suiteDir, 'Release'), release);
  const sign = ['--batch', '--yes', '--local-user', keyId, '--digest-algo', 'SHA512'];
  await run('gpg', [...sign, '--clearsign', '--output', join(suiteDir, 'InRelease'), join(suiteDir, 'Release')], { env });
  await run('gpg', [...sign, '--armor', '--detach-sign', '--output', join(suiteDir, 'Release.gpg'), join(suiteDir, 'Release')], { env });

  await run('gpg', ['--batch', '--yes', '--output', join(outDir, KEY_FILE), '--export', keyId], { env });
  await run('gpgv', ['--keyring', join(outDir, KEY_FILE), join(suiteDir, 'InRelease')]);
  await writeFile(join(outDir, 'pve-external-domains.sources'), sourcesEntry(options.url));
}

async function main(): Promise<void> {
  const options = await readOptions();
  if (options.keyId !== null) {
    await writeRepository(options, options.keyId, process.env);
  } else {
    const home = await mkdtemp(join(tmpdir(), 'pve-domains-gnupg-'));
    const env = { ...process.env, GNUPGHOME: home };
    try {
      await writeRepository(options, await createThrowawayKey(home), env);
    } finally {
      // Stops the gpg-agent that belongs to this temporary home only.
      await run('gpgconf', ['--kill', 'gpg-agent'], { env, allowFailure: true });
      await rm(home, { recursive: true, force: true });
    }
  }
  console.log(`${options.outDir}: signed apt repository with ${options.debs.length} package(s), suite ${SUITE}`);
}

main().catch((err: unknown) => {
  console.error(`repo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
