import { createConnection } from 'node:net';

/**
 * Client for the HAProxy runtime API (the `stats socket` and the master CLI `-S`).
 *
 * Every command gets its own connection in non-interactive mode: HAProxy executes the one line,
 * writes the output and closes the connection, so the end of the output needs no parsing. Prompt
 * mode would save connections but its prompts differ between HAProxy 2.6 and 3.x.
 */

export type RuntimeApiFailure = 'connection' | 'timeout' | 'rejected';

/** A runtime API command that failed. `response` is HAProxy's output, empty when HAProxy sent none. */
export class RuntimeApiError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly response: string,
    readonly failure: RuntimeApiFailure,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RuntimeApiError';
  }
}

export interface RuntimeCommand {
  /** One command without line breaks or `;`, e.g. `add map /etc/x/hosts.map a.example 80:192.0.2.1`. */
  command: string;
  /**
   * Multi-line input sent after `<<` (HAProxy's payload syntax, used by `set ssl cert`). It must not
   * contain an empty line, because HAProxy ends the payload at the first one.
   */
  payload?: string;
  /** When set, an output that does not match is treated as a failure. */
  expect?: RegExp;
}

export interface RuntimeRequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The part of the client the ingress uses; tests substitute it to simulate failures. */
export interface RuntimeApi {
  readonly socketPath: string;
  execute(command: RuntimeCommand, options?: RuntimeRequestOptions): Promise<string>;
  executeAll(commands: readonly RuntimeCommand[], options?: RuntimeRequestOptions): Promise<string[]>;
}

/**
 * First output lines that HAProxy 2.6 writes when a command fails. The CLI has no status code, so
 * the text is all there is. Only the first non-empty line is checked, because `show` outputs
 * contain field names such as `FailedResolutions` further down.
 * NOTE: the messages were read from HAProxy 2.6.12. The 3.0 wording has not been checked here.
 */
const ERROR_LINE =
  /^(?:Unknown|Can't|can't|No |Missing|missing|Permission denied|Unable|Failed|failed|Error|error|Key not found|entry not found|The transaction must|inconsistencies|Certificate '.*' already exists|'[^']*' expects)|does not exist|doesn't exist/;

/** Returns the error text in a runtime API output, or undefined when the output reports no error. */
export function findRuntimeError(output: string): string | undefined {
  const firstLine = output.split('\n').find((line) => line.trim() !== '') ?? '';
  return ERROR_LINE.test(firstLine.trim()) ? output.trim() : undefined;
}

const DEFAULT_TIMEOUT_MS = 5000;

export class RuntimeApiClient implements RuntimeApi {
  readonly socketPath: string;
  private readonly defaultTimeoutMs: number;

  constructor(socketPath: string, options: { timeoutMs?: number } = {}) {
    this.socketPath = socketPath;
    this.defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Sends one command and returns HAProxy's output. Throws RuntimeApiError when it reports an error. */
  async execute(command: RuntimeCommand, options: RuntimeRequestOptions = {}): Promise<string> {
    const output = await this.send(command, options);
    // HAProxy ends every response with a line feed, even an empty one (checked with 2.6.12), so
    // zero bytes mean that the connection closed before HAProxy responded. The command may not have run.
    if (output === '') {
      throw new RuntimeApiError(
        `HAProxy closed the connection on ${this.socketPath} without answering "${command.command}"; check that HAProxy is running`,
        command.command,
        output,
        'connection',
      );
    }
    const error = findRuntimeError(output);
    if (error !== undefined) {
      throw new RuntimeApiError(
        `HAProxy rejected "${command.command}": ${error}`,
        command.command,
        output,
        'rejected',
      );
    }
    if (command.expect !== undefined && !command.expect.test(output)) {
      throw new RuntimeApiError(
        `HAProxy returned an unexpected output for "${command.command}": ${output.trim() || '(empty)'}`,
        command.command,
        output,
        'rejected',
      );
    }
    return output;
  }

  /** Runs the commands in order and stops at the first failure. Returns the outputs. */
  async executeAll(commands: readonly RuntimeCommand[], options: RuntimeRequestOptions = {}): Promise<string[]> {
    const outputs: string[] = [];
    for (const command of commands) outputs.push(await this.execute(command, options));
    return outputs;
  }

  /** Sends one command and returns the raw output without looking for errors. */
  async send(command: RuntimeCommand, options: RuntimeRequestOptions = {}): Promise<string> {
    const request = encodeRequest(command);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const { signal } = options;
    signal?.throwIfAborted();

    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const socket = createConnection({ path: this.socketPath });

      const finish = (error: Error | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        if (error === undefined) resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(error);
      };
      const onAbort = (): void => finish(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const timer = setTimeout(() => {
        finish(
          new RuntimeApiError(
            `HAProxy did not respond to "${command.command}" on ${this.socketPath} within ${timeoutMs} ms (timed out)`,
            command.command,
            Buffer.concat(chunks).toString('utf8'),
            'timeout',
          ),
        );
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });

      // The half-close signals that no more commands follow. Without it the HAProxy 2.6 master CLI
      // keeps the connection open after its response.
      socket.on('connect', () => socket.end(request));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => finish(undefined));
      socket.on('close', () => finish(undefined));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        finish(
          new RuntimeApiError(
            `cannot send "${command.command}" to HAProxy on ${this.socketPath}: ${err.code ?? err.message}; check that HAProxy is running`,
            command.command,
            Buffer.concat(chunks).toString('utf8'),
            'connection',
            { cause: err },
          ),
        );
      });
    });
  }
}

/** Builds the bytes sent for one command; throws on input that could smuggle in a second command. */
function encodeRequest(command: RuntimeCommand): string {
  if (command.command.length === 0 || /[;\r\n\0]/.test(command.command)) {
    throw new Error(`invalid runtime API command ${JSON.stringify(command.command)}: it must be one line without ";"`);
  }
  if (command.payload === undefined) return `${command.command}\n`;

  const payload = command.payload.replace(/\n$/, '');
  const lines = payload.split('\n');
  if (/[\r\0]/.test(payload) || lines.some((line) => line.trim() === '')) {
    throw new Error(`invalid payload for "${command.command}": it must not contain empty lines, CR or NUL`);
  }
  // HAProxy reads the payload up to the first empty line.
  return `${command.command} <<\n${payload}\n\n`;
}
