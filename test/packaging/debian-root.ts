import { readFile, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { run, type CommandResult } from '../../scripts/package-process.js';

/**
 * A Debian root made by debootstrap in which packages are installed with the real dpkg and apt
 * through chroot. The root has a policy-rc.d that forbids every service start, and no systemd
 * runs in it, so maintainer scripts never start a service on the host.
 */
export class DebianRoot {
  private procMounted = false;

  private constructor(readonly dir: string) {}

  /** Runs `debootstrap --variant=minbase` and mounts /proc (the stand-in pveum reads a UUID from it). */
  static async create(dir: string, suite: string, mirror: string, include: readonly string[]): Promise<DebianRoot> {
    const root = new DebianRoot(dir);
    await run('debootstrap', ['--variant=minbase', `--include=${include.join(',')}`, suite, dir, mirror], { timeoutMs: 300_000 });
    await writeFile(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\n# Installed by the packaging tests: no service may start in this root.\nexit 101\n');
    await chmod(join(dir, 'usr/sbin/policy-rc.d'), 0o755);
    await run('mount', ['-t', 'proc', 'proc', join(dir, 'proc')]);
    root.procMounted = true;
    return root;
  }

  /** Path of `path` (absolute inside the root) on the host. */
  path(path: string): string {
    return join(this.dir, path);
  }

  /** Runs a command inside the root, non-interactively; throws on a non-zero exit unless allowed. */
  exec(args: readonly string[], allowFailure = false): Promise<CommandResult> {
    const env = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      DEBIAN_FRONTEND: 'noninteractive',
      LC_ALL: 'C.UTF-8',
      HOME: '/root',
    };
    return run('chroot', [this.dir, ...args], { env, allowFailure, timeoutMs: 300_000 });
  }

  async readText(path: string): Promise<string> {
    return readFile(this.path(path), 'utf8');
  }

  async mkdir(path: string, mode: number): Promise<void> {
    await mkdir(this.path(path), { recursive: true });
    await chmod(this.path(path), mode);
  }

  /** Unmounts /proc and deletes the root; refuses to delete while anything is still mounted in it. */
  async destroy(): Promise<void> {
    if (this.procMounted) {
      await run('umount', [join(this.dir, 'proc')]);
      this.procMounted = false;
    }
    const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? '');
    const inside = mounts.filter((mountPoint) => mountPoint === this.dir || mountPoint.startsWith(`${this.dir}/`));
    if (inside.length > 0) throw new Error(`not deleting ${this.dir}: ${inside.join(', ')} still mounted; unmount them by hand`);
    await rm(this.dir, { recursive: true, force: true });
  }
}
