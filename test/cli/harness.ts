import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../daemon/src/cli/errors.js';
import { runCli } from '../../daemon/src/cli/main.js';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Answers to prompts, in order; a prompt without answer fails the run. */
  prompts?: string[];
  /** Whether stdin counts as a terminal; false by default. */
  interactive?: boolean;
}

/** Runs the CLI in this process, with the same code path as the binary but no process start. */
export async function runInProcess(argv: string[], options: RunOptions = {}): Promise<CliRun & { prompted: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const prompted: string[] = [];
  const answers = [...(options.prompts ?? [])];
  const code = await runCli(argv, {
    out: (text) => out.push(`${text}\n`),
    err: (text) => err.push(`${text}\n`),
    env: options.env ?? {},
    secrets: {
      interactive: options.interactive ?? false,
      prompt: (label) => {
        prompted.push(label);
        const answer = answers.shift();
        return answer === undefined ? Promise.reject(new Error(`unexpected prompt for ${label}`)) : Promise.resolve(answer);
      },
      readFile: (path) => {
        try {
          return readFileSync(path, 'utf8');
        } catch (error) {
          throw new UsageError(`unable to read ${path}: ${(error as Error).message}`);
        }
      },
    },
  });
  return { code, stdout: out.join(''), stderr: err.join(''), prompted };
}

/** Runs daemon/src/bin/pve-domains.ts as a process, as a user would. */
export function runBinary(argv: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repositoryRoot, 'daemon/src/bin/pve-domains.ts'), ...argv],
      { cwd: repositoryRoot, env: { PATH: process.env['PATH'], ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        let code = 0;
        if (error !== null) code = typeof error.code === 'number' ? error.code : -1;
        resolveRun({ code, stdout, stderr });
      },
    );
  });
}
