import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { AppError } from '../errors.js';
import { emptyState, type StateDocument } from './model.js';

/**
 * The desired-state document, kept in one JSON file. Only this daemon writes it; every mutation
 * goes through `update`, which runs mutations one at a time and writes the file (lowdb writes a
 * temporary file and renames it, so a crash leaves either the old or the new document).
 */
export class StateStore {
  private readonly db: Low<StateDocument>;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(db: Low<StateDocument>) {
    this.db = db;
  }

  static async open(stateDir: string): Promise<StateStore> {
    await mkdir(stateDir, { recursive: true, mode: 0o750 });
    // Low with JSONFile directly: lowdb's JSONFilePreset silently keeps the data in memory
    // when NODE_ENV is "test".
    const db = new Low<StateDocument>(new JSONFile<StateDocument>(join(stateDir, 'state.json')), emptyState());
    try {
      await db.read();
    } catch (err) {
      throw new AppError('STORE_FAILED', `Unable to read the state file in ${stateDir}: ${(err as Error).message}; restore it from a backup or move it away to start empty`, {
        cause: err,
      });
    }
    if (db.data.version !== 1) {
      throw new AppError('STORE_FAILED', `The state file in ${stateDir} has version ${String(db.data.version)}, which this daemon does not know; install the matching pve-external-domains version`);
    }
    return new StateStore(db);
  }

  /** A deep copy of the current document, safe to read while mutations run. */
  snapshot(): StateDocument {
    return structuredClone(this.db.data);
  }

  /**
   * Runs `mutate` on the document and writes it. Mutations run one after another. If `mutate`
   * throws, nothing is written and the in-memory document is restored.
   */
  async update<T>(mutate: (state: StateDocument) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const before = structuredClone(this.db.data);
      let result: T;
      try {
        result = mutate(this.db.data);
      } catch (err) {
        this.db.data = before;
        throw err;
      }
      try {
        await this.db.write();
      } catch (err) {
        this.db.data = before;
        throw new AppError('STORE_FAILED', `Unable to write the state file: ${(err as Error).message}`, { cause: err });
      }
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
