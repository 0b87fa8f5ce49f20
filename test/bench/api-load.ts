/**
 * API load benchmark: autocannon with 200 concurrent clients on GET /services, /domains and
 * /certificates through the daemon's unix socket, against a sandbox store seeded with
 * API_LOAD_DOMAINS domains and API_LOAD_SERVICES services. The load starts once every service
 * has a live route, so the reconciler is idle. Prints requests per second, the latency
 * percentiles and the error counts.
 *
 *   npx tsx test/bench/api-load.ts
 *   API_LOAD_SECONDS=60 API_LOAD_SERVICES=1000 API_LOAD_DOMAINS=100 npx tsx test/bench/api-load.ts
 */
import { formatApiLoad, runApiLoad, type ApiLoadOptions } from '../load/api-load.js';
import { waitForLiveRoutes } from '../load/scale-measure.js';
import { seedScaleState } from '../load/scale-seed.js';
import { startSandbox } from '../sandbox/sandbox.js';

function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}=${text} is invalid: expected a positive integer`);
  return value;
}

const domains = positiveInteger('API_LOAD_DOMAINS', 10);
const services = positiveInteger('API_LOAD_SERVICES', 100);
const seconds = positiveInteger('API_LOAD_SECONDS', 30);
const connections = positiveInteger('API_LOAD_CONNECTIONS', 200);

const sandbox = await startSandbox({ cloudflare: { rateLimit: { requests: 10_000_000, windowMs: 300_000, retryAfterSeconds: 1 } } });
try {
  await seedScaleState(sandbox, { domains, services });
  await sandbox.startDaemon();
  const routes = await waitForLiveRoutes(sandbox, services, 600_000);
  if (!routes.complete) throw new Error(`only ${routes.live} of ${services} routes were live after 600 s; lower API_LOAD_SERVICES`);
  process.stdout.write(`api-load: store of ${domains} domains, ${services} services, ${domains} certificates, every route live after ${(routes.elapsedMs / 1000).toFixed(0)} s\n`);
  const routeSets = [['/services', '/domains', '/certificates'], ['/services'], ['/domains'], ['/certificates']];
  for (const paths of routeSets) {
    const options: ApiLoadOptions = { socketPath: sandbox.socket, connections, durationSeconds: seconds, paths };
    process.stdout.write(`${formatApiLoad(options, await runApiLoad(options))}\n`);
  }
} finally {
  await sandbox.stop();
}
