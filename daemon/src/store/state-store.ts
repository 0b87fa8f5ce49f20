import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createDraft, current, finishDraft, isDraft } from 'immer';
import { ClusterLock, PMXCFS_LOCK_STALE_MS } from '../cluster/cluster-lock.js';
import { assertFileSize, assertWritable, removeFile, writeFileAtomic } from '../cluster/pmxcfs.js';
import { AppError } from '../errors.js';
import { emptyState, type StateDocument } from './model.js';
import { assembleState, changedFiles, CLUSTER_FILE, DOMAINS_DIR, parseStateFile, renderClusterFile, renderDomainFile, type ParsedStateFile } from './state-layout.js';

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

/** Number of state files read at once, because each read keeps a file descriptor open. */
const READ_CONCURRENCY = 32;
/** Interval of the full re-reads by `refresh`, which also catch changes a file's stat hides. */
const FULL_READ_INTERVAL_MS = 60_000;
/**
 * File that every write replaces last, with a random text. While its stamp stays the same no
 * node has finished a write, so a reload need not look at the other files. Reading or stat'ing
 * a thousand domain files on every write made each write cost as much as the whole state.
 */
const GENERATION_FILE = 'generation';

/** One state file as last read or written. */
interface StateFile {
  text: string;
  /** Inode, size and change times. A file with the same stamp is not read again. */
  stamp: string;
  /** Parsed and frozen content, or null until a reload needs it. */
  parsed: ParsedStateFile | null;
}

async function fileStamp(path: string): Promise<string> {
  const info = await stat(path, { bigint: true });
  return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Stamp of `path`, or null when it does not exist. */
async function stampIfExists(path: string): Promise<string | null> {
  try {
    return await fileStamp(path);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/**
 * Reads the state files. Unless `full` is set, a file whose stamp equals the one in `known` is
 * taken from there without reading it. A file read again with an unchanged text keeps its parsed
 * content.
 */
async function readStateFiles(stateDir: string, known: ReadonlyMap<string, StateFile>, full: boolean): Promise<Map<string, StateFile>> {
  let names: string[] = [];
  try {
    names = await readdir(join(stateDir, DOMAINS_DIR));
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  const paths = [CLUSTER_FILE, ...names.filter((item) => item.endsWith('.json')).sort().map((name) => `${DOMAINS_DIR}/${name}`)];
  const read = async (path: string): Promise<StateFile | null> => {
    const absolute = join(stateDir, path);
    try {
      const stamp = await fileStamp(absolute);
      const previous = known.get(path);
      if (!full && previous?.stamp === stamp) return previous;
      const text = await readFile(absolute, 'utf8');
      return { text, stamp, parsed: previous?.text === text ? previous.parsed : null };
    } catch (err) {
      // cluster.json is absent in a new folder, and another node may remove a domain file
      // between readdir and the read.
      if (isMissing(err)) return null;
      throw err;
    }
  };
  const results: Array<StateFile | null> = [];
  for (let start = 0; start < paths.length; start += READ_CONCURRENCY) {
    results.push(...(await Promise.all(paths.slice(start, start + READ_CONCURRENCY).map(read))));
  }
  const files = new Map<string, StateFile>();
  paths.forEach((path, index) => {
    const file = results[index];
    if (file !== null && file !== undefined) files.set(path, file);
  });
  return files;
}

/** Returns whether both sets contain the same paths with the same texts. */
function sameTexts(a: ReadonlyMap<string, StateFile>, b: ReadonlyMap<string, StateFile>): boolean {
  if (a.size !== b.size) return false;
  for (const [path, file] of a) if (b.get(path)?.text !== file.text) return false;
  return true;
}

/** Freezes `value` and everything reachable from it; returns `value`. Stops at frozen objects. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}

/** Builds the frozen document from the files, parsing those not parsed yet. */
function documentOf(files: ReadonlyMap<string, StateFile>): StateDocument {
  if (files.size === 0) return deepFreeze(emptyState());
  const parsed = new Map<string, ParsedStateFile>();
  for (const [path, file] of files) {
    file.parsed ??= deepFreeze(parseStateFile(path, file.text));
    parsed.set(path, file.parsed);
  }
  return deepFreeze(assembleState(parsed));
}

/**
 * Replaces the drafts in a mutation's result by plain copies of their current content, because
 * drafts stop working once the mutation is finished. Arrays and plain objects are copied.
 */
function detach<T>(value: T): T {
  if (isDraft(value)) return current(value as object) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => detach(item)) as T;
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, detach(item)])) as T;
  }
  return value;
}

