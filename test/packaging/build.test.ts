import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parseConfig } from '../../daemon/src/config.js';
import { run } from '../../scripts/package-process.js';
import { findFreePort } from '../sandbox/ports.js';
import { startProcess, waitFor } from '../sandbox/processes.js';
import { buildPackage, buildRepository, projectVersion } from './build-steps.js';

const BUILD_TIMEOUT_MS = 240_000;

let workDir: string;
let deb: string;
/** The .deb unpacked with dpkg-deb -x. */
let tree: string;

/** debhelper on Debian 12 installs units under /lib, on Debian 13 under /usr/lib. */
function unitPath(): string {
  const candidates = ['usr/lib/systemd/system/pve-domainsd.service', 'lib/systemd/system/pve-domainsd.service'];
  const found = candidates.find((path) => existsSync(join(tree, path)));
  assert.ok(found !== undefined, 'the package has no pve-domainsd.service');
  return join(tree, found);
}

function unitDirectives(unit: string, name: string): string[] {
  return unit
    .split('\n')
    .filter((line) => line.startsWith(`${name}=`))
    .flatMap((line) => line.slice(name.length + 1).split(/\s+/))
    .filter((value) => value !== '')
    .map((value) => value.replace(/^-/, ''));
}

describe('Debian package build', { timeout: BUILD_TIMEOUT_MS }, () => {
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'pve-domains-package-'));
    deb = await buildPackage(join(workDir, 'out'));
    tree = join(workDir, 'tree');
    await run('dpkg-deb', ['-x', deb, tree]);
  });

  after(async () => {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('names the deb after package.json', async () => {
    const fields = await run('dpkg-deb', ['-f', deb, 'Package', 'Version', 'Architecture']);
    assert.match(fields.stdout, /^Package: pve-external-domains$/m);
    assert.match(fields.stdout, new RegExp(`^Version: ${(await projectVersion()).replace(/\./g, '\\.')}$`, 'm'));
    assert.match(fields.stdout, /^Architecture: all$/m);
  });

  it('depends on nodejs, haproxy, nftables, pve-manager', async () => {
    const depends = (await run('dpkg-deb', ['-f', deb, 'Depends'])).stdout;
    assert.match(depends, /nodejs \(>= 20\.19\)/);
    assert.match(depends, /haproxy/);
    assert.match(depends, /nftables/);
    assert.match(depends, /pve-manager \(>= 9\.0\.0\)/);
  });

  it('installs the expected files', () => {
    for (const path of [
      'usr/lib/pve-external-domains/pve-domainsd.mjs',
      'usr/lib/pve-external-domains/pve-domains.mjs',
      'usr/lib/pve-external-domains/ui-tag',
      'usr/lib/pve-external-domains/pve-access',
      'usr/bin/pve-domains',
      'usr/sbin/pve-domainsd',
      'etc/pve-domains/pve-domainsd.json',
      'usr/share/pve-manager/js/pve-domains.js',
      'usr/share/man/man1/pve-domains.1.gz',
      'usr/share/pve-external-domains/proxy/auth-gate.lua',
      'usr/share/pve-external-domains/proxy/error-pages/unknown-host.html',
      'usr/share/pve-external-domains/proxy/error-pages/guest-stopped.html',
      'usr/share/man/man8/pve-domainsd.8.gz',
      'usr/share/bash-completion/completions/pve-domains',
      'usr/share/doc/pve-external-domains/copyright',
      'usr/share/doc/pve-external-domains/changelog.gz',
      'usr/share/doc/pve-external-domains/README.Debian',
    ]) {
      assert.ok(existsSync(join(tree, path)), `${path} is missing from the package`);
    }
  });

  it('installs the daemon unit', () => {
    assert.ok(existsSync(unitPath()));
  });

  it('ships no node_modules tree', async () => {
    const listing = (await run('dpkg-deb', ['-c', deb])).stdout;
    assert.doesNotMatch(listing, /node_modules/);
  });

  it('marks the settings file as conffile', async () => {
    const control = join(workDir, 'control');
    await run('dpkg-deb', ['-e', deb, control]);
    const conffiles = await readFile(join(control, 'conffiles'), 'utf8');
    assert.equal(conffiles.trim(), '/etc/pve-domains/pve-domainsd.json');
    const triggers = await readFile(join(control, 'triggers'), 'utf8');
    assert.match(triggers, /^interest-noawait \/usr\/share\/pve-manager\/index\.html\.tpl$/m);
  });

  it('ships settings the daemon accepts', async () => {
    const document = JSON.parse(await readFile(join(tree, 'etc/pve-domains/pve-domainsd.json'), 'utf8')) as Record<string, unknown>;
    assert.throws(() => parseConfig(document), /clusterName/);
    const completed = { ...document, clusterName: 'test', site: { name: 'default', addresses: ['192.0.2.10'] } };
    const config = parseConfig(completed);
    assert.equal(config.pve.tokenId, 'pve-domains@pve!daemon');
    assert.equal(config.pve.tokenSecretFile, '/etc/pve/priv/pve-domains/pve-api-token');
  });

  it('lets the unit write every settings path', async () => {
    const unit = await readFile(unitPath(), 'utf8');
    const config = parseConfig({
      ...(JSON.parse(await readFile(join(tree, 'etc/pve-domains/pve-domainsd.json'), 'utf8')) as Record<string, unknown>),
      clusterName: 'test',
      site: { name: 'default', addresses: ['192.0.2.10'] },
    });
    const writable = [
      ...unitDirectives(unit, 'ReadWritePaths'),
      ...unitDirectives(unit, 'StateDirectory').map((name) => `/var/lib/${name}`),
      ...unitDirectives(unit, 'RuntimeDirectory').map((name) => `/run/${name}`),
    ];
    for (const path of [config.stateDir, config.secretsDir, config.runDir, config.proxy.configDir]) {
      assert.ok(
        writable.some((allowed) => path === allowed || path.startsWith(`${allowed}/`)),
        `${path} is not writable under ProtectSystem=strict (writable: ${writable.join(' ')})`,
      );
    }
    assert.match(unit, /^Environment=NODE_EXTRA_CA_CERTS=\/etc\/pve\/pve-root-ca\.pem$/m);
    assert.match(unit, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_ADMIN$/m);
  });

  it('has no lintian errors', async () => {
    const lintian = await run('lintian', ['--display-info', deb], { allowFailure: true });
    const errors = lintian.stdout.split('\n').filter((line) => line.startsWith('E: '));
    assert.deepEqual(errors, []);
  });

  it('completes commands in bash', async () => {
    const completion = join(tree, 'usr/share/bash-completion/completions/pve-domains');
    const script = `source ${completion}; COMP_WORDS=(pve-domains cr); COMP_CWORD=1; _pve_domains; echo "\${COMPREPLY[*]}"`;
    const verbs = await run('bash', ['-c', script]);
    assert.equal(verbs.stdout.trim(), 'create');
    const formats = `source ${completion}; COMP_WORDS=(pve-domains get /services --output-format j); COMP_CWORD=4; _pve_domains; echo "\${COMPREPLY[*]}"`;
    assert.equal((await run('bash', ['-c', formats])).stdout.trim(), 'json json-pretty');
  });

  it('renders the man page', async () => {
    const page = await run('man', ['-l', '-P', 'cat', join(tree, 'usr/share/man/man1/pve-domains.1.gz')], { env: { ...process.env, MANWIDTH: '200' } });
    assert.match(page.stdout, /pve-domains <ls\|get\|create\|set\|delete> PATH/);
    assert.match(page.stdout, /pve-domains get \/services/);
  });

  it('runs the bundled daemon and CLI', { timeout: 60_000 }, async () => {
    const dir = join(workDir, 'daemon');
    await mkdir(dir);
    await writeFile(join(dir, 'token'), '00000000-0000-0000-0000-000000000000\n', { mode: 0o600 });
    const socket = join(dir, 'run', 'api.sock');
    const settings = {
      clusterName: 'package-test',
      site: { name: 'default', addresses: ['192.0.2.10'] },
      stateDir: join(dir, 'state'),
      secretsDir: join(dir, 'secrets'),
      runDir: join(dir, 'run'),
      // The HTTPS listener needs PVE's certificate and CSRF key; the unix socket is enough here.
      api: { listen: null },
      // Nothing listens there: the daemon calls PVE only for services, and there are none.
      pve: { url: `https://127.0.0.1:${await findFreePort()}`, tokenId: 'pve-domains@pve!daemon', tokenSecretFile: join(dir, 'token') },
      proxy: {
        configDir: join(dir, 'haproxy'),
        httpBind: { address: '127.0.0.1', port: await findFreePort() },
        httpsBind: { address: '127.0.0.1', port: await findFreePort() },
      },
    };
    await writeFile(join(dir, 'settings.json'), JSON.stringify(settings));
    const daemon = startProcess('pve-domainsd', process.execPath, [join(tree, 'usr/lib/pve-external-domains/pve-domainsd.mjs'), '--config', join(dir, 'settings.json')], join(dir, 'daemon.log'));
    try {
      await waitFor('the API socket of the bundled daemon', async () => (await stat(socket)).isSocket(), 30_000, 100);
      const cli = join(tree, 'usr/lib/pve-external-domains/pve-domains.mjs');
      const domains = await run(process.execPath, [cli, 'get', '/domains', '--output-format', 'json', '--socket', socket]);
      assert.deepEqual(JSON.parse(domains.stdout), []);
    } finally {
      await daemon.stop(10_000);
    }
    assert.equal(daemon.child.exitCode, 0, await readFile(join(dir, 'daemon.log'), 'utf8'));
  });

  it('builds a signed repository', async () => {
    const repo = await buildRepository([deb], join(workDir, 'repo'));
    const key = join(repo, 'pve-external-domains.gpg');
    await run('gpgv', ['--keyring', key, join(repo, 'dists/trixie/InRelease')]);
    await run('gpgv', ['--keyring', key, join(repo, 'dists/trixie/Release.gpg'), join(repo, 'dists/trixie/Release')]);
    const packages = await readFile(join(repo, 'dists/trixie/main/binary-amd64/Packages'), 'utf8');
    const sha256 = (await run('sha256sum', [deb])).stdout.split(' ')[0] ?? '';
    assert.match(packages, /^Package: pve-external-domains$/m);
    assert.match(packages, new RegExp(`^SHA256: ${sha256}$`, 'm'));
    const release = await readFile(join(repo, 'dists/trixie/Release'), 'utf8');
    assert.match(release, /^Suite: trixie$/m);
    const sources = await readFile(join(repo, 'pve-external-domains.sources'), 'utf8');
    assert.match(sources, /^Signed-By: \/etc\/apt\/keyrings\/pve-external-domains\.gpg$/m);
  });
});
