/**
 * Scale benchmark: a sandbox store with many domains and services, seeded as already converged
 * (test/load/scale-seed.ts), then the daemon started on it. Prints the seeding time and the
 * state sizes against pmxcfs's limits (1 MiB per file, 128 MiB in total). Then it prints the
 * daemon's RSS after start, the time from the daemon's start until every service has a live
 * route in HAProxy, and the latency of GET /services and GET /domains. Stops waiting for routes after
 * SCALE_RECONCILE_TIMEOUT_S and prints how many were live then. When every route came up, it
 * restarts the daemon, which keeps HAProxy's files, and prints how long serving every route takes.
 *
 *   npx tsx test/bench/scale.ts
 *   SCALE_DOMAINS=100 SCALE_SERVICES=1000 npx tsx test/bench/scale.ts
 */
import { readFile } from 'node:fs/promises';

import { measureList, measureStateSizes, daemonPid, residentBytes, waitForLiveRoutes } from '../load/scale-measure.js';
import { seedScaleState } from '../load/scale-seed.js';
import { startSandbox } from '../sandbox/sandbox.js';

function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}=${text} is invalid: expected a positive integer`);
  return value;
}

const domains = positiveInteger('SCALE_DOMAINS', 1000);
const services = positiveInteger('SCALE_SERVICES', 10_000);
const listCalls = positiveInteger('SCALE_LIST_CALLS', 20);
const reconcileTimeoutS = positiveInteger('SCALE_RECONCILE_TIMEOUT_S', 600);

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

// The seeded domains share one Cloudflare token. The simulator's default rate limit would throttle
// the record checks of the restart, and that limit is Cloudflare's, not the daemon's.
const sandbox = await startSandbox({ cloudflare: { rateLimit: { requests: 10_000_000, windowMs: 300_000, retryAfterSeconds: 1 } } });
try {
  const seeded = await seedScaleState(sandbox, { domains, services });
  print(`scale: seeded ${domains} domains, ${services} services, ${domains} certificates in ${(seeded.seedMs / 1000).toFixed(1)} s`);

  const config = JSON.parse(await readFile(sandbox.configFile, 'utf8')) as { stateDir: string; secretsDir: string };
  const sizes = await measureStateSizes(config.stateDir, config.secretsDir);
  print(`scale: state files=${sizes.fileCount} total=${mib(sizes.totalBytes)} (${((sizes.totalBytes / sizes.maxTotalBytes) * 100).toFixed(1)}% of the 128 MiB pmxcfs limit)`);
  print(`scale: largest file ${sizes.largestFile.path} = ${sizes.largestFile.bytes} bytes (${((sizes.largestFile.bytes / sizes.maxFileBytes) * 100).toFixed(1)}% of the 1 MiB per-file limit)`);
  print(`scale: bytes per service=${sizes.bytesPerService.toFixed(0)} bytes per certificate=${sizes.bytesPerCertificate.toFixed(0)} (metadata, chain and key)`);

  const startedAt = performance.now();
  await sandbox.startDaemon();
  const apiReadyMs = performance.now() - startedAt;
  const rss = await residentBytes(await daemonPid(sandbox));
  print(`scale: daemon API answered ${(apiReadyMs / 1000).toFixed(1)} s after start; RSS ${mib(rss)}`);

  const routes = await waitForLiveRoutes(sandbox, services, reconcileTimeoutS * 1000 - apiReadyMs, (live, elapsedMs) => {
    process.stderr.write(`scale: ${live}/${services} routes live after ${((apiReadyMs + elapsedMs) / 1000).toFixed(0)} s\n`);
  });
  const routesS = (apiReadyMs + routes.elapsedMs) / 1000;
  if (routes.complete) print(`scale: all ${services} routes live in HAProxy ${routesS.toFixed(1)} s after daemon start`);
  else print(`scale: GAP: only ${routes.live}/${services} routes live in HAProxy after ${routesS.toFixed(0)} s (SCALE_RECONCILE_TIMEOUT_S=${reconcileTimeoutS})`);
  const rssAfter = await residentBytes(await daemonPid(sandbox));
  print(`scale: daemon RSS after the reconcile wait ${mib(rssAfter)}`);

  for (const path of ['/services', '/domains']) {
    const latency = await measureList(sandbox, path, listCalls);
    const during = routes.complete ? '' : ' (while the reconciler was still working)';
    print(`scale: GET ${path} median=${latency.medianMs.toFixed(1)} ms p99=${latency.p99Ms.toFixed(1)} ms max=${latency.maxMs.toFixed(1)} ms over ${latency.calls} calls${during}`);
  }

  // A restart of the daemon keeps HAProxy's files (routes.json, maps, certificates), unlike the
  // first start above, which rebuilt every route from the state alone, as on a new node.
  if (routes.complete) {
    await sandbox.stopDaemon();
    const restartedAt = performance.now();
    await sandbox.startDaemon();
    const restartApiMs = performance.now() - restartedAt;
    const again = await waitForLiveRoutes(sandbox, services, reconcileTimeoutS * 1000 - restartApiMs, (live, elapsedMs) => {
      process.stderr.write(`scale: restart: ${live}/${services} routes live after ${((restartApiMs + elapsedMs) / 1000).toFixed(0)} s\n`);
    });
    const againS = (restartApiMs + again.elapsedMs) / 1000;
    if (again.complete) print(`scale: restart with the proxy files kept: API answered ${(restartApiMs / 1000).toFixed(1)} s and all ${services} routes were live ${againS.toFixed(1)} s after daemon start`);
    else print(`scale: GAP: after a restart with the proxy files kept, only ${again.live}/${services} routes live after ${againS.toFixed(0)} s`);
  }
} finally {
  await sandbox.stop();
}
