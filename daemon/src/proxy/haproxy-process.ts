import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

import type { Logger } from 'pino';

import type { ProxyPaths } from './paths.js';
import { RuntimeApiClient, type RuntimeApi } from './runtime-api.js';

/**
 * One HAProxy master-worker process tree started as a child of the daemon: the master (`-W`) stays
 * in the foreground (`-db`), opens the master CLI (`-S`) and forks the worker that serves traffic
 * and the admin socket.
 */

export interface HaproxyProcessOptions {
  binary: string;
  paths: ProxyPaths;
  logger: Logger;
  /** Maximum wait for a new worker to respond on the admin socket after start or reload. */
  readyTimeoutMs: number;
  /** Wait after SIGTERM before SIGKILL. */
  stopGraceMs: number;
  /** Admin socket client used for readiness checks. */
  runtimeApi: RuntimeApi;
}

const OUTPUT_LINES_KEPT = 30;
const POLL_INTERVAL_MS = 25;
const CHECK_TIMEOUT_MS = 300_000;

/** HAProxy output line: `[NOTICE]   (1234) : New worker (1236) forked`. */
const OUTPUT_LINE = /^\[(NOTICE|WARNING|ALERT|INFO|DEBUG|EMERG)\]\s*\((\d+)\)\s*:\s*(.*)$/;

/** Returns whether `pid` names a live process; a zombie counts as exited (Linux /proc only). */
export async function isProcessRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state is the first field after the command name, which is wrapped in parentheses.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Returns the argument vector of `pid` from /proc/<pid>/cmdline, or null when the process is gone. */
export async function readCommandLine(pid: number): Promise<string[] | null> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((arg, index, all) => arg !== '' || index < all.length - 1);
  } catch {
    return null;
  }
}

/** Returns whether `argv` is an HAProxy started with `-f <configFile>`, as HaproxyProcess.start() runs it. */
export function usesConfigFile(argv: readonly string[], binary: string, configFile: string): boolean {
  const program = argv[0] ?? '';
  const isHaproxy = program === binary || program.endsWith('/haproxy') || program === 'haproxy';
  return isHaproxy && argv.some((arg, index) => arg === '-f' && argv[index + 1] === configFile);
}

export interface LeftoverStop {
  pid: number;
  /** True when SIGTERM was not enough within the grace period. */
  killed: boolean;
}

/** Reads a PID from the first line of `file`; returns null when the file is missing or holds no PID. */
async function readPidFile(file: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/** Returns the parent PID of `pid` from /proc/<pid>/stat, or null when the process is gone. */
async function parentPid(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state, then the parent PID.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/**
 * Stops the HAProxy master named in `pidFile` when an earlier daemon left it running: a daemon
 * killed with SIGKILL cannot stop its child. The master counts as left over only when it runs with
 * our configuration file and its parent is no longer the daemon PID recorded in `ownerFile` (the
 * kernel re-parents the orphan). A master whose daemon still runs, a PID that the kernel gave to
 * another program, and a missing owner file all return null without any signal. The master is
 * stopped by its PID only: SIGTERM, then SIGKILL after `graceMs`, waiting for it to exit.
 */
export async function stopLeftoverMaster(pidFile: string, ownerFile: string, binary: string, configFile: string, graceMs: number): Promise<LeftoverStop | null> {
  const pid = await readPidFile(pidFile);
  const owner = await readPidFile(ownerFile);
  if (pid === null || owner === null || pid === process.pid) return null;
  const argv = await readCommandLine(pid);
  if (argv === null || !(await isProcessRunning(pid)) || !usesConfigFile(argv, binary, configFile)) return null;
  if ((await parentPid(pid)) === owner) return null;

  signalProcess(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs)) return { pid, killed: false };
  signalProcess(pid, 'SIGKILL');
  if (await waitForExit(pid, graceMs)) return { pid, killed: true };
  throw new Error(`the leftover HAProxy master ${pid} (from ${pidFile}) did not exit after SIGKILL; stop it before starting the ingress`);
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    // ESRCH: it exited between the check and the signal, which is the outcome we want.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isProcessRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await delay(POLL_INTERVAL_MS);
  }
  return true;
}

