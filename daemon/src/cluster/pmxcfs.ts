/**
 * File operations that follow the rules of the PVE cluster filesystem (pmxcfs, pve-cluster
 * `src/pmxcfs/memdb.h` and `cfs-plug-memdb.c`). A file holds at most 1 MiB. A file is replaced
 * atomically by writing `<file>.tmp.<pid>` and renaming it, as pve-common `file_set_contents`
 * does. Every write fails with EACCES while the node has no quorum. The same rules apply on a
 * plain directory, so tests and the demo run the code path a node runs.
 */

import { open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../errors.js';

/** pmxcfs `MEMDB_MAX_FILE_SIZE`: larger writes fail with EFBIG. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** pmxcfs `MEMDB_MAX_FSSIZE`, shared by every file under /etc/pve. */
export const MAX_FILESYSTEM_BYTES = 128 * 1024 * 1024;

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Returns whether a failed file operation means that the cluster filesystem is read-only (no quorum). */
export function isReadOnlyError(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'EACCES' || code === 'EROFS' || code === 'EPERM';
}

/** Builds the 503 error for a write rejected while the cluster has no quorum. */
export function notQuorateError(path: string, cause?: unknown): AppError {
  return new AppError(
    'CLUSTER_NOT_QUORATE',
    `cluster not quorate: the cluster filesystem refused the write of ${path}; the daemon keeps serving the existing routes and certificates, and changes work again once the cluster has quorum`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Returns whether the directory accepts writes. pmxcfs shows every directory as 0555 and every
 * file as 0444 while the node has no quorum, so a missing owner write bit means "not quorate".
 * Checking the bit rather than trying a write also works for root, whom mode bits do not stop.
 */
export async function isWritable(dir: string): Promise<boolean> {
  try {
    return ((await stat(dir)).mode & 0o200) !== 0;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return true;
    throw err;
  }
}

/** Throws CLUSTER_NOT_QUORATE when `dir` is read-only. */
export async function assertWritable(dir: string): Promise<void> {
  if (!(await isWritable(dir))) throw notQuorateError(dir);
}

/** Throws STATE_TOO_LARGE when `content` would not fit in one pmxcfs file. */
export function assertFileSize(path: string, content: string): void {
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > MAX_FILE_BYTES) {
    throw new AppError(
      'STATE_TOO_LARGE',
      `The change was rejected: ${path} would grow to ${bytes} bytes, more than the 1 MiB (${MAX_FILE_BYTES} bytes) the PVE cluster filesystem allows per file; remove services or certificates of this domain first`,
      { retryable: false },
    );
  }
}

/**
 * Replaces `path` with `content` atomically: a temporary file in the same directory, then
 * rename, which pmxcfs supports for files. Errors name the file; EACCES, EROFS and EPERM become
 * CLUSTER_NOT_QUORATE and EFBIG becomes STATE_TOO_LARGE.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o640): Promise<void> {
  assertFileSize(path, content);
  await assertWritable(dirname(path));
  const temporary = `${path}.tmp.${process.pid}`;
  try {
    const handle = await open(temporary, 'w', mode);
    try {
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true }).catch(() => undefined);
    if (isReadOnlyError(err)) throw notQuorateError(path, err);
    if (errorCode(err) === 'EFBIG') assertFileSize(path, content.padEnd(MAX_FILE_BYTES + 1));
    throw new AppError('STORE_FAILED', `Unable to write ${path}: ${(err as Error).message}; check the cluster filesystem with 'pvecm status'`, { cause: err });
  }
}

/** Removes `path`; a missing file is no error. Read-only errors become CLUSTER_NOT_QUORATE. */
export async function removeFile(path: string): Promise<void> {
  await assertWritable(dirname(path));
  try {
    await rm(path, { force: true });
  } catch (err) {
    if (isReadOnlyError(err)) throw notQuorateError(path, err);
    throw new AppError('STORE_FAILED', `Unable to remove ${path}: ${(err as Error).message}`, { cause: err });
  }
}
