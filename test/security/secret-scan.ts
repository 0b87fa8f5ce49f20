import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A value that must not leave its store, with a name for messages that never print it. */
export interface Secret {
  name: string;
  value: string;
}

/** Windows of this many characters of a secret count as a leak; four are shown on purpose as hints. */
const windowLength = 8;

/** Markers of private key material in PEM or OpenSSH form. */
const privateKeyMarker = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Returns what `text` leaks: the name of the first secret of which it contains eight characters in
 * a row, or "a private key". Returns null when it contains none. Secrets shorter than eight characters are
 * looked for whole.
 */
export function findSecret(text: string, secrets: readonly Secret[]): string | null {
  if (privateKeyMarker.test(text)) return 'a private key';
  for (const secret of secrets) {
    const value = secret.value.trim();
    if (value === '') continue;
    if (value.length <= windowLength) {
      if (text.includes(value)) return secret.name;
      continue;
    }
    for (let start = 0; start + windowLength <= value.length; start++) {
      if (text.includes(value.slice(start, start + windowLength))) return `${windowLength} characters of ${secret.name}`;
    }
  }
  return null;
}

export interface FoundFile {
  path: string;
  mode: number;
  uid: number;
  kind: 'file' | 'socket' | 'directory' | 'other';
}

/** Lists every entry below `root`, without following symbolic links; a missing root gives none. */
export async function walk(root: string): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return found;
    throw err;
  }
  for (const name of names) {
    const path = join(root, name);
    const stats = await lstat(path);
    const kind = stats.isFile() ? 'file' : stats.isSocket() ? 'socket' : stats.isDirectory() ? 'directory' : 'other';
    found.push({ path, mode: stats.mode & 0o7777, uid: stats.uid, kind });
    if (kind === 'directory') found.push(...(await walk(path)));
  }
  return found;
}

/** Reads a file as text for scanning; binary content is scanned as latin1 so no byte is lost. */
export async function readForScan(path: string): Promise<string> {
  return (await readFile(path)).toString('latin1');
}
