/**
 * The work lock: one node of the cluster at a time talks to Cloudflare and the ACME CA. The
 * holder keeps the lock directory's mtime fresh. When it stops cleanly it removes the directory.
 * When it dies, the directory goes stale after `staleMs` and another node takes it. A node
 * therefore takes over at most `staleMs + refreshMs` after the holder died (130 s with the
 * pmxcfs stale time of 120 s and the default refresh of 10 s), or within `refreshMs` after a
 * clean stop.
 */

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { ClusterLock } from './cluster-lock.js';
import { writeFileAtomic } from './pmxcfs.js';
import { processExists } from '../process-exists.js';

/** Lock directory name of the work lock. */
export const WORK_LOCK_ID = 'pve-domains-work';
/** Holder file name in the state folder. */
export const WORK_HOLDER_FILE = 'work-holder.json';

/** Contents of the holder file, written next to the state by the node that holds the work lock. */
export interface WorkHolder {
  node: string;
  pid: number;
  /** Random id of the holding process, which distinguishes a restarted daemon on the same node from its predecessor. */
  token: string;
  since: string;
}

export interface WorkLockOptions {
  lock: ClusterLock;
  /** File that names the holder (in the shared state folder). */
  holderFile: string;
  nodeName: string;
  /** Interval of the refresh by the holder and of the attempts by the other nodes. */
  refreshMs: number;
  /** Called after this node gained (true) or lost (false) the lock. */
  onChange(holding: boolean): void;
  logger: Logger;
}

/** Reads the holder file; null when it is missing or unreadable. */
export async function readWorkHolder(path: string): Promise<WorkHolder | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as WorkHolder;
  } catch {
    return null;
  }
}

export class WorkLock {
  private readonly token = randomBytes(8).toString('hex');
  private holding = false;
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> = Promise.resolve();
  private stopped = true;
  private readonly logger: Logger;

  constructor(private readonly options: WorkLockOptions) {
    this.logger = options.logger.child({ subsystem: 'work-lock', node: options.nodeName });
  }

  /** Whether this process holds the work lock now. */
  isHolder(): boolean {
    return this.holding;
  }

  /** Tries at once, then every `refreshMs`. */
  start(): void {
    this.stopped = false;
    const run = (): void => {
      this.tick = this.attempt().finally(() => {
        if (!this.stopped) {
          this.timer = setTimeout(run, this.options.refreshMs);
          this.timer.unref();
        }
      });
    };
    run();
  }

  /** Stops the attempts and releases the lock when this node holds it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.tick;
    if (!this.holding) return;
    this.setHolding(false);
    try {
      await this.options.lock.release();
      this.logger.info('work lock released');
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'unable to release the work lock; it expires when stale');
    }
  }

  /** One round: refresh the lock when holding it, else try to take it. */
  async attempt(): Promise<void> {
    try {
      if (this.holding) await this.refresh();
      else await this.take();
    } catch (err) {
      // Without quorum neither refresh nor takeover can be written; a node that cannot refresh
      // steps down, because the quorate part of the cluster takes the lock once it is stale.
      if (this.holding) {
        this.setHolding(false);
        this.logger.warn({ err: errorMessage(err) }, 'lost the work lock: unable to refresh it');
      } else {
        this.logger.debug({ err: errorMessage(err) }, 'unable to take the work lock');
      }
    }
  }

  private async refresh(): Promise<void> {
    const holder = await readWorkHolder(this.options.holderFile);
    if (holder?.token !== this.token) {
      this.setHolding(false);
      this.logger.warn({ holder: holder?.node ?? null }, 'lost the work lock: another node took it');
      return;
    }
    await this.options.lock.refresh();
  }

  private async take(): Promise<void> {
    const holder = await readWorkHolder(this.options.holderFile);
    // After a quorum loss this process may still own the directory it could not refresh.
    const adopted = holder?.token === this.token && !(await this.options.lock.isStale());
    if (holder !== null && !adopted && holder.node === this.options.nodeName && !processExists(holder.pid)) {
      // The previous daemon of this node died without releasing the lock (SIGKILL, crash), so a
      // restart need not wait for the lock to go stale.
      // NOTE: a reused PID of an unrelated process makes this wait for the stale time instead.
      this.logger.info({ pid: holder.pid }, 'removing the work lock of a dead daemon on this node');
      await this.options.lock.release();
    }
    if (adopted) await this.options.lock.refresh();
    else if (!(await this.options.lock.tryAcquire())) return;
    if (!adopted) {
      const record: WorkHolder = { node: this.options.nodeName, pid: process.pid, token: this.token, since: new Date().toISOString() };
      try {
        await writeFileAtomic(this.options.holderFile, `${JSON.stringify(record, null, 2)}\n`);
      } catch (err) {
        await this.options.lock.release().catch(() => undefined);
        throw err;
      }
    }
    this.setHolding(true);
  }

  private setHolding(holding: boolean): void {
    if (this.holding === holding) return;
    this.holding = holding;
    this.logger.info({ holding }, holding ? 'work lock acquired: this node talks to the DNS provider and the CA' : 'work lock given up');
    this.options.onChange(holding);
  }
}