/**
 * Runs `haproxy -c -f <configFile>`. Throws an error with HAProxy's ALERT lines when the
 * configuration, a map, the crt-list or a certificate is invalid.
 */
export async function checkConfiguration(binary: string, configFile: string, signal?: AbortSignal): Promise<void> {
  const { code, output } = await runToCompletion(binary, ['-c', '-f', configFile], signal);
  if (code === 0) return;
  const alerts = output
    .split('\n')
    .filter((line) => line.startsWith('[ALERT]'))
    .map((line) => line.replace(OUTPUT_LINE, '$3'));
  const detail = alerts.length > 0 ? alerts.join('; ') : output.trim() || `exit code ${code}`;
  throw new Error(`HAProxy configuration check failed for ${configFile}: ${detail}`);
}

function runToCompletion(binary: string, args: string[], signal?: AbortSignal): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], signal, timeout: CHECK_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', (err) => reject(new Error(`cannot run ${binary} ${args.join(' ')}: ${err.message}`, { cause: err })));
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

interface ProcessTable {
  workers: number[];
  failedReloads: number | undefined;
}

/** Parses the master CLI `show proc` output: current workers and the failed-reload counter. */
export function parseShowProc(output: string): ProcessTable {
  const workers: number[] = [];
  let failedReloads: number | undefined;
  let section = 'master';
  for (const line of output.split('\n')) {
    if (line.startsWith('#')) {
      const header = line.slice(1).trim();
      if (!header.startsWith('<PID>')) section = header;
      continue;
    }
    const fields = line.trim().split(/\s+/);
    const failed = /\[failed: (\d+)\]/.exec(line);
    if (fields[1] === 'master' && failed?.[1] !== undefined) failedReloads = Number(failed[1]);
    if (fields[1] === 'worker' && section === 'workers') workers.push(Number(fields[0]));
  }
  return { workers, failedReloads };
}

