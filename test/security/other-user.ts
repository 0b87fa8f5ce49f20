import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The unprivileged account the probes run as (Debian's `nobody`). */
export const nobodyId = 65534;
const setpriv = '/usr/bin/setpriv';

/** Why probes as another user cannot run here, or null when they can. */
export function otherUserUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'changing to another user needs root';
  if (!existsSync(setpriv)) return `${setpriv} is missing (Debian package util-linux)`;
  return null;
}

// Prints "connected" or the error code of connecting to the unix socket in argv[1].
const connectScript = [
  "const socket = require('node:net').connect(process.argv[1]);",
  "socket.on('connect', () => { console.log('connected'); socket.destroy(); });",
  "socket.on('error', (err) => console.log(err.code));",
].join(' ');

/**
 * Connects to the unix socket `path` from a child process that runs as `nobody` with no
 * supplementary groups, and returns "connected" or the error code (such as EACCES).
 */
export function connectAsNobody(path: string): string {
  const result = spawnSync(setpriv, [`--reuid=${nobodyId}`, `--regid=${nobodyId}`, '--clear-groups', '--', process.execPath, '-e', connectScript, path], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (result.error !== undefined) throw new Error(`cannot run ${setpriv} as nobody: ${result.error.message}`);
  const output = result.stdout.trim();
  if (output === '') throw new Error(`the probe as nobody printed nothing (status ${String(result.status)}): ${result.stderr.trim()}`);
  return output;
}
