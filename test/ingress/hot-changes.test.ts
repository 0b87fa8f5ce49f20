import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createIngressFixture, createTestCa, httpsGet, issueCertificate, type IngressFixture, type TestCa } from '../proxy/fixtures.js';
import { startEchoTarget, type EchoTarget } from './echo-target.js';
import { startLoad } from './load-generator.js';

/**
 * Acceptance: routes and certificates are added, changed and removed on a real HAProxy while a
 * load generator sends requests to other services. No request may fail.
 */

const STABLE = ['one.load.test', 'two.load.test', 'three.load.test'];
const CHANGES = 30;

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

function describeFailures(failures: Array<{ hostname: string; error: string }>): string {
  return failures.slice(0, 5).map((item) => `${item.hostname}: ${item.error}`).join('; ');
}

describe('hot changes under load', () => {
  it('changes routes and certificates without failures', async (t) => {
    const master = fixture.ingress.pid;
    const worker = fixture.ingress.workerPids[0];
    const certificates = await Promise.all(Array.from({ length: CHANGES }, (_, index) => issueCertificate(ca, [`churn${index}.load.test`])));
    const load = startLoad({ port: fixture.httpsPort, hostnames: STABLE, ca: ca.pem, concurrency: 4, maxRequests: 20_000, maxMs: 20_000 });

    const startedAt = performance.now();
    for (let index = 0; index < CHANGES; index++) {
      const hostname = `churn${index}.load.test`;
      const certificate = certificates[index];
      assert.ok(certificate !== undefined);
      await fixture.ingress.setCertificate(hostname, certificate.chainPem, certificate.keyPem);
      await fixture.ingress.setRoute({ hostname, targets: [{ address: green.address, port: green.port }], options: { hsts: { maxAgeSeconds: 60, includeSubDomains: false } } });
      const served = await httpsGet({ port: fixture.httpsPort, hostname, ca: ca.pem });
      assert.equal(served.status, 200, `${hostname} served`);
      await fixture.ingress.setRoute({ hostname, targets: [{ address: blue.address, port: blue.port }, { address: green.address, port: green.port }] });
      if (index % 2 === 0) {
        await fixture.ingress.removeRoute(hostname);
        await fixture.ingress.removeCertificate(hostname);
      }
    }
    const changesMs = performance.now() - startedAt;
    const result = await load.stop();

    t.diagnostic(`${CHANGES} route+certificate cycles in ${changesMs.toFixed(0)} ms while ${result.sent} requests were sent`);
    assert.ok(result.sent > 100, `load generator sent ${result.sent} requests`);
    assert.equal(result.failures.length, 0, describeFailures(result.failures));
    assert.equal(result.ok, result.sent);
    assert.equal(fixture.ingress.pid, master, 'same HAProxy master');
    assert.equal(fixture.ingress.workerPids[0], worker, 'no reload');
  });

  it('reloads for a rule change without failures', async (t) => {
    const worker = fixture.ingress.workerPids[0];
    const load = startLoad({ port: fixture.httpsPort, hostnames: STABLE, ca: ca.pem, concurrency: 4, maxRequests: 20_000, maxMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await fixture.ingress.setRoute({ hostname: 'rules.load.test', targets: [{ address: blue.address, port: blue.port }], options: { requestHeaders: [{ name: 'X-Rule', value: 'on' }] } });
    fixture.rememberPids();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await load.stop();

    t.diagnostic(`${result.sent} requests across the reload`);
    assert.notEqual(fixture.ingress.workerPids[0], worker, 'the rule change reloaded');
    assert.ok(result.sent > 20, `load generator sent ${result.sent} requests`);
    assert.equal(result.failures.length, 0, describeFailures(result.failures));
  });
});