/**
 * The desired-state document, shared by every node through the cluster filesystem and split
 * into files that each stay under pmxcfs's 1 MiB limit (see state-layout.ts). Reads use the copy
 * in memory, which `refresh` reloads from the files.
 *
 * The document in memory is frozen, and `update` changes it through an immer draft, which
 * copies only the objects a mutation changes and shares the rest. So a change costs about the
 * size of what it touches, and the files to write are found by comparing object identities
 * (`changedFiles`): only the changed domains' files are rendered. With thousands of services a
 * copy and a render of the whole document per change made every change cost as much as the
 * whole state.
 *
 * `update` runs mutations one at a time. It first tries the mutation on the document in memory
 * and writes nothing when no file would change. Otherwise it takes the cluster-wide state lock
 * and reloads the files, because another node may have written them. When they changed, it runs
 * the mutation again on the fresh document. It then writes only the files that changed.
 */
export class StateStore {
  private document: StateDocument;
  private files: Map<string, StateFile>;
  private lastFullRead = Date.now();
  /** Stamp of the generation file when the files were last read or written, or undefined when unknown. */
  private generation: string | null | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly reloadListeners: Array<(before: StateDocument, after: StateDocument) => void> = [];

  private constructor(
    readonly stateDir: string,
    private readonly lock: ClusterLock,
    files: Map<string, StateFile>,
  ) {
    this.files = files;
    this.document = documentOf(files);
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
    let files: Map<string, StateFile>;
    let generation: string | null;
    try {
      generation = await stampIfExists(join(stateDir, GENERATION_FILE));
      files = await readStateFiles(stateDir, new Map(), true);
    } catch (err) {
      throw new AppError('STORE_FAILED', `Unable to read the state files in ${stateDir}: ${(err as Error).message}; restore them from a backup or move them away to start empty`, { cause: err });
    }
    let store: StateStore;
    try {
      store = new StateStore(stateDir, lock, files);
    } catch (err) {
      throw new AppError('STORE_FAILED', `The state files in ${stateDir} are invalid: ${(err as Error).message}; install the matching pve-external-domains version or restore them from a backup`, { cause: err });
    }
    store.generation = generation;
    if (files.size === 0) await store.migrateLegacyFile();
    return store;
  }

  /**
   * Returns the current document. It is frozen, so changing it throws a TypeError: change the
   * state through `update` only. A later change replaces the document instead of changing it, so
   * it stays safe to read while mutations run. Objects that a change left alone are the same
   * instances in the documents before and after it.
   */
  snapshot(): StateDocument {
    return this.document;
  }

