import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AppError } from '../errors.js';
import { fileKey } from '../names.js';

export type SecretKind = 'cloudflare' | 'acme-account' | 'certificate-key' | 'certificate-order-key';

/**
 * Secrets kept as root-only files (mode 0600 in 0700 folders), one file per secret, so that the
 * state document never holds one and a listing of the state cannot leak one.
 */
export class SecretStore {
  constructor(private readonly dir: string) {}

  private pathOf(kind: SecretKind, name: string): string {
    return join(this.dir, kind, `${fileKey(name)}.secret`);
  }

  async write(kind: SecretKind, name: string, value: string): Promise<void> {
    const path = this.pathOf(kind, name);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.tmp.${randomBytes(6).toString('hex')}`;
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(value, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  }

  /** Returns the secret, or null when it does not exist. */
  async read(kind: SecretKind, name: string): Promise<string | null> {
    try {
      return await readFile(this.pathOf(kind, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new AppError('STORE_FAILED', `Unable to read the ${kind} secret of ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Returns the secret, or throws when it is missing. */
  async require(kind: SecretKind, name: string): Promise<string> {
    const value = await this.read(kind, name);
    if (value === null) {
      throw new AppError('STORE_FAILED', `The ${kind} secret of ${name} is missing from ${join(this.dir, kind)}; set it again through the API`);
    }
    return value;
  }

  /** Removes the secret; removing a missing secret succeeds. */
  async remove(kind: SecretKind, name: string): Promise<void> {
    await rm(this.pathOf(kind, name), { force: true });
  }
}
