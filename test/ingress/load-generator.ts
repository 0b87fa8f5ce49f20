import { Agent, request } from 'node:https';

/**
 * A bounded HTTPS load generator for loopback tests: `concurrency` loops send GET requests with
 * keep-alive until `maxRequests` were sent or `maxMs` passed, whichever comes first.
 */

export interface LoadOptions {
  port: number;
  hostnames: readonly string[];
  ca: string;
  concurrency: number;
  maxRequests: number;
  maxMs: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failures: Array<{ hostname: string; error: string }>;
  latenciesMs: number[];
}

export interface RunningLoad {
  /** Stops sending and returns the result once every request in flight has finished. */
  stop(): Promise<LoadResult>;
  readonly result: LoadResult;
}

function once(agent: Agent, port: number, hostname: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, path: '/', servername: hostname, headers: { host: hostname }, ca, agent, timeout: 5000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('request timed out after 5000 ms')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

export function startLoad(options: LoadOptions): RunningLoad {
  const result: LoadResult = { sent: 0, ok: 0, failures: [], latenciesMs: [] };
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const deadline = Date.now() + options.maxMs;
  let stopped = false;

  const loop = async (worker: number): Promise<void> => {
    let index = worker;
    while (!stopped && result.sent < options.maxRequests && Date.now() < deadline) {
      const hostname = options.hostnames[index % options.hostnames.length] ?? '';
      index += 1;
      result.sent += 1;
      const startedAt = performance.now();
      try {
        const { status, body } = await once(agent, options.port, hostname, options.ca);
        if (status === 200) {
          result.ok += 1;
          result.latenciesMs.push(performance.now() - startedAt);
        } else {
          result.failures.push({ hostname, error: `status ${status}: ${body.slice(0, 120)}` });
        }
      } catch (err) {
        result.failures.push({ hostname, error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  const loops = Array.from({ length: options.concurrency }, (_, worker) => loop(worker));

  return {
    result,
    async stop(): Promise<LoadResult> {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return result;
    },
  };
}
