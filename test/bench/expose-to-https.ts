/**
 * Benchmark: time from `POST /services` to the first HTTPS 200 through HAProxy, over 10 runs in
 * the sandbox (real Pebble, HAProxy and DNS; simulated PVE and Cloudflare). Each run exposes a
 * new name, so every run includes DNS records, a full DNS-01 order and the route. Prints the
 * median, minimum and maximum. Run with `npm run bench`.
 */
import { startSandbox } from '../sandbox/sandbox.js';

const runs = Number(process.env['BENCH_RUNS'] ?? 10);
const sandbox = await startSandbox();
const timings: number[] = [];
try {
  await sandbox.startDaemon();
  const registered = await sandbox.api('POST', '/domains', {
    domain: sandbox.zone,
    'acme-directory': sandbox.pebble.directoryUrl,
    'acme-email': `admin@${sandbox.zone}`,
    'cloudflare-token': sandbox.cloudflareToken,
  });
  if (registered.status !== 200) throw new Error(`registering the domain failed: ${JSON.stringify(registered.body)}`);
  const port = sandbox.containers[0]?.port;

  for (let run = 1; run <= runs; run++) {
    const fqdn = `bench${run}.${sandbox.zone}`;
    const started = process.hrtime.bigint();
    const created = await sandbox.api('POST', '/services', { subdomain: `bench${run}`, domain: sandbox.zone, vmid: 101, port });
    if (created.status !== 200) throw new Error(`run ${run}: creating ${fqdn} failed: ${JSON.stringify(created.body)}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await sandbox.fetchHttps(fqdn).catch(() => null);
      if (answer?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`run ${run}: ${fqdn} did not serve within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    timings.push(elapsedMs);
    process.stdout.write(`run ${run}: ${elapsedMs.toFixed(0)} ms\n`);
  }
} finally {
  await sandbox.stop();
}

const sorted = [...timings].sort((a, b) => a - b);
const middle = Math.floor(sorted.length / 2);
const median = sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
process.stdout.write(
  `expose-to-https: runs=${sorted.length} median=${median.toFixed(0)} ms min=${(sorted[0] ?? 0).toFixed(0)} ms max=${(sorted[sorted.length - 1] ?? 0).toFixed(0)} ms\n`,
);
