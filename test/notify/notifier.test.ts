import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { DaemonMetrics } from '../../daemon/src/metrics/daemon-metrics.js';
import { credentialsRejected, type Notification } from '../../daemon/src/notify/events.js';
import { Notifier, type NotifierOptions } from '../../daemon/src/notify/notifier.js';
import { postWebhook } from '../../daemon/src/notify/webhook.js';
import { makeListenerCertificate } from '../sandbox/tls.js';

interface Received {
  path: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

const sample: Notification = {
  event: 'renewal-failed',
  object: 'app.example.com',
  domain: 'example.com',
  severity: 'error',
  message: 'Ordering failed: the CA said "token": "abcdefghijklmnopqrstuvwxyz0123456789" is wrong.',
  action: 'Fix it.',
};

describe('notifier', () => {
  let dir: string;
  let mailLog: string;
  let sendmail: string;
  let server: Server;
  let ca: string;
  let webhookUrl: string;
  const received: Received[] = [];
  /** Statuses the webhook returns, one per request, then 200 once the list is empty. */
  let statuses: number[] = [];

  const options = (overrides: Partial<NotifierOptions> = {}): NotifierOptions => ({
    node: 'pve1',
    sendmailPath: sendmail,
    mailTo: ['root'],
    repeatIntervalMs: 60_000,
    stateFile: null,
    webhook: { timeoutMs: 2_000, attempts: 3, retryDelayMs: 20, ca },
    webhookFor: (domain) => (domain === 'example.com' ? webhookUrl : undefined),
    logger: pino({ level: 'silent' }),
    ...overrides,
  });

  /** Returns the recorded messages. Concurrent sendmail calls may interleave, so tests that send several count subjects. */
  const mails = async (): Promise<string[]> => {
    const text = await readFile(mailLog, 'utf8').catch(() => '');
    return text.split('\n--end--\n').filter((item) => item.trim() !== '');
  };
  const subjects = async (): Promise<string[]> => (await readFile(mailLog, 'utf8').catch(() => '')).match(/^Subject: .*$/gm) ?? [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'notifier-'));
    mailLog = join(dir, 'mail.log');
    sendmail = join(dir, 'sendmail');
    // Records the arguments and the message of each call, separated by a marker line.
    await writeFile(sendmail, `#!/bin/sh\n{ echo "argv: $*"; cat; echo; echo '--end--'; } >> '${mailLog}'\n`);
    await chmod(sendmail, 0o755);
    const certificate = await makeListenerCertificate(dir, 'webhook');
    ca = await readFile(certificate.caFile, 'utf8');
    server = createServer({ cert: await readFile(certificate.certFile), key: await readFile(certificate.keyFile) }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ path: request.url ?? '', contentType: request.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        const status = statuses.shift() ?? 200;
        if (status === 0) return; // no response: the client's timeout ends the attempt
        response.writeHead(status);
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    webhookUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-path`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    received.length = 0;
    statuses = [];
    await rm(mailLog, { force: true });
  });

  it('mails root through sendmail', async () => {
    const notifier = await Notifier.open(options());
    assert.equal(notifier.notify(credentialsRejected('example.com', 'Invalid API Token')), true);
    await notifier.idle();
    const [mail] = await mails();
    assert.match(mail ?? '', /^argv: -oi -- root$/m);
    assert.match(mail ?? '', /^To: root$/m);
    assert.match(mail ?? '', /^Subject: pve-domains: credentials-rejected example\.com on pve1$/m);
    assert.match(mail ?? '', /^Event: {4}credentials-rejected$/m);
    assert.match(mail ?? '', /Cloudflare rejected the credentials of domain example\.com: Invalid API Token/);
  });

  it('calls the domain webhook', async () => {
    const notifier = await Notifier.open(options());
    notifier.notify(sample);
    await notifier.idle();
    assert.equal(received.length, 1);
    const [call] = received;
    assert.equal(call?.path, '/hook/secret-path');
    assert.equal(call?.contentType, 'application/json');
    assert.deepEqual(Object.keys(call?.body ?? {}).sort(), ['event', 'message', 'node', 'object', 'time']);
    assert.equal(call?.body['event'], 'renewal-failed');
    assert.equal(call?.body['object'], 'app.example.com');
    assert.equal(call?.body['node'], 'pve1');
    assert.equal(typeof call?.body['time'], 'string');
  });

  it('removes secrets', async () => {
    const notifier = await Notifier.open(options());
    notifier.notify(sample);
    await notifier.idle();
    assert.equal(JSON.stringify(received[0]?.body).includes('abcdefghijklmnopqrstuvwxyz0123456789'), false);
    assert.match(String(received[0]?.body['message']), /\[redacted\]/);
    assert.equal((await mails()).join('').includes('abcdefghijklmnopqrstuvwxyz0123456789'), false);
  });

  it('skips the webhook of other domains', async () => {
    const notifier = await Notifier.open(options());
    notifier.notify({ ...sample, domain: 'other.example' });
    await notifier.idle();
    assert.equal(received.length, 0);
    assert.equal((await mails()).length, 1);
  });

  it('suppresses repeats', async () => {
    let clock = 1_000_000;
    const metrics = new DaemonMetrics();
    const notifier = await Notifier.open(options({ now: () => clock, counters: metrics }));
    assert.equal(notifier.notify(sample), true);
    clock += 30_000;
    assert.equal(notifier.notify(sample), false);
    assert.equal(notifier.notify({ ...sample, object: 'wiki.example.com' }), true);
    clock += 31_000;
    assert.equal(notifier.notify(sample), true);
    await notifier.idle();
    assert.equal((await subjects()).length, 3);
    assert.equal(metrics.notifications.get({ event: 'renewal-failed', channel: 'mail', result: 'suppressed' }), 1);
    assert.equal(metrics.notifications.get({ event: 'renewal-failed', channel: 'mail', result: 'sent' }), 3);
    assert.equal(metrics.notifications.get({ event: 'renewal-failed', channel: 'webhook', result: 'sent' }), 3);
  });

  it('sends again after reset', async () => {
    const notifier = await Notifier.open(options());
    notifier.notify(sample);
    notifier.reset('renewal-failed', 'app.example.com');
    assert.equal(notifier.notify(sample), true);
    await notifier.idle();
  });

  it('keeps send times across restarts', async () => {
    const stateFile = join(dir, 'sent.json');
    const first = await Notifier.open(options({ stateFile }));
    first.notify(sample);
    await first.idle();
    const second = await Notifier.open(options({ stateFile }));
    assert.equal(second.notify(sample), false);
    await second.idle();
    assert.equal((await mails()).length, 1);
  });

  it('retries a failing webhook', async () => {
    statuses = [503, 500];
    const notifier = await Notifier.open(options());
    notifier.notify(sample);
    await notifier.idle();
    assert.equal(received.length, 3);
  });

  it('stops at a client error', async () => {
    statuses = [404];
    const metrics = new DaemonMetrics();
    const notifier = await Notifier.open(options({ counters: metrics }));
    notifier.notify(sample);
    await notifier.idle();
    assert.equal(received.length, 1);
    assert.equal(metrics.notifications.get({ event: 'renewal-failed', channel: 'webhook', result: 'failed' }), 1);
  });

  it('counts a failing sendmail', async () => {
    const metrics = new DaemonMetrics();
    const notifier = await Notifier.open(options({ sendmailPath: '/bin/false', counters: metrics }));
    notifier.notify(sample);
    await notifier.idle();
    assert.equal(metrics.notifications.get({ event: 'renewal-failed', channel: 'mail', result: 'failed' }), 1);
  });
});

describe('webhook post', () => {
  it('times out a silent receiver', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webhook-timeout-'));
    const certificate = await makeListenerCertificate(dir, 'silent');
    const requests: number[] = [];
    const server = createServer({ cert: await readFile(certificate.certFile), key: await readFile(certificate.keyFile) }, () => {
      requests.push(Date.now());
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const started = Date.now();
    try {
      await assert.rejects(
        postWebhook(url, { event: 'backend-down', object: 'app.example.com', node: 'pve1', time: new Date().toISOString(), message: 'down' }, { timeoutMs: 200, attempts: 2, retryDelayMs: 10, ca: await readFile(certificate.caFile, 'utf8') }),
        /failed after 2 attempt\(s\): no response within 200 ms/,
      );
      assert.equal(requests.length, 2);
      assert.ok(Date.now() - started < 2_000);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects an untrusted certificate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webhook-tls-'));
    const certificate = await makeListenerCertificate(dir, 'untrusted');
    const server = createServer({ cert: await readFile(certificate.certFile), key: await readFile(certificate.keyFile) }, (_request, response) => response.end());
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      await assert.rejects(postWebhook(url, { event: 'backend-down', object: 'x', node: 'pve1', time: '', message: '' }, { timeoutMs: 1_000, attempts: 1, retryDelayMs: 10 }), /failed after 1 attempt/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
