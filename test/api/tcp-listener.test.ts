import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { buildApi, listenOnSocket, listenOnTcp, type TcpListener } from '../../daemon/src/api/server.js';
import type { AuditEntry } from '../../daemon/src/auth/audit-log.js';
import { findFreePort } from '../sandbox/ports.js';
import { makeListenerCertificate } from '../sandbox/tls.js';
import { startSecuredApi, ticketHeaders, userSession, validCloudflareToken, type SecuredApi, type Session } from './fixtures.js';

interface Answer {
  status: number;
  statusMessage: string;
  body: string;
}

function collect(resolve: (answer: Answer) => void, reject: (err: Error) => void) {
  return (response: IncomingMessage): void => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve({ status: response.statusCode ?? 0, statusMessage: response.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8') }));
    response.on('error', reject);
  };
}

const domainBody = { domain: 'socket.example', 'acme-directory': 'https://acme.example.net/dir', 'acme-email': 'admin@example.com', 'cloudflare-token': validCloudflareToken };

describe('tcp listener', () => {
  let api: SecuredApi;
  let admin: Session;
  let tcp: TcpListener;
  let ca: Buffer;
  let socket: string;

  const overTcp = (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = httpsRequest(
        { host: '127.0.0.1', port: tcp.port, method, path, ca, servername: 'localhost', headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, agent: false, timeout: 10_000 },
        collect(resolve, reject),
      );
      request.on('error', reject);
      request.end(payload);
    });

  const overSocket = (method: string, path: string, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = httpRequest({ socketPath: socket, method, path, headers: payload === undefined ? {} : { 'content-type': 'application/json' }, timeout: 10_000 }, collect(resolve, reject));
      request.on('error', reject);
      request.end(payload);
    });

  before(async () => {
    api = await startSecuredApi();
    admin = await userSession(api.pve, 'admin@pve', { '/': ['Sys.Audit', 'Sys.Modify'] });
    const certificate = await makeListenerCertificate(api.dir, 'api');
    ca = await readFile(certificate.caFile);
    socket = join(api.dir, 'api.sock');
    await listenOnSocket(api.app, socket);
    tcp = await listenOnTcp(api.app, { address: '127.0.0.1', port: await findFreePort(), cert: await readFile(certificate.certFile), key: await readFile(certificate.keyFile) });
  });

  after(async () => {
    await tcp.close();
    await api.stop();
  });

  it('refuses TCP without a ticket', async () => {
    const answer = await overTcp('GET', '/api2/json/domains', {});
    assert.equal(answer.status, 401);
    assert.equal(answer.statusMessage, 'No ticket');
  });

  it('serves TCP with a ticket', async () => {
    const answer = await overTcp('GET', '/api2/json/domains', ticketHeaders(admin, false));
    assert.equal(answer.status, 200, answer.body);
  });

  it('takes a write with CSRF over TCP', async () => {
    const answer = await overTcp('POST', '/api2/json/domains', ticketHeaders(admin, true), { ...domainBody, domain: 'tcp.example' });
    assert.equal(answer.status, 200, answer.body);
  });

  it('serves the socket without a ticket', async () => {
    const answer = await overSocket('GET', '/api2/json/domains');
    assert.equal(answer.status, 200, answer.body);
  });

  it('audits root on the socket', async () => {
    const answer = await overSocket('POST', '/api2/json/domains', domainBody);
    assert.equal(answer.status, 200, answer.body);
    // The entry is appended when the server finishes the response, which may come after the client read it.
    let entries: AuditEntry[] = [];
    for (let attempt = 0; attempt < 50 && entries[0]?.object !== 'socket.example'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      entries = await api.audit.read(1);
    }
    assert.equal(entries[0]?.user, 'root@pam (socket)');
    assert.equal(entries[0]?.object, 'socket.example');
  });

  it('keeps the socket root-only', async () => {
    const mode = (await stat(socket)).mode & 0o777;
    assert.equal(mode, 0o600);
  });

  it('reads the audit log over the socket', async () => {
    const answer = await overSocket('GET', '/api2/json/audit');
    assert.equal(answer.status, 200);
    const entries = (JSON.parse(answer.body) as { data: AuditEntry[] }).data;
    assert.ok(entries.some((entry) => entry.user === 'admin@pve' && entry.object === 'tcp.example'));
  });

  it('refuses TCP for an unauthenticated app', async () => {
    const open = await buildApi({ state: api.state, secrets: api.secrets, enqueue: () => undefined, logger: pino({ level: 'silent' }) });
    await assert.rejects(listenOnTcp(open, { address: '127.0.0.1', port: await findFreePort(), cert: '', key: '' }), /without authentication/);
    await open.close();
  });
});
