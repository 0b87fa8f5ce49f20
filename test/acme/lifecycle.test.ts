import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { servedSerial } from '../../daemon/src/acme/served-certificate.js';
import type { AcmeFront } from '../sandbox/acme-front/index.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';

/**
 * The certificate lifecycle against real Pebble with short-lived certificates, behind the
 * fault-injecting front: wildcard issuance, ARI and lifetime renewal, and CA and DNS faults.
 */
const validitySeconds = 40;
const wildcardId = '*.example.com';

interface CertificateView {
  id: string;
  serial: string;
  'not-before': string;
  'not-after': string;
  failures: number;
  'last-error': string | null;
  'next-attempt': string | null;
  'renewal-rule': string | null;
  'pending-order': string | null;
}

/**
 * A daemon killed with SIGKILL leaves its HAProxy master running, and a new daemon refuses to
 * start beside it; the test stops that master by the PID in its pid file.
 */
async function stopLeftoverHaproxy(dir: string): Promise<void> {
  const pid = Number((await readFile(join(dir, 'run', 'haproxy', 'haproxy.pid'), 'utf8')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('certificate lifecycle', () => {
  let sandbox: Sandbox;
  let front: AcmeFront;

  const certificate = async (): Promise<CertificateView> => {
    const answer = await sandbox.api('GET', '/certificates');
    const found = (answer.body.data as CertificateView[]).find((item) => item.id === wildcardId);
    assert.ok(found !== undefined, `certificate ${wildcardId} is not listed: ${JSON.stringify(answer.body)}`);
    return found;
  };
  const served = (name: string): Promise<string> => servedSerial('127.0.0.1', sandbox.httpsPort, name);
  const waitUntil = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; certificates: ${JSON.stringify((await sandbox.api('GET', '/certificates')).body.data)}`);
      await sleep(100);
    }
  };
  // The stored serial changes a moment before HAProxy has the new file.
  const servesStored = async (previous: string): Promise<boolean> => {
    const now = await served('app.example.com').catch(() => '');
    return now !== previous && now === (await certificate()).serial;
  };
  const challengeRecords = (): number => sandbox.cloudflare.records('example.com').filter((record) => record.name.startsWith('_acme-challenge')).length;
  const renew = async (): Promise<void> => {
    const answer = await sandbox.api('POST', `/certificates/${encodeURIComponent(wildcardId)}/renew`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  };

  before(async () => {
    sandbox = await startSandbox({
      acmeFront: true,
      pebbleValiditySeconds: validitySeconds,
      configure: (config) => {
        config['certificates'] = { renewalCheckIntervalMs: 500, backoffMinMs: 300, backoffMaxMs: 2_000, sendmailPath: '/bin/true' };
        (config['dns'] as Record<string, unknown>)['propagationTimeoutMs'] = 1_500;
      },
    });
    assert.ok(sandbox.acmeFront !== null);
    front = sandbox.acmeFront;
    // Keep automatic ARI renewals away until the renewal test asks for them.
    front.setAriWindow(0.97, 0.99, 1);
    await sandbox.startDaemon();
    const created = await sandbox.api('POST', '/domains', {
      domain: 'example.com',
      'acme-directory': sandbox.acmeDirectoryUrl,
      'acme-email': 'admin@example.com',
      'cloudflare-token': sandbox.cloudflareToken,
      'certificate-mode': 'wildcard',
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('issues apex and wildcard in one order', async () => {
    const port = sandbox.containers[0]?.port;
    // Requests before this test include the permission probe of the domain's verification.
    const logStart = sandbox.cloudflare.requestLog.length;
    const created = await sandbox.api('POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await waitUntil('the wildcard certificate', async () => (await sandbox.api('GET', '/certificates')).body.data instanceof Array && ((await sandbox.api('GET', '/certificates')).body.data as unknown[]).length > 0, 30_000);
    const issued = await certificate();
    assert.equal(front.orders.length, 1);
    assert.deepEqual(front.orders[0]?.identifiers.map((item) => item.value).sort(), ['*.example.com', 'example.com']);
    await waitUntil('the wildcard to be served', async () => (await served('app.example.com').catch(() => '')) === issued.serial, 10_000);
    // Both TXT values were created under one name and each deleted by its own id.
    const log = sandbox.cloudflare.requestLog.slice(logStart).filter((entry) => entry.path.includes('/dns_records'));
    const deletes = log.filter((entry) => entry.method === 'DELETE').map((entry) => entry.path);
    assert.equal(new Set(deletes).size, 2);
    assert.equal(challengeRecords(), 0);
  });

  it('serves a new service without an order', async () => {
    const port = sandbox.containers[1]?.port;
    const created = await sandbox.api('POST', '/services', { subdomain: 'wiki', domain: 'example.com', vmid: 102, port });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const issued = await certificate();
    await waitUntil('wiki to be served', async () => (await served('wiki.example.com').catch(() => '')) === issued.serial, 15_000);
    assert.equal(front.orders.length, 1);
  });

  it('renews at the ARI window without failed handshakes', async () => {
    const before = await certificate();
    front.setAriWindow(0.2, 0.3, 1);
    let failures = 0;
    let handshakes = 0;
    let renewed = '';
    await waitUntil(
      'the ARI renewal',
      async () => {
        handshakes++;
        const serial = await served('app.example.com').catch(() => {
          failures++;
          return '';
        });
        if (serial !== '' && serial !== before.serial) renewed = serial;
        return renewed !== '';
      },
      validitySeconds * 1000,
    );
    const lifetime = Date.parse(before['not-after']) - Date.parse(before['not-before']);
    const after = await certificate();
    assert.equal(after.serial, renewed);
    assert.equal(failures, 0, `${failures} of ${handshakes} handshakes failed`);
    assert.ok(Date.parse(after['not-before']) < Date.parse(before['not-before']) + lifetime / 2, 'renewed later than the ARI window');
    const renewal = front.orders.at(-1);
    assert.equal(typeof renewal?.replaces, 'string');
    assert.ok(front.renewalInfoRequests.length >= 1);
    front.setAriWindow(0.97, 0.99, 30);
  });

  it('renews at half lifetime without ARI', async () => {
    front.setAri(false);
    // The first certificate planned by the lifetime rule is the one whose renewal is measured.
    await waitUntil('a lifetime-planned certificate', async () => (await certificate())['renewal-rule'] === 'half-remaining', validitySeconds * 1000);
    const before = await certificate();
    await waitUntil('the lifetime renewal', async () => (await certificate()).serial !== before.serial, validitySeconds * 1000);
    const after = await certificate();
    const lifetime = Date.parse(before['not-after']) - Date.parse(before['not-before']);
    // Pebble back-dates notBefore; the renewal must not come before half the lifetime.
    assert.ok(Date.parse(after['not-before']) >= Date.parse(before['not-before']) + lifetime / 2 - 1_000);
    assert.equal(front.orders.at(-1)?.replaces, undefined);
    await waitUntil('the new certificate to be served', () => servesStored(before.serial), 10_000);
  });

  it('waits out rateLimited with Retry-After', async () => {
    // Far-off ARI window for the fault tests, so that only renew requests send orders.
    front.setAri(true);
    front.setAriWindow(0.97, 0.99, 30);
    await waitUntil('a fresh certificate planned by ARI', async () => (await certificate())['renewal-rule'] === 'ari-window', validitySeconds * 1000);
    const before = await certificate();
    front.inject({ method: 'POST', pathPrefix: '/order-plz', status: 429, type: 'rateLimited', detail: 'too many certificates for this name set', headers: { 'retry-after': '3' }, times: 1 });
    const ordersBefore = front.count('POST', '/order-plz');
    await renew();
    await waitUntil('the failure', async () => /rateLimited/.test((await certificate())['last-error'] ?? ''), 10_000);
    const failed = await certificate();
    assert.equal(failed['renewal-rule'], 'rate-limit');
    assert.match(failed['last-error'] ?? '', /rateLimited/);
    assert.ok(Date.parse(failed['next-attempt'] ?? '') >= Date.now() + 1_500);
    // A renew request bypasses the backoff but not the CA's Retry-After.
    await renew();
    await sleep(1_000);
    assert.equal(front.count('POST', '/order-plz'), ordersBefore + 1);
    assert.equal(await served('app.example.com'), before.serial);
    await sleep(2_200);
    await renew();
    await waitUntil('the renewal after Retry-After', async () => (await certificate()).serial !== before.serial, 15_000);
    assert.equal((await certificate()).failures, 0);
  });

  it('retries badNonce with the fresh nonce', async () => {
    const before = await certificate();
    front.inject({ method: 'POST', pathPrefix: '/finalize-order/', status: 400, type: 'badNonce', detail: 'JWS has an invalid anti-replay nonce', times: 2 });
    await renew();
    await waitUntil('the renewal', async () => (await certificate()).serial !== before.serial, 15_000);
    assert.equal((await certificate()).failures, 0);
    assert.equal(challengeRecords(), 0);
  });

  it('polls processing orders at Retry-After', async () => {
    const before = await certificate();
    front.holdProcessing(3, 1);
    const started = Date.now();
    await renew();
    await waitUntil('the renewal', async () => (await certificate()).serial !== before.serial, 20_000);
    assert.ok(Date.now() - started >= 2_500, 'the order was polled faster than Retry-After');
  });

  it('backs off after CA 500s', async () => {
    const before = await certificate();
    front.inject({ method: 'POST', pathPrefix: '/order-plz', status: 500, type: 'serverInternal', detail: 'the CA is unwell', times: 1 });
    await renew();
    await waitUntil('the failure', async () => /HTTP 500/.test((await certificate())['last-error'] ?? ''), 10_000);
    const failed = await certificate();
    assert.ok(failed.failures >= 1);
    assert.equal(failed['renewal-rule'], 'backoff');
    assert.notEqual(failed['next-attempt'], null);
    assert.equal(await served('app.example.com'), before.serial);
    assert.equal(challengeRecords(), 0);
  });

  it('backs off after Cloudflare 429', async () => {
    await sleep(2_100);
    const before = await certificate();
    sandbox.cloudflare.injectFault({
      match: (request) => request.method === 'POST' && request.path.endsWith('/dns_records'),
      status: 429,
      body: { success: false, errors: [{ code: 10100, message: 'More than 1200 requests per 300 seconds reached.' }], messages: [], result: null },
      headers: { 'retry-after': '1' },
      times: 10,
    });
    await renew();
    await waitUntil('the failure', async () => /429/.test((await certificate())['last-error'] ?? ''), 20_000);
    sandbox.cloudflare.clearFaults();
    const failed = await certificate();
    assert.match(failed['last-error'] ?? '', /429/);
    assert.equal(await served('app.example.com'), before.serial);
    assert.equal(challengeRecords(), 0);
  });

  it('times out a TXT record that never appears', async () => {
    await sleep(2_100);
    sandbox.cloudflare.setPropagationDelay('example.com', 600_000);
    await renew();
    await waitUntil('the failure', async () => /Timed out/.test((await certificate())['last-error'] ?? ''), 20_000);
    sandbox.cloudflare.setPropagationDelay('example.com', 0);
    const failed = await certificate();
    assert.match(failed['last-error'] ?? '', /_acme-challenge\.example\.com/);
    // The timed-out order installed nothing: HAProxy serves the stored certificate, which did not
    // change after the failure. Comparing with a serial read before the order would race with an
    // ARI renewal of the previous 40 s certificate that may still be finishing then.
    await waitUntil('the stored certificate to be served', async () => (await served('app.example.com').catch(() => '')) === (await certificate()).serial, 5_000);
    assert.equal((await certificate()).serial, failed.serial);
    assert.equal(challengeRecords(), 0);
  });

  it('resumes the order after a kill', async () => {
    await sleep(2_100);
    const before = await certificate();
    sandbox.cloudflare.setPropagationDelay('example.com', 600_000);
    await renew();
    await waitUntil('both challenge records', () => Promise.resolve(challengeRecords() === 2), 10_000);
    const pending = (await certificate())['pending-order'];
    assert.notEqual(pending, null);
    const ordersBefore = front.count('POST', '/order-plz');
    await sandbox.stopDaemon('SIGKILL');
    await stopLeftoverHaproxy(sandbox.dir);
    sandbox.cloudflare.setPropagationDelay('example.com', 0);
    assert.equal(challengeRecords(), 2);
    await sandbox.startDaemon();
    await waitUntil('the resumed renewal', async () => (await certificate()).serial !== before.serial, 30_000);
    assert.equal(front.count('POST', '/order-plz'), ordersBefore);
    assert.equal(challengeRecords(), 0);
    await waitUntil('the new certificate to be served', () => servesStored(before.serial), 10_000);
  });
});