  /**
   * Runs `mutate` on a draft of the document and writes the files it changed. Mutations run one
   * after another, and `mutate` may run twice (on the document in memory, then on the reloaded
   * one), so it must only change the draft it is given. Objects it returns from the draft are
   * returned as plain copies. If `mutate` throws, nothing is written. Throws CLUSTER_NOT_QUORATE
   * while the cluster filesystem is read-only, STATE_TOO_LARGE when a file would exceed 1 MiB and
   * CLUSTER_LOCK_TIMEOUT when another node holds the lock too long.
   */
  async update<T>(mutate: (state: StateDocument) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const base = this.document;
      const trial = this.apply(base, mutate);
      if (trial.writes.size === 0) return trial.result;

      await assertWritable(this.stateDir);
      return this.lock.run(async () => {
        await this.reloadBeforeWrite(trial.writes.keys());
        const outcome = this.document === base ? trial : this.apply(this.document, mutate);
        if (outcome.writes.size === 0) return outcome.result;
        await this.write(outcome.writes);
        this.document = outcome.next;
        return outcome.result;
      });
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Reloads the files, picking up writes of other nodes. Returns whether the document changed.
   * Runs in the mutation queue, so it never interleaves with `update`. Files whose stat did not
   * change are not read, except once a minute, when all of them are.
   */
  async refresh(): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      if (Date.now() - this.lastFullRead >= FULL_READ_INTERVAL_MS) return this.reload(true);
      if ((await stampIfExists(join(this.stateDir, GENERATION_FILE))) === this.generation) return false;
      return this.reload(false);
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Registers `listener` for documents reloaded from changed files: by `refresh`, and by `update`,
   * which reloads before it writes. Both documents are frozen.
   */
  onReload(listener: (before: StateDocument, after: StateDocument) => void): void {
    this.reloadListeners.push(listener);
  }

  /**
   * Runs `mutate` on a draft of `base` and returns the new document, the mutation's result and
   * the files to write: path to new text, or null for a domain file to remove.
   */
  private apply<T>(base: StateDocument, mutate: (state: StateDocument) => T): { next: StateDocument; result: T; writes: Map<string, string | null> } {
    const draft = createDraft(base);
    const result = detach(mutate(draft));
    const next: StateDocument = finishDraft(draft);
    const writes = new Map<string, string | null>();
    if (next === base) return { next, result, writes };
    const candidates = changedFiles(base, next);
    // A folder written before by a version without cluster.json, or a new one, gets the file.
    if (!this.files.has(CLUSTER_FILE)) candidates.set(CLUSTER_FILE, null);
    for (const [path, domain] of candidates) {
      const text = domain === null ? renderClusterFile(next) : renderDomainFile(next, domain);
      if (text !== (this.files.get(path)?.text ?? null)) writes.set(path, text);
    }
    return { next, result, writes };
  }

  /**
   * Reloads the files before a write of `paths` when another writer may have changed them: when
   * the generation file changed, or when one of `paths` changed without it (a writer that failed
   * before its last step, or a hand edit).
   */
  private async reloadBeforeWrite(paths: Iterable<string>): Promise<void> {
    let stale = (await stampIfExists(join(this.stateDir, GENERATION_FILE))) !== this.generation;
    for (const path of paths) {
      if (stale) break;
      stale = (await stampIfExists(join(this.stateDir, path))) !== (this.files.get(path)?.stamp ?? null);
    }
    if (stale) await this.reload(false);
  }

  private async reload(full: boolean): Promise<boolean> {
    // Taken before the files are read, so that a write finishing meanwhile is seen next time.
    const generation = await stampIfExists(join(this.stateDir, GENERATION_FILE));
    const files = await readStateFiles(this.stateDir, this.files, full);
    this.generation = generation;
    if (full) this.lastFullRead = Date.now();
    if (sameTexts(files, this.files)) {
      // Same content; keep the new stamps so that the files are not read again.
      this.files = files;
      return false;
    }
    const document = documentOf(files);
    const before = this.document;
    this.files = files;
    this.document = document;
    for (const listener of this.reloadListeners) listener(before, document);
    return true;
  }

  /**
   * Writes the changed files (null: remove the file). Sizes are checked before the first
   * write. Domain files go first, then cluster.json, then the removals, then the generation file.
   */
  private async write(writes: Map<string, string | null>): Promise<void> {
    for (const [path, text] of writes) if (text !== null) assertFileSize(join(this.stateDir, path), text);
    await mkdir(join(this.stateDir, DOMAINS_DIR), { recursive: true, mode: 0o750 });
    // NOTE: pmxcfs has no multi-file transaction. A failure between two renames leaves some
    // files new and some old. The memory copy keeps the old document, and the next reload
    // reads what was written.
    const rank = (path: string): number => {
      if (writes.get(path) === null) return 2;
      return path === CLUSTER_FILE ? 1 : 0;
    };
    const ordered = [...writes.keys()].sort((a, b) => rank(a) - rank(b));
    const files = new Map(this.files);
    try {
      for (const path of ordered) {
        const text = writes.get(path) ?? null;
        const absolute = join(this.stateDir, path);
        if (text === null) {
          await removeFile(absolute);
          files.delete(path);
        } else {
          await writeFileAtomic(absolute, text);
          files.set(path, { text, stamp: await fileStamp(absolute), parsed: null });
        }
      }
      const generation = join(this.stateDir, GENERATION_FILE);
      await writeFileAtomic(generation, `${randomBytes(12).toString('hex')}\n`);
      this.generation = await fileStamp(generation);
    } catch (err) {
      // Forget what was read, so that the next reload reads every file as it is now.
      this.files = new Map();
      this.generation = undefined;
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
