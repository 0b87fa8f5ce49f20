import autocannon from 'autocannon';

/**
 * Concurrent API load with autocannon against the daemon's unix socket. The socket is the
 * sandbox's trusted local API (no ticket or token), so the figures measure the routes and not
 * the PVE authentication round trip of the HTTPS listener.
 */

export interface ApiLoadOptions {
  socketPath: string;
  /** Concurrent connections, each one client that sends its next request after the previous response. */
  connections: number;
  durationSeconds: number;
  /** API paths below /api2/json, requested in turn by every connection. */
  paths: string[];
}

export interface ApiLoadResult {
  requests: number;
  ok: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Distinct request error messages with their counts. */
  errorMessages: Map<string, number>;
}

/** Runs autocannon for `durationSeconds` and returns its counters and latency percentiles. */
export async function runApiLoad(options: ApiLoadOptions): Promise<ApiLoadResult> {
  const errorMessages = new Map<string, number>();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        // autocannon needs a URL for the Host header and request line; the socket carries the traffic.
        url: 'http://localhost',
        socketPath: options.socketPath,
        connections: options.connections,
        duration: options.durationSeconds,
        timeout: 10,
        requests: options.paths.map((path) => ({ method: 'GET' as const, path: `/api2/json${path}` })),
      },
      (err, finished) => {
        if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(finished);
      },
    );
    instance.on('reqError', (err: Error) => {
      errorMessages.set(err.message, (errorMessages.get(err.message) ?? 0) + 1);
    });
  });
  const ok = result['2xx'];
  return {
    requests: ok + result.non2xx + result.errors,
    ok,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errorMessages,
  };
}

/** Formats every figure of `result` on one line, the same in the test and the benchmark. */
export function formatApiLoad(options: ApiLoadOptions, result: ApiLoadResult): string {
  return (
    `api-load: ${options.connections} clients for ${options.durationSeconds} s on ${options.paths.join(', ')} (unix socket): ` +
    `${result.requests} requests, ${result.requestsPerSecond.toFixed(0)} req/s, p50=${result.p50Ms} ms p99=${result.p99Ms} ms max=${result.maxMs} ms, ` +
    `errors=${result.errors} timeouts=${result.timeouts} non2xx=${result.non2xx}` +
    [...result.errorMessages].map(([message, count]) => `; ${count}x ${message}`).join('')
  );
}
