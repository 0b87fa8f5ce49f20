import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';

import { startSandbox } from '../sandbox/sandbox.js';
import { measureList, measureStateSizes, type LatencySummary, type StateSizes } from './scale-measure.js';
import { seedScaleState, type ScaleCounts } from './scale-seed.js';

/**
 * A small scale check: the state of 100 domains and 1,000 services stays within pmxcfs's 1 MiB
 * per file, and the list routes slow down no more than linearly against a store of 10 services.
 * The larger figures come from test/bench/scale.ts.
 */

const SMALL: ScaleCounts = { domains: 1, services: 10 };
const LARGE: ScaleCounts = { domains: 100, services: 1000 };
const CALLS = 20;

interface StoreFigures {
  sizes: StateSizes;
  services: LatencySummary;
  domains: LatencySummary;
}

async function measureStore(counts: ScaleCounts): Promise<StoreFigures> {
  const sandbox = await startSandbox({ cloudflare: { rateLimit: { requests: 10_000_000, windowMs: 300_000, retryAfterSeconds: 1 } } });
  try {
    await seedScaleState(sandbox, counts);
    const config = JSON.parse(await readFile(sandbox.configFile, 'utf8')) as { stateDir: string; secretsDir: string };
    const sizes = await measureStateSizes(config.stateDir, config.secretsDir);
    await sandbox.startDaemon();
    // One call of each first, so that neither store pays for the first request's warm-up.
    await measureList(sandbox, '/services', 1);
    await measureList(sandbox, '/domains', 1);
    return { sizes, services: await measureList(sandbox, '/services', CALLS), domains: await measureList(sandbox, '/domains', CALLS) };
  } finally {
    await sandbox.stop();
  }
}

describe('scale of the store', () => {
  it('keeps files small and lists linear', async (t) => {
    const small = await measureStore(SMALL);
    const large = await measureStore(LARGE);
    const serviceRatio = large.services.medianMs / small.services.medianMs;
    const domainRatio = large.domains.medianMs / small.domains.medianMs;
    t.diagnostic(`scale-check: ${LARGE.domains} domains/${LARGE.services} services: largest file ${large.sizes.largestFile.bytes} bytes, total ${large.sizes.totalBytes} bytes, ${large.sizes.bytesPerService.toFixed(0)} bytes per service`);
    t.diagnostic(`scale-check: GET /services median ${small.services.medianMs.toFixed(1)} ms (10 services) vs ${large.services.medianMs.toFixed(1)} ms (1,000), ratio ${serviceRatio.toFixed(1)}`);
    t.diagnostic(`scale-check: GET /domains median ${small.domains.medianMs.toFixed(1)} ms (1 domain) vs ${large.domains.medianMs.toFixed(1)} ms (100), ratio ${domainRatio.toFixed(1)}`);

    assert.ok(large.sizes.largestFile.bytes < large.sizes.maxFileBytes, `${large.sizes.largestFile.path} has ${large.sizes.largestFile.bytes} bytes`);
    assert.ok(large.sizes.totalBytes < large.sizes.maxTotalBytes, `the state takes ${large.sizes.totalBytes} bytes`);
    // 100 times the rows may cost at most 100 times the time: a quadratic list fails here.
    assert.ok(serviceRatio < LARGE.services / SMALL.services, `GET /services ratio ${serviceRatio.toFixed(1)}`);
    assert.ok(domainRatio < LARGE.domains / SMALL.domains, `GET /domains ratio ${domainRatio.toFixed(1)}`);
  });
});
