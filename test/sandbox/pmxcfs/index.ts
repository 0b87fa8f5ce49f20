/**
 * A stand-in for the PVE cluster filesystem (/etc/pve) on a plain directory. It lays out the
 * folders the daemon uses on a node and changes the directory the way pmxcfs presents itself to
 * its clients: without quorum every directory shows mode 0555 and every file 0444 (pve-cluster
 * `cfs-plug-memdb.c`), and lock directories age by their mtime. The rules that a plain
 * directory cannot enforce by itself (1 MiB per file, EACCES for root while read-only) are
 * enforced by the daemon's own file layer, which reads the same signals on a real node, so the
 * tests run the production code path. `violations` checks afterwards that no file broke a rule.
 */

import { chmod, lstat, mkdir, mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** pmxcfs `MEMDB_MAX_FILE_SIZE`. */
export const PMXCFS_MAX_FILE_BYTES = 1024 * 1024;

export interface PmxcfsStandIn {
  /** The stand-in for /etc/pve. */
  readonly root: string;
  /** /etc/pve/pve-domains */
  readonly stateDir: string;
  /** /etc/pve/priv/pve-domains */
  readonly secretsDir: string;
  /** /etc/pve/priv/lock */
  readonly lockDir: string;
  /** Whether the stand-in accepts writes. */
  readonly quorate: boolean;
  /** Switches between quorate (writable) and read-only, as losing and regaining quorum does. */
  setQuorate(quorate: boolean): Promise<void>;
  /** Sets the mtime of lock directory `id` to `ageMs` in the past. */
  ageLock(id: string, ageMs: number): Promise<void>;
  /** Whether lock directory `id` exists. */
  hasLock(id: string): Promise<boolean>;
  /** Descriptions of every file that breaks a pmxcfs rule: too large, a symlink, or a leftover temporary file. */
  violations(): Promise<string[]>;
  /** Removes the directory tree. */
  remove(): Promise<void>;
}

async function walk(dir: string, visit: (path: string, isDir: boolean) => Promise<void>): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(path, visit);
      await visit(path, true);
    } else {
      await visit(path, false);
    }
  }
}

function isPrivate(root: string, path: string): boolean {
  return relative(root, path).split('/')[0] === 'priv';
}

/** Creates the stand-in under `parent` (a new temporary folder when absent). */
export async function createPmxcfsStandIn(parent?: string): Promise<PmxcfsStandIn> {
  const root = parent === undefined ? await mkdtemp(join(tmpdir(), 'pmxcfs-')) : join(parent, 'etc-pve');
  const stateDir = join(root, 'pve-domains');
  const secretsDir = join(root, 'priv', 'pve-domains');
  const lockDir = join(root, 'priv', 'lock');
  await mkdir(stateDir, { recursive: true, mode: 0o755 });
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });
  await mkdir(lockDir, { recursive: true, mode: 0o700 });
  let quorate = true;

  const standIn: PmxcfsStandIn = {
    root,
    stateDir,
    secretsDir,
    lockDir,
    get quorate(): boolean {
      return quorate;
    },
    async setQuorate(next: boolean): Promise<void> {
      // Modes as pmxcfs reports them: 0555/0444 without quorum, else 0755/0640 and 0700/0600 under priv.
      const modeOf = (path: string, isDir: boolean): number => {
        if (!next) return isDir ? 0o555 : 0o444;
        if (isPrivate(root, path)) return isDir ? 0o700 : 0o600;
        return isDir ? 0o755 : 0o640;
      };
      await walk(root, async (path, isDir) => chmod(path, modeOf(path, isDir)));
      await chmod(root, next ? 0o755 : 0o555);
      quorate = next;
    },
    async ageLock(id: string, ageMs: number): Promise<void> {
      const when = new Date(Date.now() - ageMs);
      await utimes(join(lockDir, id), when, when);
    },
    async hasLock(id: string): Promise<boolean> {
      try {
        return (await stat(join(lockDir, id))).isDirectory();
      } catch {
        return false;
      }
    },
    async violations(): Promise<string[]> {
      const found: string[] = [];
      await walk(root, async (path, isDir) => {
        const info = await lstat(path);
        if (info.isSymbolicLink()) found.push(`${path} is a symlink, which pmxcfs does not allow`);
        if (!isDir && info.size > PMXCFS_MAX_FILE_BYTES) found.push(`${path} has ${info.size} bytes, more than 1 MiB`);
        if (/\.tmp\.\d+$/.test(path)) found.push(`${path} is a leftover temporary file`);
      });
      return found;
    },
    async remove(): Promise<void> {
      if (!quorate) await standIn.setQuorate(true);
      await rm(root, { recursive: true, force: true });
    },
  };
  return standIn;
}
