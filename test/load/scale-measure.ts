import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { MAX_FILE_BYTES, MAX_FILESYSTEM_BYTES } from '../../daemon/src/cluster/pmxcfs.js';
import type { Sandbox } from '../sandbox/sandbox.js';

/** Measurements shared by the scale benchmark and the scale test. */

export interface LatencySummary {
  calls: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

/** Returns the value at quantile `q` (0..1) of `values`, nearest-rank method. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Times `calls` sequential GETs of `path` through the daemon's unix socket; each must return 200. */
export async function measureList(sandbox: Sandbox, path: string, calls: number): Promise<LatencySummary> {
  const times: number[] = [];
  for (let call = 0; call < calls; call++) {
    const startedAt = performance.now();
    const answer = await sandbox.api('GET', path);
    times.push(performance.now() - startedAt);
    if (answer.status !== 200) throw new Error(`GET ${path} returned ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}`);
  }
  return { calls, medianMs: quantile(times, 0.5), p99Ms: quantile(times, 0.99), maxMs: quantile(times, 1) };
}

export interface StateSizes {
  fileCount: number;
  /** Every file under the state and secrets folders, both of which live in /etc/pve on a node. */
  totalBytes: number;
  largestFile: { path: string; bytes: number };
  /** Bytes the services take in the domain files, divided by the number of services. */
  bytesPerService: number;
  /** Metadata and renewal bookkeeping in the domain files, plus the chain file and the key file, per certificate. */
  bytesPerCertificate: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

async function listFiles(dir: string): Promise<Array<{ path: string; bytes: number }>> {
  const found: Array<{ path: string; bytes: number }> = [];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return found;
    throw err;
  }
  for (const name of entries) {
    const path = join(dir, name);
    const info = await stat(path);
    if (info.isDirectory()) found.push(...(await listFiles(path)));
    else found.push({ path, bytes: info.size });
  }
  return found;
}

/** Byte length of `file` as StateStore writes it (two-space JSON and a newline), without `keys`. */
function bytesWithout(file: Record<string, unknown>, keys: string[]): number {
  const copy: Record<string, unknown> = { ...file };
  for (const key of keys) copy[key] = [];
  return Buffer.byteLength(`${JSON.stringify(copy, null, 2)}\n`);
}

/** Sizes of the state as written, against pmxcfs's limits (1 MiB per file, 128 MiB in total). */
export async function measureStateSizes(stateDir: string, secretsDir: string): Promise<StateSizes> {
  const files = [...(await listFiles(stateDir)), ...(await listFiles(secretsDir))];
  let largest = { path: '', bytes: 0 };
  let totalBytes = 0;
  for (const file of files) {
    totalBytes += file.bytes;
    if (file.bytes > largest.bytes) largest = { path: relative(stateDir, file.path), bytes: file.bytes };
  }

  let serviceBytes = 0;
  let services = 0;
  let certificateStateBytes = 0;
  let certificates = 0;
  const domainFiles = files.filter((file) => file.path.startsWith(join(stateDir, 'domains') + '/') && file.path.endsWith('.json'));
  for (const file of domainFiles) {
    const parsed = JSON.parse(await readFile(file.path, 'utf8')) as Record<string, unknown>;
    serviceBytes += file.bytes - bytesWithout(parsed, ['services']);
    certificateStateBytes += file.bytes - bytesWithout(parsed, ['certificates', 'certificateLifecycles']);
    services += Array.isArray(parsed['services']) ? parsed['services'].length : 0;
    certificates += Array.isArray(parsed['certificates']) ? parsed['certificates'].length : 0;
  }
  const chainBytes = files.filter((file) => file.path.startsWith(join(stateDir, 'certificates') + '/')).reduce((sum, file) => sum + file.bytes, 0);
  const keyBytes = files.filter((file) => file.path.startsWith(join(secretsDir, 'certificate-key') + '/')).reduce((sum, file) => sum + file.bytes, 0);

  return {
    fileCount: files.length,
    totalBytes,
    largestFile: largest,
    bytesPerService: services === 0 ? 0 : serviceBytes / services,
    bytesPerCertificate: certificates === 0 ? 0 : (certificateStateBytes + chainBytes + keyBytes) / certificates,
    maxFileBytes: MAX_FILE_BYTES,
    maxTotalBytes: MAX_FILESYSTEM_BYTES,
  };
}

/** Resident set size of process `pid` in bytes, read from /proc (Linux only). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`unable to read VmRSS of process ${pid} from /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Reads the daemon's PID from the PID file it writes under the sandbox's run folder. */
export async function daemonPid(sandbox: Sandbox): Promise<number> {
  const text = await readFile(join(sandbox.dir, 'run', 'pve-domainsd.pid'), 'utf8');
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`the daemon PID file contains "${text.trim()}", not a process id`);
  return pid;
}

/**
 * Polls GET /services until every listed service has a live route in HAProxy or `timeoutMs`
 * passes. Returns the elapsed time and how many routes were live at the end. The pause between
 * polls is at least four times the last call, so that on a large store the polling does not take
 * most of the daemon's time away from the reconciler it measures.
 */
export async function waitForLiveRoutes(sandbox: Sandbox, expected: number, timeoutMs: number, onProgress?: (live: number, elapsedMs: number) => void): Promise<{ live: number; elapsedMs: number; complete: boolean }> {
  const startedAt = performance.now();
  let live = 0;
  let lastReport = 0;
  while (performance.now() - startedAt < timeoutMs) {
    const callStartedAt = performance.now();
    const answer = await sandbox.api('GET', '/services').catch(() => null);
    const callMs = performance.now() - callStartedAt;
    const list = Array.isArray(answer?.body.data) ? (answer.body.data as Array<{ live?: unknown }>) : [];
    live = list.filter((item) => item.live !== null && item.live !== undefined).length;
    const elapsedMs = performance.now() - startedAt;
    if (live >= expected) return { live, elapsedMs, complete: true };
    if (onProgress !== undefined && elapsedMs - lastReport > 10_000) {
      lastReport = elapsedMs;
      onProgress(live, elapsedMs);
    }
    // A list of 10,000 services keeps the daemon busy for about a second, so polls are spaced
    // to take at most a tenth of its time from the reconcile being measured.
    await new Promise((resolve) => setTimeout(resolve, Math.max(1000, 10 * callMs)));
  }
  return { live, elapsedMs: performance.now() - startedAt, complete: false };
}
