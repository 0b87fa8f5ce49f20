import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../proxy/atomic-file.js';
import { formatUpid, processStartTicks } from './upid.js';

/** Long operations recorded as tasks. */
export type TaskType = 'verify' | 'issue' | 'renew';

/** One task as `GET /tasks` lists it. */
export interface TaskRecord {
  upid: string;
  type: TaskType;
  id: string;
  node: string;
  user: string;
  pid: number;
  pstart: number;
  /** Unix seconds. */
  starttime: number;
  /** Unix seconds; absent while the task runs. */
  endtime?: number;
  /** `running`, `OK`, or the error text of a failed task, as PVE's exit status. */
  status: string;
}

/** One line of a task log, numbered from 1 as PVE's task log API numbers them. */
export interface TaskLine {
  n: number;
  t: string;
}

/** A running task: log lines go to its log file, and finish() records the outcome. */
export interface TaskHandle {
  readonly upid: string;
  log(text: string): void;
  /** Ends the task with `OK`, or with the error's message when `error` is given. */
  finish(error?: unknown): void;
}

export interface TaskStoreOptions {
  /** PVE node name, part of every task id. */
  node: string;
  /** Finished tasks kept with their logs; older ones are removed. */
  keep?: number;
  /** Lines kept per task log; later lines are dropped, except the final TASK line. */
  maxLines?: number;
  /** Clock in milliseconds; defaults to Date.now. */
  now?: () => number;
  /** Removes credentials from log lines and error texts before they are stored. */
  redact?: (text: string) => string;
  logger?: Logger;
}

/** Exit status of a task that was running when the daemon stopped, as PVE reports such tasks. */
export const INTERRUPTED_STATUS = 'unexpected status';

const indexFile = 'index.json';

/** A task handle that records nothing, for callers built without a task store. */
export const noTask: TaskHandle = { upid: '', log: () => undefined, finish: () => undefined };

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

/**
 * Tasks of this node with their logs, kept in a node-local folder rather than the cluster
 * filesystem, whose files are small and shared. `index.json` lists the tasks, and one
 * `<hash>.log` file per task contains its lines. Writes are queued, so the index has one writer
 * at a time.
 */
export class TaskStore {
  private readonly records: TaskRecord[];
  private readonly lineCounts = new Map<string, number>();
  private writes: Promise<void> = Promise.resolve();
  private readonly pstart = processStartTicks();
  private readonly keep: number;
  private readonly maxLines: number;
  private readonly now: () => number;

  private constructor(
    private readonly dir: string,
    private readonly options: TaskStoreOptions,
    records: TaskRecord[],
  ) {
    this.records = records;
    this.keep = options.keep ?? 200;
    this.maxLines = options.maxLines ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Opens the store in `dir`, creating it; tasks left running by an earlier process are marked interrupted. */
  static async open(dir: string, options: TaskStoreOptions): Promise<TaskStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let records: TaskRecord[] = [];
    try {
      const parsed: unknown = JSON.parse(await readFile(join(dir, indexFile), 'utf8'));
      if (Array.isArray(parsed)) records = parsed as TaskRecord[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        options.logger?.warn({ err, dir }, 'unable to read the task index; starting an empty task list');
      }
    }
    const store = new TaskStore(dir, options, records);
    const stopped = Math.floor(store.now() / 1000);
    let changed = false;
    for (const record of records) {
      if (record.status !== 'running') continue;
      record.status = INTERRUPTED_STATUS;
      record.endtime = stopped;
      changed = true;
    }
    if (changed) await store.enqueue(() => store.writeIndex());
    return store;
  }

  /** Starts a task and returns its handle; the index is written in the background. */
  start(type: TaskType, id: string, user: string): TaskHandle {
    let starttime = Math.floor(this.now() / 1000);
    const fields = { node: this.options.node, pid: process.pid, pstart: this.pstart, type, id, user };
    let upid = formatUpid({ ...fields, starttime });
    // Two tasks of one type and object in one second would share an id; the later one moves on a second.
    while (this.records.some((record) => record.upid === upid)) {
      starttime += 1;
      upid = formatUpid({ ...fields, starttime });
    }

    const record: TaskRecord = { upid, type, id, node: this.options.node, user, pid: process.pid, pstart: this.pstart, starttime, status: 'running' };
    this.records.push(record);
    this.lineCounts.set(upid, 0);
    const removed = this.prune();
    void this.enqueue(async () => {
      await this.writeIndex();
      for (const old of removed) await rm(this.logPath(old.upid), { force: true });
    });

    let finished = false;
    return {
      upid,
      log: (text) => {
        if (!finished) this.append(upid, text, false);
      },
      finish: (error) => {
        if (finished) return;
        finished = true;
        record.status = error === undefined ? 'OK' : this.redact(errorText(error));
        record.endtime = Math.floor(this.now() / 1000);
        this.append(upid, error === undefined ? 'TASK OK' : `TASK ERROR: ${record.status}`, true);
        this.lineCounts.delete(upid);
        void this.enqueue(() => this.writeIndex());
      },
    };
  }

