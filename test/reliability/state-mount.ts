import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A small tmpfs mounted on a folder of a test's own sandbox, so that the state folder can be
 * made read-only (remount) or full (a filler file) while the daemon runs. It needs root with
 * CAP_SYS_ADMIN, and `mountSupport()` returns the reason when that is missing.
 */
export class StateMount {
  private static readonly fillerName = '.filler';

  private constructor(readonly dir: string) {}

  static async mount(dir: string, sizeBytes: number): Promise<StateMount> {
    await mkdir(dir, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0750`, 'tmpfs', dir]);
    return new StateMount(dir);
  }

  /**
   * Remounts read-only or writable. Linux refuses a read-only remount (EBUSY, "mount point is
   * busy") while a process has a file open for writing on it, as the daemon does for a moment
   * during each state write, so that refusal is retried for up to 10 s.
   */
  async setReadOnly(readOnly: boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await run('mount', ['-o', `remount,${readOnly ? 'ro' : 'rw'}`, this.dir]);
        return;
      } catch (err) {
        if (!/busy/.test((err as Error).message) || Date.now() >= deadline) throw err;
        await new Promise((resolveWait) => setTimeout(resolveWait, 50));
      }
    }
  }

  /** Writes zeros until the file system returns ENOSPC. */
  async fill(): Promise<void> {
    const handle = await open(join(this.dir, StateMount.fillerName), 'w');
    const block = Buffer.alloc(64 * 1024);
    try {
      for (;;) await handle.write(block);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      await handle.close();
    }
  }

  async unfill(): Promise<void> {
    await rm(join(this.dir, StateMount.fillerName), { force: true });
  }

  async unmount(): Promise<void> {
    await run('umount', [this.dir]);
  }
}

/** Returns null when this process can mount a tmpfs, else the reason it cannot. */
export async function mountSupport(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = await mkdtemp(join(tmpdir(), 'pve-domains-mount-check-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=65536', 'tmpfs', dir]);
    await run('umount', [dir]);
    return null;
  } catch (err) {
    return `mount -t tmpfs failed (${(err as Error).message.split('\n')[0] ?? ''}); the process lacks CAP_SYS_ADMIN`;
  } finally {
    await rmdir(dir).catch(() => undefined);
  }
}
