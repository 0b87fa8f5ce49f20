import { spawn } from 'node:child_process';

/** Output of a finished command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Return the result for a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  timeoutMs?: number;
}

/**
 * Runs `command` without a shell and collects its output. Throws when it cannot start, times out
 * or (unless `allowFailure`) exits with a non-zero code; the error carries the command's output.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 600_000,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (err) => reject(new Error(`cannot run ${command}: ${err.message}; is it installed (scripts/setup.sh)?`, { cause: err })));
    child.once('close', (code, signal) => {
      const result = { code: code ?? 128, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
      if (signal !== null) {
        reject(new Error(`${command} ${args.join(' ')} was killed by ${signal}\n${result.stdout}${result.stderr}`));
      } else if (result.code !== 0 && options.allowFailure !== true) {
        reject(new Error(`${command} ${args.join(' ')} failed with exit code ${result.code}\n${result.stdout}${result.stderr}`));
      } else {
        resolve(result);
      }
    });
    // A child that exits without reading its input closes the pipe; that is not an error here.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(new Error(`cannot write to the input of ${command}: ${err.message}`, { cause: err }));
    });
    child.stdin.end(options.input ?? '');
  });
}
