import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, lstat, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { run } from '../../scripts/package-process.js';
import { buildPackage, buildRepository, buildStandInPveManager, standInTemplate } from './build-steps.js';
import { DebianRoot } from './debian-root.js';

/**
 * Installs the package from its signed apt repository into a Debian 13 (trixie, the base of
 * PVE 9) root made by debootstrap, with the real dpkg, apt and maintainer scripts, then upgrades
 * the stand-in pve-manager, removes and purges the package.
 */

const SUITE = 'trixie';
const MIRROR = process.env['PVE_DOMAINS_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';
const TEMPLATE = '/usr/share/pve-manager/index.html.tpl';
const TAG = /^ {4}<script type="text\/javascript" src="\/pve2\/js\/pve-domains\.js\?ver=[0-9a-f]{12}"><\/script>$/gm;
const PVEUM_LOG = '/var/log/pveum-calls.log';
const SECRET_FILE = '/etc/pve/priv/pve-domains/pve-api-token';
const REPO_IN_ROOT = '/srv/pve-external-domains';

async function skipReason(): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'debootstrap and chroot need root';
  try {
    await run('debootstrap', ['--version']);
  } catch {
    return 'debootstrap is not installed (scripts/setup.sh installs it)';
  }
  try {
    const response = await fetch(`${MIRROR}/dists/${SUITE}/InRelease`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    if (!response.ok) return `${MIRROR} answered HTTP ${response.status}; set PVE_DOMAINS_DEBIAN_MIRROR`;
  } catch (err) {
    return `${MIRROR} is unreachable (${(err as Error).message}); set PVE_DOMAINS_DEBIAN_MIRROR`;
  }
  return false;
}

const skip = await skipReason();

let workDir: string;
let root: DebianRoot | undefined;
let debFiles: string[];
let newPveManager: string;

function tags(template: string): string[] {
  return template.match(TAG) ?? [];
}

async function pveumCalls(target: DebianRoot): Promise<string[]> {
  const path = target.path(PVEUM_LOG);
  if (!existsSync(path)) return [];
  return (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
}

function requireRoot(): DebianRoot {
  if (root === undefined) throw new Error('the Debian root was not created; see the before hook');
  return root;
}

describe('package in a Debian root', { skip, timeout: 480_000 }, () => {
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'pve-domains-install-'));
    const deb = await buildPackage(join(workDir, 'out'));
    debFiles = (await run('dpkg-deb', ['-c', deb])).stdout
      .split('\n')
      .map((line) => line.split(/\s+/)[5]?.replace(/^\./, '') ?? '')
      .filter((path) => path !== '' && path !== '/' && !path.endsWith('/'));
    const repo = await buildRepository([deb], join(workDir, 'repo'));
    const firstPveManager = await buildStandInPveManager('9.0.0', workDir);
    newPveManager = await buildStandInPveManager('9.0.1', workDir);

    root = await DebianRoot.create(join(workDir, 'root'), SUITE, MIRROR, ['systemd']);
    await cp(repo, root.path(REPO_IN_ROOT), { recursive: true });
    await mkdir(root.path('/etc/apt/keyrings'), { recursive: true });
    await cp(join(repo, 'pve-external-domains.gpg'), root.path('/etc/apt/keyrings/pve-external-domains.gpg'));
    const sources = (await readFile(join(repo, 'pve-external-domains.sources'), 'utf8')).replace(/^URIs: .*$/m, `URIs: file:${REPO_IN_ROOT}`);
    await writeFile(root.path('/etc/apt/sources.list.d/pve-external-domains.sources'), sources);
    await cp(firstPveManager, root.path('/tmp/pve-manager_9.0.0_all.deb'));
    await cp(newPveManager, root.path('/tmp/pve-manager_9.0.1_all.deb'));
    await root.exec(['dpkg', '-i', '/tmp/pve-manager_9.0.0_all.deb']);
    // pmxcfs of a cluster without quorum: /etc/pve/local without write bits.
    await root.mkdir('/etc/pve/nodes/test', 0o755);
    await root.mkdir('/etc/pve/local', 0o555);
    await root.exec(['apt-get', 'update']);
  });

  after(async () => {
    if (root !== undefined) await root.destroy();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('installs without quorum', async () => {
    const target = requireRoot();
    const install = await target.exec(['apt-get', 'install', '-y', 'pve-external-domains']);
    assert.match(install.stdout, /pve-access setup/);
    assert.match(install.stdout, /pveum user token add pve-domains@pve daemon --privsep 0/);
    assert.deepEqual(await pveumCalls(target), []);
    assert.equal(existsSync(target.path(SECRET_FILE)), false);
  });

  it('installs the files and links', async () => {
    const target = requireRoot();
    for (const path of debFiles) assert.ok(existsSync(target.path(path)), `${path} is missing`);
    const version = await target.exec(['/usr/bin/pve-domains', '--help']);
    assert.match(version.stdout, /^usage: pve-domains/);
    assert.equal((await lstat(target.path('/usr/sbin/pve-domainsd'))).isSymbolicLink(), true);
  });

  it('enables the daemon unit', async () => {
    const target = requireRoot();
    const link = target.path('/etc/systemd/system/multi-user.target.wants/pve-domainsd.service');
    assert.equal((await lstat(link)).isSymbolicLink(), true);
  });

  it('passes systemd-analyze verify', async () => {
    const target = requireRoot();
    // --man=no: the minimal root has no man-db; the build test renders the man pages.
    const verify = await target.exec(['systemd-analyze', 'verify', '--man=no', '/usr/lib/systemd/system/pve-domainsd.service'], true);
    assert.equal(verify.code, 0, verify.stderr);
    assert.doesNotMatch(verify.stderr, /pve-domainsd\.service/);
  });

  it('keeps the unit exposure low', async (t) => {
    const target = requireRoot();
    const security = await target.exec(['systemd-analyze', 'security', '--offline=true', '/usr/lib/systemd/system/pve-domainsd.service'], true);
    const exposure = /Overall exposure level for pve-domainsd\.service: ([0-9.]+)/.exec(security.stdout)?.[1];
    assert.ok(exposure !== undefined, security.stdout + security.stderr);
    t.diagnostic(`systemd-analyze security exposure: ${exposure}`);
    // systemd rates 0-10; below 4 is "OK" or better, for a root service that binds ports 80 and 443.
    assert.ok(Number(exposure) < 4, `exposure ${exposure}:\n${security.stdout}`);
  });

  it('adds one script tag after pvemanagerlib', async () => {
    const template = await requireRoot().readText(TEMPLATE);
    assert.equal(tags(template).length, 1);
    const lines = template.split('\n');
    const anchor = lines.findIndex((line) => line.includes('/pve2/js/pvemanagerlib.js'));
    assert.match(lines[anchor + 1] ?? '', TAG);
    const withoutTag = template.replace(TAG, '').replace(/\n\n/, '\n');
    assert.equal(withoutTag, await standInTemplate('9.0.0'));
  });

  it('creates PVE access once quorate', async () => {
    const target = requireRoot();
    await target.mkdir('/etc/pve/local', 0o755);
    await target.exec(['apt-get', 'install', '-y', '--reinstall', 'pve-external-domains']);
    const calls = await pveumCalls(target);
    assert.ok(calls.includes('role add PVEDomains --privs Sys.Audit,VM.Audit,VM.Config.Network,VM.Config.Options,VM.GuestAgent.Audit'), calls.join('\n'));
    assert.ok(calls.includes("user add pve-domains@pve --comment pve-external-domains daemon (pve-domainsd)"), calls.join('\n'));
    assert.ok(calls.includes('acl modify / --roles PVEDomains --users pve-domains@pve'), calls.join('\n'));
    assert.ok(calls.some((call) => call.startsWith('user token add pve-domains@pve daemon --privsep 0')), calls.join('\n'));
    const secret = (await target.readText(SECRET_FILE)).trim();
    const issued = (await target.readText('/var/lib/pveum-stand-in/token/pve-domains@pve/daemon')).trim();
    assert.equal(secret, issued);
    assert.equal((await stat(target.path(SECRET_FILE))).mode & 0o777, 0o600);
    assert.ok(existsSync(target.path('/etc/pve/pve-domains')), 'the state folder was not created');
  });

  it('reinstalls without new objects', async () => {
    const target = requireRoot();
    const before = (await pveumCalls(target)).length;
    const secret = await target.readText(SECRET_FILE);
    const template = await target.readText(TEMPLATE);
    await target.exec(['apt-get', 'install', '-y', '--reinstall', 'pve-external-domains']);
    const calls = (await pveumCalls(target)).slice(before);
    assert.deepEqual(
      calls.filter((call) => / add /.test(call) || call.includes(' remove ')),
      [],
    );
    assert.ok(calls.includes('role modify PVEDomains --privs Sys.Audit,VM.Audit,VM.Config.Network,VM.Config.Options,VM.GuestAgent.Audit'), calls.join('\n'));
    assert.equal(await target.readText(SECRET_FILE), secret);
    assert.equal(await target.readText(TEMPLATE), template);
  });

  it('re-adds the tag after a pve-manager upgrade', async () => {
    const target = requireRoot();
    const upgrade = await target.exec(['dpkg', '-i', '/tmp/pve-manager_9.0.1_all.deb']);
    assert.match(upgrade.stdout, /Processing triggers for pve-external-domains/);
    const template = await target.readText(TEMPLATE);
    assert.match(template, /version 9\.0\.1/);
    assert.equal(tags(template).length, 1);
  });

  it('removes the tag on remove', async () => {
    const target = requireRoot();
    await target.exec(['apt-get', 'remove', '-y', 'pve-external-domains']);
    assert.equal(await target.readText(TEMPLATE), await standInTemplate('9.0.1'));
    assert.equal(existsSync(target.path('/usr/lib/pve-external-domains')), false);
    assert.equal(existsSync(target.path('/usr/share/pve-manager/js/pve-domains.js')), false);
    // remove keeps conffiles until purge.
    assert.ok(existsSync(target.path('/etc/pve-domains/pve-domainsd.json')));
  });

  it('purge keeps only cluster state', async () => {
    const target = requireRoot();
    await target.mkdir('/var/lib/pve-domains/haproxy', 0o700);
    const purge = await target.exec(['apt-get', 'purge', '-y', 'pve-external-domains']);
    assert.match(purge.stdout, /pveum user delete pve-domains@pve/);
    const status = await target.exec(['dpkg-query', '-W', '-f', '${db:Status-Abbrev}', 'pve-external-domains'], true);
    assert.equal(status.stdout.trim(), '');
    for (const path of [...debFiles, '/etc/pve-domains', '/var/lib/pve-domains', '/etc/systemd/system/multi-user.target.wants/pve-domainsd.service']) {
      assert.equal(existsSync(target.path(path)), false, `${path} is left after purge`);
    }
    assert.equal(await target.readText(TEMPLATE), await standInTemplate('9.0.1'));
    assert.ok(existsSync(target.path(SECRET_FILE)), 'the shared token secret is cluster state and stays');
    assert.ok(existsSync(target.path('/etc/pve/pve-domains')), 'the shared state folder stays');
  });
});