  /** Returns every kept task, the newest first. */
  list(): TaskRecord[] {
    return [...this.records].sort((first, second) => second.starttime - first.starttime || (first.upid < second.upid ? 1 : -1)).map((record) => ({ ...record }));
  }

  get(upid: string): TaskRecord | undefined {
    const record = this.records.find((item) => item.upid === upid);
    return record === undefined ? undefined : { ...record };
  }

  /** Reads `limit` lines of a task log from line number `start` + 1, and the number of lines in total. */
  async readLog(upid: string, start = 0, limit = 50): Promise<{ lines: TaskLine[]; total: number }> {
    await this.writes;
    let text = '';
    try {
      text = await readFile(this.logPath(upid), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const all = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    const lines = all.slice(start, start + limit).map((t, index) => ({ n: start + index + 1, t }));
    return { lines, total: all.length };
  }

  /** Waits until every queued write is on disk. */
  async flush(): Promise<void> {
    await this.writes;
  }

  private append(upid: string, text: string, final: boolean): void {
    const lines = this.redact(text).split(/\r?\n/);
    const count = this.lineCounts.get(upid) ?? 0;
    let kept = lines;
    if (!final) {
      // A count above maxLines means the truncation notice is already written.
      if (count > this.maxLines) return;
      kept = lines.slice(0, this.maxLines - count);
      if (kept.length < lines.length) kept.push(`log truncated after ${this.maxLines} lines`);
      this.lineCounts.set(upid, count + kept.length);
    }
    if (kept.length === 0) return;
    const path = this.logPath(upid);
    void this.enqueue(() => appendFile(path, `${kept.join('\n')}\n`, { mode: 0o600 }));
  }

  /** Drops the oldest finished tasks beyond `keep`; returns them so that their logs are removed. */
  private prune(): TaskRecord[] {
    const finished = this.records.filter((record) => record.status !== 'running').sort((first, second) => first.starttime - second.starttime);
    const excess = this.records.length - this.keep;
    if (excess <= 0) return [];
    const removed = finished.slice(0, excess);
    for (const record of removed) this.records.splice(this.records.indexOf(record), 1);
    return removed;
  }

  private redact(text: string): string {
    return this.options.redact === undefined ? text : this.options.redact(text);
  }

  private logPath(upid: string): string {
    return join(this.dir, `${createHash('sha256').update(upid).digest('hex').slice(0, 32)}.log`);
  }

  private async writeIndex(): Promise<void> {
    await writeFileAtomic(join(this.dir, indexFile), `${JSON.stringify(this.records)}\n`);
  }

  private enqueue(write: () => Promise<void>): Promise<void> {
    const next = this.writes.then(write).catch((err: unknown) => {
      this.options.logger?.error({ err, dir: this.dir }, 'unable to write the task list or a task log');
    });
    this.writes = next;
    return next;
  }
}

/**
 * Returns a handle that starts its task at the first log line, so that an operation refused
 * before doing anything (a backoff that has not run out) leaves no task behind. finish() on a
 * handle that never logged records nothing.
 */
export function lazyTask(store: TaskStore, type: TaskType, id: string, user: string): TaskHandle {
  let task: TaskHandle | null = null;
  return {
    get upid() {
      return task?.upid ?? '';
    },
    log: (text) => {
      task ??= store.start(type, id, user);
      task.log(text);
    },
    finish: (error) => task?.finish(error),
  };
}

/**
 * Runs `work` as a task of `store`, or without a task when `store` is undefined. The task ends
 * with OK when `work` resolves and with the error when it throws; the error is re-thrown. With
 * `lazy`, the task starts at its first log line (see lazyTask).
 */
export async function runTask<T>(store: TaskStore | undefined, type: TaskType, id: string, user: string, work: (task: TaskHandle) => Promise<T>, lazy = false): Promise<T> {
  let task = noTask;
  if (store !== undefined) task = lazy ? lazyTask(store, type, id, user) : store.start(type, id, user);
  try {
    const result = await work(task);
    task.finish();
    return result;
  } catch (err) {
    task.finish(err);
    throw err;
  }
}
