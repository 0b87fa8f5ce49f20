import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { servedSerial } from '../../daemon/src/acme/served-certificate.js';
import { startDnsStub, type DnsStub } from '../sandbox/dns-stub/index.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';

/**
 * Renewals that fail at one authoritative name server, against real Pebble: a server that never
 * shows the TXT value, one that refuses and one that times out, and the expiry warning mail that
 * a failing renewal sends close to expiry. The zone's name servers come from a DNS stub that the
 * daemon uses as its resolver; the Cloudflare simulator's DNS stays the server Pebble queries.
 */

const validitySeconds = 30;
const serviceName = 'app.example.com';
const stubAddresses = ['127.0.0.53', '127.0.0.54', '127.0.0.55'];
const cloudflareServer = { host: 'ada.ns.sandbox.test', address: '127.0.0.1' };
const staleServer = { host: 'stale.ns.sandbox.test', address: '127.0.0.53' };
const refusingServer = { host: 'refusing.ns.sandbox.test', address: '127.0.0.54' };
const silentServer = { host: 'silent.ns.sandbox.test', address: '127.0.0.55' };

interface CertificateView {
  id: string;
  serial: string;
  'not-after': string;
  failures: number;
  'last-error': string | null;
  'next-attempt': string | null;
  'renewal-rule': string | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('failing renewals', () => {
  let sandbox: Sandbox;
  let stub: DnsStub;
  let mailDir: string;
  let issued: CertificateView;

  const certificate = async (): Promise<CertificateView> => {
    const answer = await sandbox.api('GET', '/certificates');
    const found = (answer.body.data as CertificateView[]).find((item) => item.id === serviceName);
    assert.ok(found !== undefined, `certificate ${serviceName} is not listed: ${JSON.stringify(answer.body)}`);
    return found;
  };
  const waitUntil = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; certificates: ${JSON.stringify((await sandbox.api('GET', '/certificates')).body.data)}`);
      await sleep(100);
    }
  };
  const lastErrorMatches = async (pattern: RegExp): Promise<boolean> => {
    const answer = await sandbox.api('GET', '/certificates');
    const found = (answer.body.data as CertificateView[] | undefined)?.find((item) => item.id === serviceName);
    return pattern.test(found?.['last-error'] ?? '');
  };
  const challengeRecords = (): number => sandbox.cloudflare.records('example.com').filter((record) => record.name.startsWith('_acme-challenge')).length;
  const renew = async (): Promise<void> => {
    const answer = await sandbox.api('POST', `/certificates/${serviceName}/renew`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  };

  before(async () => {
    mailDir = await mkdtemp(join(tmpdir(), 'expiry-mail-'));
    const sendmail = join(mailDir, 'sendmail');
    // Records what the daemon hands to sendmail: one argument per line, then the message.
    await writeFile(sendmail, `#!/bin/sh\nprintf '%s\\n' "$@" > '${join(mailDir, 'argv.txt')}'\ncat > '${join(mailDir, 'message.txt')}'\n`);
    await chmod(sendmail, 0o755);

    sandbox = await startSandbox({
      pebbleValiditySeconds: validitySeconds,
      configure: (config) => {
        config['certificates'] = { renewalCheckIntervalMs: 500, backoffMinMs: 300, backoffMaxMs: 2_000, sendmailPath: sendmail, validateWhenDnsUnreachable: false };
        (config['dns'] as Record<string, unknown>)['propagationTimeoutMs'] = 1_500;
      },
    });
    // The propagation check queries every server on the port of the simulator's DNS.
    stub = await startDnsStub(stubAddresses, sandbox.cloudflare.dnsPort);
    stub.setDelegation('example.com', [cloudflareServer]);
    const config = JSON.parse(await readFile(sandbox.configFile, 'utf8')) as { dns: Record<string, unknown> };
    config.dns['resolvers'] = [stub.resolver];
    await writeFile(sandbox.configFile, JSON.stringify(config, null, 2));

    await sandbox.startDaemon();
    const domain = await sandbox.api('POST', '/domains', {
      domain: 'example.com',
      'acme-directory': sandbox.acmeDirectoryUrl,
      'acme-email': 'admin@example.com',
      'cloudflare-token': sandbox.cloudflareToken,
    });
    assert.equal(domain.status, 200, JSON.stringify(domain.body));
    const service = await sandbox.api('POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port: sandbox.containers[0]?.port });
    assert.equal(service.status, 200, JSON.stringify(service.body));
    await waitUntil('the first certificate', async () => ((await sandbox.api('GET', '/certificates')).body.data as unknown[] | undefined)?.length === 1, 30_000);
    issued = await certificate();
    await waitUntil('the certificate to be served', async () => (await servedSerial('127.0.0.1', sandbox.httpsPort, serviceName).catch(() => '')) === issued.serial, 10_000);
  });

  after(async () => {
    await sandbox?.stop();
    await stub?.close();
    if (mailDir !== undefined) await rm(mailDir, { recursive: true, force: true });
  });

  it('names the server without the value', async () => {
    stub.setDelegation('example.com', [cloudflareServer, staleServer]);
    await renew();
    await waitUntil('the propagation failure', () => lastErrorMatches(/stale\.ns\.sandbox\.test/), 15_000);
    const failed = await certificate();
    assert.match(failed['last-error'] ?? '', /stale\.ns\.sandbox\.test \(127\.0\.0\.53\): does not answer the value yet/);
    assert.match(failed['last-error'] ?? '', /ada\.ns\.sandbox\.test \(127\.0\.0\.1\): answers the value/);
    assert.ok(failed.failures >= 1);
    assert.equal(failed['renewal-rule'], 'backoff');
    assert.ok(Date.parse(failed['next-attempt'] ?? '') > Date.now() - 1_000);
    assert.ok(stub.queryCount(staleServer.address) > 0);
    assert.equal(challengeRecords(), 0);
    assert.equal(failed.serial, issued.serial);
    assert.equal(await servedSerial('127.0.0.1', sandbox.httpsPort, serviceName), issued.serial);
  });

  it('reports REFUSED and timeout as such', async () => {
    stub.setAnswer(refusingServer.address, 'refused');
    stub.setAnswer(silentServer.address, 'timeout');
    stub.setDelegation('example.com', [cloudflareServer, refusingServer, silentServer]);
    await renew();
    await waitUntil('the unreachable-server failure', () => lastErrorMatches(/refusing\.ns/), 20_000);
    const failed = await certificate();
    assert.match(failed['last-error'] ?? '', /refusing\.ns\.sandbox\.test \(127\.0\.0\.54\): REFUSED the query/);
    assert.match(failed['last-error'] ?? '', /silent\.ns\.sandbox\.test \(127\.0\.0\.55\): did not answer \(timeout\)/);
    assert.doesNotMatch(failed['last-error'] ?? '', /does not answer the value yet/);
    assert.equal(challengeRecords(), 0);
    assert.equal(await servedSerial('127.0.0.1', sandbox.httpsPort, serviceName), issued.serial);
  });

  it('mails the expiry warning', async () => {
    // Renewals keep failing at the stale server until the certificate is close to expiry.
    stub.setDelegation('example.com', [cloudflareServer, staleServer]);
    await waitUntil(
      'the expiry mail',
      async () => (await readFile(join(mailDir, 'message.txt'), 'utf8').catch(() => '')).includes('Subject:'),
      validitySeconds * 1000,
    );
    const argv = (await readFile(join(mailDir, 'argv.txt'), 'utf8')).split('\n').filter((line) => line !== '');
    const message = await readFile(join(mailDir, 'message.txt'), 'utf8');
    const tokenSecret = (await readFile(join(sandbox.dir, 'pve-token-secret'), 'utf8')).trim();
    const current = await certificate();

    assert.deepEqual(argv, ['-oi', '--', 'root', 'admin@example.com']);
    assert.match(message, /^To: root, admin@example\.com$/m);
    assert.match(message, /^Subject: pve-domains: certificate app\.example\.com expires soon$/m);
    assert.ok(message.includes(`Certificate ${serviceName}`), message);
    assert.ok(message.includes(current['not-after']), message);
    assert.match(message, /stale\.ns\.sandbox\.test \(127\.0\.0\.53\): does not answer the value yet/);
    assert.equal(message.includes(sandbox.cloudflareToken), false);
    assert.equal(message.includes(tokenSecret), false);
    assert.doesNotMatch(message, /PRIVATE KEY/);
    assert.equal(await servedSerial('127.0.0.1', sandbox.httpsPort, serviceName), issued.serial);
  });
});
