import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../cluster/pmxcfs.js';
import { fileKey } from '../names.js';
import type { SecretStore } from './secret-store.js';

export interface CertificatePair {
  chainPem: string;
  keyPem: string;
}

/**
 * Issued certificates: the chain in the state folder, the private key in the secret store.
 * The key is written first, so a chain on disk always has its key.
 */
export class CertificateFiles {
  private readonly dir: string;

  constructor(stateDir: string, private readonly secrets: SecretStore) {
    this.dir = join(stateDir, 'certificates');
  }

  async save(id: string, pair: CertificatePair): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o750 });
    await this.secrets.write('certificate-key', id, pair.keyPem);
    await writeFileAtomic(join(this.dir, `${fileKey(id)}.pem`), pair.chainPem, 0o640);
  }

  /** Returns the chain and key of `id`, or null when either is missing. */
  async load(id: string): Promise<CertificatePair | null> {
    let chainPem: string;
    try {
      chainPem = await readFile(join(this.dir, `${fileKey(id)}.pem`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const keyPem = await this.secrets.read('certificate-key', id);
    return keyPem === null ? null : { chainPem, keyPem };
  }

  /** Removes chain and key; removing a missing certificate succeeds. */
  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${fileKey(id)}.pem`), { force: true });
    await this.secrets.remove('certificate-key', id);
  }
}
