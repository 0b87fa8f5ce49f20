import { spawn } from 'node:child_process';

import { TABLE_FAMILY, TABLE_NAME } from './nft-ruleset.js';

/**
 * Runs `nft` and reads sysctls on the node, or inside one network namespace through
 * `ip netns exec` (the tests use their own namespaces and never the host's).
 */

export interface NftRunnerOptions {
  /** Network namespace to run in; the caller's namespace when absent. */
  netns?: string;
  nftBinary?: string;
  ipBinary?: string;
  /** Time after which one command is killed; 10 s when absent. */
  timeoutMs?: number;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export class NftRunner {
  private readonly prefix: string[];
  private readonly nft: string;
  private readonly timeoutMs: number;

  constructor(options: NftRunnerOptions = {}) {
    this.nft = options.nftBinary ?? '/usr/sbin/nft';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (options.netns !== undefined && !NETNS_NAME.test(options.netns)) {
      throw new Error(`invalid network namespace name ${JSON.stringify(options.netns)}: use letters, digits, '_', '.' or '-'`);
    }
    this.prefix = options.netns === undefined ? [] : [options.ipBinary ?? '/usr/sbin/ip', 'netns', 'exec', options.netns];
  }

  /** Applies `ruleset` with `nft -f -` as one transaction; throws with nft's message when it is rejected. */
  async apply(ruleset: string, signal?: AbortSignal): Promise<void> {
    const result = await this.run([this.nft, '-f', '-'], ruleset, signal);
    if (result.code !== 0) {
      throw new Error(`nft rejected the ruleset of table ${TABLE_FAMILY} ${TABLE_NAME} (exit code ${String(result.code)}): ${result.stderr.trim() || '(no output)'}`);
    }
  }

  /** Returns `nft list table` output of the product's table, or null when the table does not exist. */
  async listTable(signal?: AbortSignal): Promise<string | null> {
    const result = await this.run([this.nft, 'list', 'table', TABLE_FAMILY, TABLE_NAME], '', signal);
    if (result.code === 0) return result.stdout;
    if (/No such file or directory/.test(result.stderr)) return null;
    throw new Error(`nft list table ${TABLE_FAMILY} ${TABLE_NAME} failed (exit code ${String(result.code)}): ${result.stderr.trim() || '(no output)'}`);
  }

  /** Reads a file under /proc/sys, such as `net/ipv4/ip_forward`, in the runner's namespace. */
  async readSysctl(key: string, signal?: AbortSignal): Promise<string> {
    if (!/^[a-z0-9_]+(?:\/[a-z0-9_]+)+$/.test(key)) throw new Error(`invalid sysctl key ${JSON.stringify(key)}: expected a path such as net/ipv4/ip_forward`);
    const result = await this.run(['/bin/cat', `/proc/sys/${key}`], '', signal);
    if (result.code !== 0) throw new Error(`cannot read /proc/sys/${key}: ${result.stderr.trim() || `exit code ${String(result.code)}`}`);
    return result.stdout.trim();
  }

  private run(command: string[], input: string, signal?: AbortSignal): Promise<CommandResult> {
    const [binary, ...args] = [...this.prefix, ...command] as [string, ...string[]];
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], signal });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${binary}: ${err.message}`, { cause: err }));
      });
      child.once('close', (code, killSignal) => {
        clearTimeout(timer);
        const text = Buffer.concat(stderr).toString('utf8');
        resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: killSignal === 'SIGKILL' && code === null ? `${text}timed out after ${this.timeoutMs} ms` : text });
      });
      // A command that reads no input (nft delete, cat) may exit before the write ends; the
      // resulting EPIPE says nothing that the exit code and stderr do not, so it is ignored.
      child.stdin.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') reject(new Error(`cannot write to ${binary}: ${err.message}`, { cause: err }));
      });
      if (input === '') child.stdin.end();
      else child.stdin.end(input);
    });
  }
}
