import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClusterLock, PMXCFS_LOCK_STALE_MS } from '../cluster/cluster-lock.js';
import { assertFileSize, assertWritable, removeFile, writeFileAtomic } from '../cluster/pmxcfs.js';
import { AppError } from '../errors.js';
import { emptyState, type StateDocument } from './model.js';
import { CLUSTER_FILE, DOMAINS_DIR, joinState, splitState } from './state-layout.js';

/** The single-file state of earlier versions, split into the layout on first start. */
const LEGACY_FILE = 'state.json';
/** Lock directory name of state writes, in PVE's `file-<name>` style. */
const STATE_LOCK_ID = 'file-pve-domains_state';

export interface StateStoreOptions {
  /** Folder of cluster lock directories; `<parent of stateDir>/priv/lock` when absent, /etc/pve/priv/lock on a node. */
  lockDir?: string;
  /** Age after which a lock directory is stale; pmxcfs uses 120 s. */
  lockStaleMs?: number;
  /** How long a write waits for the state lock. */
  lockTimeoutMs?: number;
  /**
   * Node-local file recording that this daemon holds the state lock. At open, a lock that a killed
   * predecessor left is removed at once instead of blocking writes until it is stale.
   */
  lockOwnerFile?: string;
}

/** Default lock folder: /etc/pve/priv/lock for the state folder /etc/pve/pve-domains. */
export function defaultLockDir(stateDir: string): string {
  return join(dirname(stateDir), 'priv', 'lock');
}

