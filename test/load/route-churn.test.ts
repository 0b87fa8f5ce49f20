import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startEchoTarget, type EchoTarget } from '../ingress/echo-target.js';
import { startLoad } from '../ingress/load-generator.js';
import { createIngressFixture, createTestCa, issueCertificate, type IngressFixture, type TestCa } from '../proxy/fixtures.js';
import { quantile } from './scale-measure.js';

/**
 * 1,000 route changes on a real HAProxy through the daemon's ingress layer, while a load
 * generator requests three stable services over HTTPS: LOAD_CHURN_ROUTES routes (500 by
 * default) are added and removed again in waves of WAVE. This builds on the hot-change test of
 * test/ingress, which does 30 route and certificate cycles. Waves keep the table small, because
 * every change rewrites the whole route table and one wave of 1,000 would mostly measure file
 * rendering, which the route-change benchmark covers.
 * NOTE: a change took about 60 ms with 53 routes on a shared 2-core machine, so the 1,000
 * changes take about a minute. LOAD_CHURN_ROUTES=1000 makes 2,000 changes.
 */

const STABLE = ['one.churn.test', 'two.churn.test', 'three.churn.test'];
const ROUTES = Number(process.env['LOAD_CHURN_ROUTES'] ?? 500);
const WAVE = 50;

let ca: TestCa;
let fixture: IngressFixture;
let blue: EchoTarget;
let green: EchoTarget;

before(async () => {
  ca = await createTestCa();
  blue = await startEchoTarget('127.0.0.1', 'blue');
  green = await startEchoTarget('127.0.0.2', 'green');
  fixture = await createIngressFixture();
  await fixture.start();
  for (const hostname of STABLE) {
    const certificate = await issueCertificate(ca, [hostname]);
    await fixture.ingress.setCertificate(hostname, certificate.chainPem, certificate.keyPem);
    await fixture.ingress.setRoute({ hostname, targets: [{ address: blue.address, port: blue.port }] });
  }
});

after(async () => {
  const running = await fixture.cleanup();
  await blue.close();
  await green.close();
  assert.deepEqual(running, []);
});

describe('ingress under route churn', () => {
  it('serves stable routes during 1,000 changes', async (t) => {
    const load = startLoad({ port: fixture.httpsPort, hostnames: STABLE, ca: ca.pem, concurrency: 2, maxRequests: 1_000_000, maxMs: 120_000 });
    const startedAt = performance.now();
    let peak = 0;
    for (let first = 0; first < ROUTES; first += WAVE) {
      const wave = Array.from({ length: Math.min(WAVE, ROUTES - first) }, (_, offset) => `churn${first + offset}.churn.test`);
      for (const hostname of wave) {
        await fixture.ingress.setRoute({ hostname, targets: [{ address: green.address, port: green.port }] });
      }
      peak = Math.max(peak, (await fixture.ingress.routeStatus()).length);
      for (const hostname of wave) {
        await fixture.ingress.removeRoute(hostname);
      }
    }
    const changesMs = performance.now() - startedAt;
    fixture.rememberPids();
    const remaining = await fixture.ingress.routeStatus();
    const result = await load.stop();

    t.diagnostic(
      `route-churn: ${ROUTES} routes added and removed (${ROUTES * 2} changes, waves of ${WAVE}) in ${(changesMs / 1000).toFixed(1)} s (${((ROUTES * 2) / (changesMs / 1000)).toFixed(0)} changes/s) ` +
        `while ${result.sent} HTTPS requests were sent to ${STABLE.length} stable routes: failures=${result.failures.length}, ` +
        `p50=${quantile(result.latenciesMs, 0.5).toFixed(1)} ms p99=${quantile(result.latenciesMs, 0.99).toFixed(1)} ms`,
    );
    assert.equal(peak, STABLE.length + WAVE);
    assert.equal(remaining.length, STABLE.length);
    assert.ok(result.sent > 1000, `load generator sent only ${result.sent} requests`);
    assert.equal(result.failures.length, 0, result.failures.slice(0, 5).map((item) => `${item.hostname}: ${item.error}`).join('; '));
    assert.equal(result.ok, result.sent);
  });
});
