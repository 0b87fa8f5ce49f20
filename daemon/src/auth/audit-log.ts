import { appendFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One change request as the audit log records it. */
export interface AuditEntry {
  /** ISO 8601 time of the response. */
  time: string;
  /** `user@realm`, `user@realm!token`, or `root@pam (socket)` for the local CLI. */
  user: string;
  /** Such as `domain.create` or `service.delete`. */
  action: string;
  /** The domain or service name the request names, or '' when it names none. */
  object: string;
  result: 'ok' | 'denied' | 'failed';
  /** HTTP status of the response. */
  status: number;
  /** The error message of a refused or failed request. */
  message?: string;
}

export interface AuditLogOptions {
  /** Size at which the file is rotated to `<file>.1`, replacing the previous rotation. */
  maxBytes?: number;
}

/** Default rotation size: two generations stay far below pmxcfs's 1 MiB limit per file. */
const defaultMaxBytes = 256 * 1024;

function isAuditEntry(value: unknown): value is AuditEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry['time'] === 'string' && typeof entry['user'] === 'string' && typeof entry['action'] === 'string';
}

function parseLines(text: string): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isAuditEntry(value)) entries.push(value);
    } catch {
      // A line cut short by a crash during an append is skipped.
    }
  }
  return entries;
}

async function readIfPresent(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/**
 * An append-only log of change requests, one JSON object per line, rotated to `<file>.1` when it
 * reaches its size bound. Appends are serialized within this process.
 * NOTE: several daemons that append to one file on the cluster filesystem are not coordinated.
 * A cluster needs one file per node, or the cluster lock around each append.
 */
export class AuditLog {
  readonly #file: string;
  readonly #maxBytes: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(file: string, options: AuditLogOptions = {}) {
    this.#file = file;
    this.#maxBytes = options.maxBytes ?? defaultMaxBytes;
  }

  get file(): string {
    return this.#file;
  }

  /** Appends one entry; the promise settles when the line is written or the write failed. */
  append(entry: AuditEntry): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const write = this.#queue.then(() => this.#write(line));
    this.#queue = write.catch(() => undefined);
    return write;
  }

  /** Returns the newest `limit` entries, oldest first, from the rotated file and the current one. */
  async read(limit: number): Promise<AuditEntry[]> {
    await this.#queue;
    const text = (await readIfPresent(`${this.#file}.1`)) + (await readIfPresent(this.#file));
    const entries = parseLines(text);
    return entries.slice(Math.max(0, entries.length - limit));
  }

  async #write(line: string): Promise<void> {
    await mkdir(dirname(this.#file), { recursive: true });
    let size = 0;
    try {
      size = (await stat(this.#file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (size > 0 && size + Buffer.byteLength(line) > this.#maxBytes) await rename(this.#file, `${this.#file}.1`);
    await appendFile(this.#file, line, { mode: 0o640 });
  }
}
