import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { login } from '../sandbox/pve/client.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('daemon tcp api', () => {
  let sandbox: Sandbox;
  let ca: Buffer;

  const call = (method: string, path: string, headers: Record<string, string>): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const url = new URL(`${sandbox.apiUrl}/api2/json${path}`);
      const request = httpsRequest(url, { method, headers, ca, servername: 'localhost', agent: false, timeout: 10_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      request.on('error', reject);
      request.end();
    });

  before(async () => {
    sandbox = await startSandbox();
    ca = await readFile(sandbox.apiCaFile);
    await sandbox.startDaemon();
    // startDaemon waits for the unix socket; the TCP listener may open a moment later.
    const deadline = Date.now() + 10_000;
    while ((await call('GET', '/domains', {}).catch(() => null)) === null && Date.now() < deadline) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
  });

  after(async () => {
    await sandbox.stop();
  });

  it('refuses a call without ticket', async () => {
    const answer = await call('GET', '/domains', {});
    assert.equal(answer.status, 401);
  });

  it('serves a PVE ticket', async () => {
    const password = randomUUID();
    sandbox.pve.addUser('viewer@pve', password, { '/': ['Sys.Audit'] });
    const { ticket } = await login(sandbox.pve.url, 'viewer@pve', password);
    const answer = await call('GET', '/domains', { cookie: `PVEAuthCookie=${encodeURIComponent(ticket)}` });
    assert.equal(answer.status, 200, answer.body);
  });

  it('answers the UI preflight', async () => {
    const origin = 'https://127.0.0.1:8006';
    const answer = await call('OPTIONS', '/domains', { origin, 'access-control-request-method': 'POST' });
    assert.equal(answer.status, 204);
    assert.equal(answer.headers['access-control-allow-origin'], origin);
  });

  it('keeps the socket open to root', async () => {
    const answer = await sandbox.api('GET', '/domains');
    assert.equal(answer.status, 200);
  });
});
