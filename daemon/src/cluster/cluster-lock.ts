/**
 * Cluster-wide locks the way PVE takes them (pve-cluster `PVE/Cluster.pm` `cfs_lock`). A lock is
 * a directory under /etc/pve/priv/lock. `mkdir` acquires it atomically on every node and `rmdir`
 * releases it. A lock whose mtime is older than 120 s (pmxcfs `CFS_LOCK_TIMEOUT`) is stale.
 */

import { mkdir, readFile, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.js';
import { assertWritable, isReadOnlyError, notQuorateError } from './pmxcfs.js';

/** pmxcfs `CFS_LOCK_TIMEOUT`. */
export const PMXCFS_LOCK_STALE_MS = 120_000;

export interface ClusterLockOptions {
  /** Folder of the lock directories; /etc/pve/priv/lock on a node. */
  lockDir: string;
  /** Age of the lock directory's mtime after which the lock counts as abandoned. */
  staleMs: number;
  /** How long `acquire` keeps retrying; PVE's default is 10 s. */
  timeoutMs: number;
  /** Wait between two attempts; PVE retries at most every second. */
  retryMs: number;
  /**
   * Node-local file (under /run) that records when this process took the lock, so that the next
   * daemon on this node can remove a lock its predecessor died holding instead of waiting until
   * it is stale. Absent = no record.
   */
  ownerFile?: string;
}

/** Slack between the lock directory's mtime and the time in the owner file, which is written just after mkdir. */
const OWNER_CLOCK_SLACK_MS = 1_000;

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** One named lock directory. */
export class ClusterLock {
  readonly path: string;

  constructor(
    readonly id: string,
    private readonly options: ClusterLockOptions,
  ) {
    this.path = join(options.lockDir, id);
  }

  /**
   * Tries once: creates the directory, or removes it first when it is stale. Returns whether
   * this call now holds the lock. Throws CLUSTER_NOT_QUORATE on a read-only filesystem.
   */
  async tryAcquire(): Promise<boolean> {
    await assertWritable(this.options.lockDir);
    try {
      await mkdir(this.path);
      await this.recordOwner();
      return true;
    } catch (err) {
      if (isReadOnlyError(err)) throw notQuorateError(this.path, err);
      if (errorCode(err) === 'ENOENT') {
        await mkdir(this.options.lockDir, { recursive: true, mode: 0o700 });
        return this.tryAcquire();
      }
      if (errorCode(err) !== 'EEXIST') throw err;
    }
    if (!(await this.isStale())) return false;
    // NOTE: pmxcfs removes a stale lock itself on `utime(path, 0, 0)`; a plain directory cannot,
    // so the stale directory is removed here. Two nodes that both see it stale in the same
    // instant could both remove it, and the later rmdir could remove the other's new lock.
    try {
      await rmdir(this.path);
    } catch (err) {
      if (isReadOnlyError(err)) throw notQuorateError(this.path, err);
      if (errorCode(err) !== 'ENOENT') throw err;
    }
    try {
      await mkdir(this.path);
      await this.recordOwner();
      return true;
    } catch (err) {
      if (errorCode(err) === 'EEXIST') return false;
      if (isReadOnlyError(err)) throw notQuorateError(this.path, err);
      throw err;
    }
  }

  /** Retries `tryAcquire` until `timeoutMs`, then throws CLUSTER_LOCK_TIMEOUT. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.options.timeoutMs;
    for (;;) {
      if (await this.tryAcquire()) return;
      if (Date.now() >= deadline) {
        throw new AppError(
          'CLUSTER_LOCK_TIMEOUT',
          `Timed out after ${this.options.timeoutMs} ms waiting for the cluster lock ${this.path}, held by another node; retry, or remove the directory if no pve-domainsd holds it (it expires ${Math.round(this.options.staleMs / 1000)} s after its last refresh)`,
        );
      }
      await sleep(Math.min(this.options.retryMs, Math.max(1, deadline - Date.now())), undefined, signal === undefined ? {} : { signal });
    }
  }

  /** Sets the mtime to now, which keeps the lock from going stale. */
  async refresh(): Promise<void> {
    await assertWritable(this.options.lockDir);
    const now = new Date();
    try {
      await utimes(this.path, now, now);
    } catch (err) {
      if (isReadOnlyError(err)) throw notQuorateError(this.path, err);
      throw err;
    }
  }

  /** Removes the directory; an already removed lock is no error. */
  async release(): Promise<void> {
    await assertWritable(this.options.lockDir);
    try {
      await rmdir(this.path);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') {
        if (isReadOnlyError(err)) throw notQuorateError(this.path, err);
        throw err;
      }
    }
    if (this.options.ownerFile !== undefined) await rm(this.options.ownerFile, { force: true });
  }

  private async recordOwner(): Promise<void> {
    if (this.options.ownerFile === undefined) return;
    // Best effort: without the record a killed holder's lock only waits until it is stale.
    await writeFile(this.options.ownerFile, `${JSON.stringify({ path: this.path, pid: process.pid, at: Date.now() })}\n`, { mode: 0o600 }).catch(() => undefined);
  }

  /**
   * Removes the lock when the owner file shows that an earlier process on this node took it and
   * never released it (it was killed). Call it once at start, before any other use, and only
   * when no other process uses the same owner file. A lock directory newer than the record was
   * taken by another node after the old one went stale, and is left alone. Returns whether a
   * lock was removed.
   */
  async removeAbandoned(): Promise<boolean> {
    const ownerFile = this.options.ownerFile;
    if (ownerFile === undefined) return false;
    let record: { path?: unknown; at?: unknown };
    try {
      record = JSON.parse(await readFile(ownerFile, 'utf8')) as { path?: unknown; at?: unknown };
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      await rm(ownerFile, { force: true });
      return false;
    }
    let removed = false;
    if (record.path === this.path && typeof record.at === 'number') {
      const mtime = await stat(this.path).then((info) => info.mtimeMs, () => null);
      if (mtime !== null && mtime <= record.at + OWNER_CLOCK_SLACK_MS) {
        try {
          await rmdir(this.path);
          removed = true;
        } catch (err) {
          if (errorCode(err) !== 'ENOENT') throw err;
        }
      }
    }
    await rm(ownerFile, { force: true });
    return removed;
  }

  /** Returns whether the lock directory exists and its mtime is older than `staleMs`. */
  async isStale(now = Date.now()): Promise<boolean> {
    try {
      return now - (await stat(this.path)).mtimeMs > this.options.staleMs;
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** Runs `action` while holding the lock and releases it afterwards, also when `action` throws. */
  async run<T>(action: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await action();
    } finally {
      await this.release().catch(() => undefined);
    }
  }
}
