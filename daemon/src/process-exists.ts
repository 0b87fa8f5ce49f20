/**
 * Returns true when a process with `pid` exists. Signal 0 only probes; EPERM means the process
 * exists but belongs to another user.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