async function readStateFiles(stateDir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  try {
    files.set(CLUSTER_FILE, await readFile(join(stateDir, CLUSTER_FILE), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let names: string[] = [];
  try {
    names = await readdir(join(stateDir, DOMAINS_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of names.filter((item) => item.endsWith('.json')).sort()) {
    try {
      files.set(`${DOMAINS_DIR}/${name}`, await readFile(join(stateDir, DOMAINS_DIR, name), 'utf8'));
    } catch (err) {
      // Another node may remove a domain file between readdir and readFile.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return files;
}

function sameFiles(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [path, text] of a) if (b.get(path) !== text) return false;
  return true;
}

/**
 * The desired-state document, shared by every node through the cluster filesystem and split
 * into files that each stay under pmxcfs's 1 MiB limit (see state-layout.ts). Reads use the copy
 * in memory, which `refresh` reloads from the files. `update` runs mutations one at a time. It
 * first tries the mutation on a copy and writes nothing when no file would change. Otherwise it
 * takes the cluster-wide state lock and reloads the files, because another node may have
 * written them. It then runs the mutation again on the fresh document and writes only the files
 * that changed.
 */
/** Freezes `value` and everything reachable from it; returns `value`. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}

export class StateStore {
  private document: StateDocument;
  private files: Map<string, string>;
  private queue: Promise<unknown> = Promise.resolve();
  /** The frozen copy `snapshot` hands out; null after every change of `document`. */
  private sharedCopy: StateDocument | null = null;
  private readonly reloadListeners: Array<(before: StateDocument, after: StateDocument) => void> = [];

  private constructor(
    readonly stateDir: string,
    private readonly lock: ClusterLock,
    files: Map<string, string>,
  ) {
    this.files = files;
    this.document = files.size === 0 ? emptyState() : joinState(files);
  }

  static async open(stateDir: string, options: StateStoreOptions = {}): Promise<StateStore> {
    await mkdir(stateDir, { recursive: true, mode: 0o750 });
    const lock = new ClusterLock(STATE_LOCK_ID, {
      lockDir: options.lockDir ?? defaultLockDir(stateDir),
      staleMs: options.lockStaleMs ?? PMXCFS_LOCK_STALE_MS,
      timeoutMs: options.lockTimeoutMs ?? 10_000,
      retryMs: 500,
      ...(options.lockOwnerFile === undefined ? {} : { ownerFile: options.lockOwnerFile }),
    });
    await lock.removeAbandoned();
    let files: Map<string, string>;
    try {
      files = await readStateFiles(stateDir);
    } catch (err) {
      throw new AppError('STORE_FAILED', `Unable to read the state files in ${stateDir}: ${(err as Error).message}; restore them from a backup or move them away to start empty`, { cause: err });
    }
    let store: StateStore;
    try {
      store = new StateStore(stateDir, lock, files);
    } catch (err) {
      throw new AppError('STORE_FAILED', `The state files in ${stateDir} are invalid: ${(err as Error).message}; install the matching pve-external-domains version or restore them from a backup`, { cause: err });
    }
    if (files.size === 0) await store.migrateLegacyFile();
    return store;
  }

  /**
   * Returns a read-only copy of the current document, safe to read while mutations run. The copy
   * is made once per change and shared by every caller until the next one, because the reconciler
   * reads the state many times per service and a copy per read grows with the square of the
   * number of services. It is frozen: changing it throws a TypeError, so change the state
   * through `update` only.
   */
  snapshot(): StateDocument {
    this.sharedCopy ??= deepFreeze(structuredClone(this.document));
    return this.sharedCopy;
  }

  /**
   * Runs `mutate` on the document and writes the files it changed. Mutations run one after
   * another, and `mutate` may run twice (on a copy, then on the reloaded document), so it must
   * only change the document it is given. If `mutate` throws, nothing is written. Throws
   * CLUSTER_NOT_QUORATE while the cluster filesystem is read-only, STATE_TOO_LARGE when a file
   * would exceed 1 MiB and CLUSTER_LOCK_TIMEOUT when another node holds the lock too long.
   */
  async update<T>(mutate: (state: StateDocument) => T): Promise<T> {
    // NOTE: every update copies the whole document and renders every domain file to find what
    // changed, so its cost grows with the number of services. With 2,000 services a restart
    // brings about 1.6 routes per second live (npm run bench:scale). Rendering only the files of
    // the domains a mutation touched would remove most of that cost.
    const run = async (): Promise<T> => {
      const trial = structuredClone(this.document);
      const trialResult = mutate(trial);
      if (sameFiles(splitState(trial), this.files)) return trialResult;

      await assertWritable(this.stateDir);
      return this.lock.run(async () => {
        await this.reload();
        const next = structuredClone(this.document);
        const result = mutate(next);
        await this.write(splitState(next));
        this.document = next;
        this.sharedCopy = null;
        return result;
      });
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Reloads the files, picking up writes of other nodes. Returns whether the document changed.
   * Runs in the mutation queue, so it never interleaves with `update`.
   */
  async refresh(): Promise<boolean> {
    const run = async (): Promise<boolean> => this.reload();
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Registers `listener` for documents reloaded from changed files: by `refresh`, and by `update`,
   * which reloads before it writes. Both documents are copies.
   */
  onReload(listener: (before: StateDocument, after: StateDocument) => void): void {
    this.reloadListeners.push(listener);
  }

  private async reload(): Promise<boolean> {
    const files = await readStateFiles(this.stateDir);
    if (sameFiles(files, this.files)) return false;
    const document = files.size === 0 ? emptyState() : joinState(files);
    const before = this.document;
    this.files = files;
    this.document = document;
    this.sharedCopy = null;
    for (const listener of this.reloadListeners) listener(structuredClone(before), structuredClone(document));
    return true;
  }

  /**
   * Writes every changed file and removes the domain files that are gone. Sizes are checked
   * before the first write. Domain files go first and cluster.json last.
   */
  private async write(files: Map<string, string>): Promise<void> {
    for (const [path, text] of files) assertFileSize(join(this.stateDir, path), text);
    await mkdir(join(this.stateDir, DOMAINS_DIR), { recursive: true, mode: 0o750 });
    // NOTE: pmxcfs has no multi-file transaction. A failure between two renames leaves some
    // files new and some old. The memory copy keeps the old document, and the next reload
    // reads what was written.
    const ordered = [...files.keys()].sort((a, b) => Number(a === CLUSTER_FILE) - Number(b === CLUSTER_FILE));
    try {
      for (const path of ordered) {
        const text = files.get(path) ?? '';
        if (this.files.get(path) !== text) await writeFileAtomic(join(this.stateDir, path), text);
      }
      for (const path of this.files.keys()) {
        if (!files.has(path)) await removeFile(join(this.stateDir, path));
      }
    } catch (err) {
      // Forget what was read, so that the next reload takes the files as they are now.
      this.files = new Map();
      throw err;
    }
    this.files = files;
  }

  /** Splits the single state.json of earlier versions, keeping it as state.json.pre-split.bak. */
  private async migrateLegacyFile(): Promise<void> {
    const legacyPath = join(this.stateDir, LEGACY_FILE);
    let text: string;
    try {
      text = await readFile(legacyPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new AppError('STORE_FAILED', `Unable to read ${legacyPath}: ${(err as Error).message}`, { cause: err });
    }
    let legacy: StateDocument;
    try {
      legacy = JSON.parse(text) as StateDocument;
    } catch (err) {
      throw new AppError('STORE_FAILED', `Unable to parse ${legacyPath}: ${(err as Error).message}; restore it from a backup or move it away to start empty`, { cause: err });
    }
    if (legacy.version !== 1) {
      throw new AppError('STORE_FAILED', `The state file ${legacyPath} has version ${String(legacy.version)}, which this daemon does not know; install the matching pve-external-domains version`);
    }
    await this.update((state) => {
      Object.assign(state, legacy);
    });
    await rename(legacyPath, `${legacyPath}.pre-split.bak`);
  }
}