/** Returns the worker PID in an admin socket `show info` output. */
function parseInfoPid(output: string): number | undefined {
  const match = /^Pid: (\d+)$/m.exec(output);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export class HaproxyProcess {
  private readonly options: HaproxyProcessOptions;
  private readonly logger: Logger;
  private readonly master: RuntimeApiClient;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly recentOutput: string[] = [];
  private stopping = false;
  private knownWorkers: number[] = [];

  private constructor(options: HaproxyProcessOptions, child: ChildProcess) {
    this.options = options;
    this.logger = options.logger;
    this.master = new RuntimeApiClient(options.paths.masterSocket);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.logger.error(
        { haproxy_pid: child.pid, exit_code: code, signal, last_output: this.recentOutput.slice(-5) },
        'haproxy exited unexpectedly',
      );
    });
    if (child.stdout) this.forwardOutput(child.stdout);
    if (child.stderr) this.forwardOutput(child.stderr);
  }

  /** Starts HAProxy and waits until its worker responds on the admin socket. */
  static async start(options: HaproxyProcessOptions, signal?: AbortSignal): Promise<HaproxyProcess> {
    const { paths } = options;
    const args = ['-W', '-db', '-S', `${paths.masterSocket},mode,600`, '-p', paths.pidFile, '-f', paths.configFile];
    const child = spawn(options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    if (spawned !== undefined) {
      throw new Error(`cannot start ${options.binary}: ${spawned.message}; check the binary setting`, { cause: spawned });
    }

    const instance = new HaproxyProcess(options, child);
    try {
      const worker = await instance.waitForWorker(() => true, signal);
      instance.knownWorkers = [worker];
    } catch (err) {
      await instance.stop();
      throw err;
    }
    return instance;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** PIDs of the workers seen at the last start or reload. */
  get workerPids(): readonly number[] {
    return this.knownWorkers;
  }

  /**
   * Reloads the configuration files (SIGUSR2 to the master) and waits until a new worker responds.
   * The master must respond on its CLI first, because HAProxy 2.6 ignores a SIGUSR2 that arrives
   * before the master has finished starting.
   */
  async reload(signal?: AbortSignal): Promise<void> {
    const before = parseShowProc(await this.master.execute({ command: 'show proc' }, { signal }));
    const pid = this.requirePid();
    process.kill(pid, 'SIGUSR2');

    const worker = await this.waitForWorker((candidate, table) => {
      if (before.failedReloads !== undefined && (table.failedReloads ?? 0) > before.failedReloads) {
        throw new Error(
          `HAProxy failed to reload; the previous worker keeps serving. Last output: ${this.recentOutput.slice(-5).join(' | ')}`,
        );
      }
      return !before.workers.includes(candidate);
    }, signal);
    this.knownWorkers = [worker];
  }

  /** Stops the master with SIGTERM, then SIGKILL after the grace period, and waits for every known worker. */
  async stop(): Promise<void> {
    this.stopping = true;
    const pid = this.child.pid;
    if (this.running && pid !== undefined) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.logger.warn({ haproxy_pid: pid, grace_ms: this.options.stopGraceMs }, 'haproxy ignored sigterm; sending sigkill');
        this.child.kill('SIGKILL');
      }, this.options.stopGraceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.reapWorkers();
  }

  private async reapWorkers(): Promise<void> {
    // Workers exit when the master goes away; one that survives a SIGKILLed master is killed by PID.
    const deadline = Date.now() + this.options.stopGraceMs;
    for (const worker of this.knownWorkers) {
      while ((await isProcessRunning(worker)) && Date.now() < deadline) await delay(POLL_INTERVAL_MS);
      if (await isProcessRunning(worker)) {
        this.logger.error({ worker_pid: worker }, 'haproxy worker outlived the master; sending sigkill');
        try {
          process.kill(worker, 'SIGKILL');
        } catch (err) {
          this.logger.error({ worker_pid: worker, err }, 'cannot kill haproxy worker');
        }
      }
    }
  }

  /**
   * Polls the master CLI and the admin socket until a worker accepted by `accept` is listed by the
   * master and answers `show info` on the admin socket with its own PID. Returns that worker's PID.
   */
  private async waitForWorker(
    accept: (worker: number, table: ProcessTable) => boolean,
    signal?: AbortSignal,
  ): Promise<number> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    let lastError = 'no response yet';
    while (Date.now() < deadline) {
      signal?.throwIfAborted();
      if (!this.running) {
        throw new Error(
          `HAProxy exited with code ${this.child.exitCode ?? this.child.signalCode} before it was ready: ${this.recentOutput.slice(-5).join(' | ')}`,
        );
      }
      let table: ProcessTable;
      let worker: number | undefined;
      try {
        table = parseShowProc(await this.master.execute({ command: 'show proc' }, { signal, timeoutMs: 1000 }));
        worker = parseInfoPid(await this.options.runtimeApi.execute({ command: 'show info' }, { signal, timeoutMs: 1000 }));
      } catch (err) {
        if (signal?.aborted) throw err;
        lastError = err instanceof Error ? err.message : String(err);
        await delay(POLL_INTERVAL_MS);
        continue;
      }
      if (worker !== undefined && table.workers.includes(worker) && accept(worker, table)) return worker;
      lastError = `admin socket response came from worker ${worker ?? 'unknown'}, master lists ${table.workers.join(',') || 'none'}`;
      await delay(POLL_INTERVAL_MS);
    }
    throw new Error(
      `HAProxy did not become ready within ${this.options.readyTimeoutMs} ms (${lastError}); check ${this.options.paths.configFile}`,
    );
  }

  private requirePid(): number {
    const pid = this.child.pid;
    if (pid === undefined || !this.running) throw new Error('HAProxy is not running; start it first');
    return pid;
  }

  private forwardOutput(stream: Readable): void {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (line.trim() === '') return;
      this.recentOutput.push(line);
      if (this.recentOutput.length > OUTPUT_LINES_KEPT) this.recentOutput.shift();
      const match = OUTPUT_LINE.exec(line);
      const level = match?.[1];
      const fields = { haproxy_pid: match?.[2] === undefined ? this.child.pid : Number(match[2]) };
      const text = match?.[3] ?? line;
      // While stopping, HAProxy reports the terminated worker as an ALERT; that exit is expected.
      if ((level === 'ALERT' || level === 'EMERG') && !this.stopping) this.logger.error({ ...fields, output: text }, 'haproxy output');
      else if (level === 'WARNING' || level === 'ALERT' || level === 'EMERG') this.logger.warn({ ...fields, output: text }, 'haproxy output');
      else this.logger.info({ ...fields, output: text }, 'haproxy output');
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
