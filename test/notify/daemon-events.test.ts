import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { makeListenerCertificate } from '../sandbox/tls.js';

interface TaskItem {
  upid: string;
  type: string;
  id: string;
  node: string;
  status: string;
}

/** GET over the daemon's unix socket, returning the raw text (the metrics are not JSON). */
function getRaw(socketPath: string, path: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ socketPath, method: 'GET', path: `/api2/json${path}`, timeout: 10_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer for GET ${path}`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The daemon's metrics, tasks and notifications end to end: a domain with a webhook, a service
 * whose certificate Pebble issues, and Cloudflare credentials revoked afterwards.
 */
describe('daemon events', { timeout: 120_000 }, () => {
  let sandbox: Sandbox;
  let webhook: Server;
  let certificateDir = '';
  const calls: Array<Record<string, unknown>> = [];
  const mailLog = (): Promise<string> => readFile(join(sandbox.dir, 'mail.log'), 'utf8').catch(() => '');
  const tasks = async (): Promise<TaskItem[]> => ((await sandbox.api('GET', '/tasks')).body.data as TaskItem[] | undefined) ?? [];

  before(async () => {
    certificateDir = await mkdtemp(join(tmpdir(), 'webhook-certificate-'));
    const certificate = await makeListenerCertificate(certificateDir, 'webhook');
    sandbox = await startSandbox({
      configure: (config) => {
        config['notify'] = { ...(config['notify'] as Record<string, unknown>), webhookCaFile: certificate.caFile };
      },
    });
    webhook = createServer({ cert: await readFile(certificate.certFile), key: await readFile(certificate.keyFile) }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        calls.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        response.writeHead(204);
        response.end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen({ host: '127.0.0.1', port: 0 }, resolve));
    await sandbox.startDaemon();
  });

  after(async () => {
    webhook?.closeAllConnections();
    await new Promise<void>((resolve) => (webhook === undefined ? resolve() : webhook.close(() => resolve())));
    await sandbox?.stop();
    await rm(certificateDir, { recursive: true, force: true });
  });

  it('records the verification task', async () => {
    const url = `https://127.0.0.1:${(webhook.address() as AddressInfo).port}/hooks/token-in-path`;
    const created = await sandbox.api('POST', '/domains', {
      domain: 'example.com',
      'acme-directory': sandbox.acmeDirectoryUrl,
      'acme-email': 'admin@example.com',
      'cloudflare-token': sandbox.cloudflareToken,
      'notify-webhook': url,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal((created.body.data as Record<string, unknown>)['notify-webhook'], `https://127.0.0.1:${(webhook.address() as AddressInfo).port}/…`);
    const verify = (await tasks()).find((task) => task.type === 'verify' && task.id === 'example.com');
    assert.equal(verify?.status, 'OK');
    const log = await sandbox.api('GET', `/tasks/${encodeURIComponent(verify?.upid ?? '')}/log`);
    const lines = (log.body.data as Array<{ n: number; t: string }>).map((line) => line.t);
    assert.ok(lines.some((line) => line.startsWith('credentials: pass:')), lines.join('\n'));
    assert.equal(lines.at(-1), 'TASK OK');
  });

  it('rejects an http webhook', async () => {
    const answer = await sandbox.api('PUT', '/domains/example.com', { 'notify-webhook': 'http://127.0.0.1/hook' });
    assert.equal(answer.status, 400);
    assert.match(answer.body.errors?.['notify-webhook'] ?? '', /only https URLs/);
  });

  it('notifies the issued certificate', async () => {
    const service = await sandbox.api('POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port: sandbox.containers[0]?.port });
    assert.equal(service.status, 200, JSON.stringify(service.body));
    await sandbox.waitForService('app.example.com', 'active', 60_000);
    await waitUntil('the certificate-issued mail', async () => (await mailLog()).includes('certificate-issued app.example.com'), 10_000);
    await waitUntil('the certificate-issued webhook', () => calls.some((call) => call['event'] === 'certificate-issued'), 10_000);
    const node = (await tasks())[0]?.node ?? '';
    assert.match(await mailLog(), new RegExp(`^Subject: pve-domains: certificate-issued app\\.example\\.com on ${node}$`, 'm'));
    const call = calls.find((item) => item['event'] === 'certificate-issued');
    assert.equal(call?.['object'], 'app.example.com');
    assert.equal(call?.['node'], node);
    assert.equal(JSON.stringify(calls).includes(sandbox.cloudflareToken), false);
  });

  it('records the issue task', async () => {
    const issue = (await tasks()).find((task) => task.type === 'issue' && task.id === 'app.example.com');
    assert.equal(issue?.status, 'OK');
    const status = await sandbox.api('GET', `/tasks/${encodeURIComponent(issue?.upid ?? '')}/status`);
    assert.equal((status.body.data as Record<string, unknown>)['exitstatus'], 'OK');
    const log = await sandbox.api('GET', `/tasks/${encodeURIComponent(issue?.upid ?? '')}/log`);
    const lines = (log.body.data as Array<{ t: string }>).map((line) => line.t);
    assert.match(lines[0] ?? '', /^Ordering certificate app\.example\.com for app\.example\.com/);
    assert.ok(lines.some((line) => line.startsWith('Certificate issued: serial ')), lines.join('\n'));
    assert.equal(lines.at(-1), 'TASK OK');
  });

  it('exposes the metrics', async () => {
    const answer = await getRaw(sandbox.socket, '/metrics');
    assert.equal(answer.status, 200);
    assert.equal(answer.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(answer.body, /^pve_domains_certificate_not_after_timestamp_seconds\{id="app\.example\.com",domain="example\.com"\} \d+$/m);
    assert.match(answer.body, /^pve_domains_certificate_next_renewal_timestamp_seconds\{id="app\.example\.com",domain="example\.com"\} \d+/m);
    assert.match(answer.body, /^pve_domains_cloudflare_requests_total\{operation="find-zone",status="ok"\} [1-9]\d*$/m);
    assert.match(answer.body, /^pve_domains_ca_requests_total\{operation="new-order",status="201"\} [1-9]\d*$/m);
    assert.match(answer.body, /^pve_domains_certificate_orders_total\{kind="issue",result="ok"\} 1$/m);
    assert.match(answer.body, /^pve_domains_backend_up\{fqdn="app\.example\.com"\} 1$/m);
    assert.match(answer.body, /^pve_domains_reconcile_queue_length \d+$/m);
    assert.match(answer.body, /^pve_domains_api_requests_total\{method="POST",status="200"\} [1-9]\d*$/m);
  });

  it('notifies rejected credentials', async () => {
    sandbox.cloudflare.revokeToken(sandbox.cloudflareToken);
    const verify = await sandbox.api('POST', '/domains/example.com/verify');
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal((verify.body.data as { ready: boolean }).ready, false);
    await waitUntil('the credentials-rejected mail', async () => (await mailLog()).includes('credentials-rejected example.com'), 10_000);
    await waitUntil('the credentials-rejected webhook', () => calls.some((call) => call['event'] === 'credentials-rejected'), 10_000);
    const failed = (await tasks()).find((task) => task.type === 'verify' && task.status !== 'OK');
    assert.match(failed?.status ?? '', /^domain example\.com is not ready: /);
  });
});
