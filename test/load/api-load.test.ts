import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { formatApiLoad, runApiLoad, type ApiLoadOptions } from './api-load.js';
import { waitForLiveRoutes } from './scale-measure.js';
import { seedScaleState } from './scale-seed.js';

/**
 * 200 concurrent API clients on the read routes for a bounded time, against a daemon whose store
 * contains a few domains, services and certificates, so that every list has rows to render.
 * The load starts once the reconciler has routed every service, so it meets the API at rest.
 */

const DURATION_SECONDS = Number(process.env['LOAD_API_SECONDS'] ?? 10);
const SERVICES = 15;

let sandbox: Sandbox;

before(async () => {
  sandbox = await startSandbox();
  await seedScaleState(sandbox, { domains: 3, services: SERVICES });
  await sandbox.startDaemon();
  const routes = await waitForLiveRoutes(sandbox, SERVICES, 60_000);
  assert.ok(routes.complete, `only ${routes.live} of ${SERVICES} routes were live after 60 s`);
});

after(async () => {
  await sandbox.stop();
});

describe('API under load', () => {
  it('serves 200 clients without errors', async (t) => {
    const services = await sandbox.api('GET', '/services');
    assert.equal((services.body.data as unknown[]).length, SERVICES);

    const options: ApiLoadOptions = { socketPath: sandbox.socket, connections: 200, durationSeconds: DURATION_SECONDS, paths: ['/services', '/domains', '/certificates'] };
    const result = await runApiLoad(options);
    t.diagnostic(formatApiLoad(options, result));

    assert.ok(result.ok > 200, `only ${result.ok} requests succeeded`);
    assert.equal(result.errors, 0);
    assert.equal(result.timeouts, 0);
    assert.equal(result.non2xx, 0);
    assert.ok(Number.isFinite(result.p99Ms));
  });
});
