import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { RouteOptions } from '../../daemon/src/proxy/route-options.js';
import { RuntimeApiClient } from '../../daemon/src/proxy/runtime-api.js';
import { startEchoTarget, type EchoAnswer, type EchoTarget } from '../ingress/echo-target.js';
import { createIngressFixture, type IngressFixture } from '../proxy/fixtures.js';
import { SESSION_COOKIE, startAuthServer, type StandInAuthServer } from '../sandbox/auth-server.js';
import { send, type GateResponse } from './targets.js';

/** The sign-in gate on a real HAProxy 2.6 with the stand-in authentication server. */

let fixture: IngressFixture;
let target: EchoTarget;
let auth: StandInAuthServer;
let overrideDir: string;

const alice = { user: 'alice', email: 'alice@example.test', groups: ['staff', 'admins'], preferredUsername: 'Alice' };

before(async () => {
  target = await startEchoTarget('127.0.0.1', 'app');
  auth = await startAuthServer('127.0.0.3');
  overrideDir = await mkdtemp(join(tmpdir(), 'gate-pages-'));
  fixture = await createIngressFixture({}, { errorPages: { overrideDir } });
  await fixture.start();
  await fixture.ingress.setRoute(route('gate.test', { authRequired: true, authServer: auth.url }));
  await fixture.ingress.setRoute(route('nogate.test', { authRequired: true, authServer: null }));
});

after(async () => {
  const running = await fixture.cleanup();
  await target.close();
  await auth.close();
  await rm(overrideDir, { recursive: true, force: true });
  assert.deepEqual(running, []);
});

function route(hostname: string, options: Partial<RouteOptions>): Parameters<IngressFixture['ingress']['setRoute']>[0] {
  return { hostname, targets: [{ address: target.address, port: target.port }], options };
}

function get(hostname: string, path = '/', headers: Record<string, string> = {}): Promise<GateResponse> {
  return send({ port: fixture.httpsPort, hostname, path, headers });
}

function echo(response: GateResponse): EchoAnswer {
  return JSON.parse(response.body) as EchoAnswer;
}

function signedIn(identity = alice): Record<string, string> {
  return { cookie: `theme=dark; ${SESSION_COOKIE}=${auth.createSession(identity)}` };
}

describe('sign-in gate', () => {
  it('redirects signed-out requests', async () => {
    const before = target.requests;
    const response = await get('gate.test', '/app/page?x=1&y=2');
    assert.equal(response.status, 302);
    assert.equal(response.headers.location, `/oauth2/start?rd=${encodeURIComponent('https://gate.test/app/page?x=1&y=2')}`);
    assert.equal(target.requests, before);
  });

  it('redirects an unknown session', async () => {
    const response = await get('gate.test', '/', { cookie: `${SESSION_COOKIE}=expired` });
    assert.equal(response.status, 302);
    assert.equal(auth.checks.at(-1)?.status, 401);
  });

  it('passes the identity to the backend', async () => {
    const response = await get('gate.test', '/', signedIn());
    assert.equal(response.status, 200);
    const headers = echo(response).headers;
    assert.equal(headers['x-auth-request-user'], 'alice');
    assert.equal(headers['x-auth-request-email'], 'alice@example.test');
    assert.equal(headers['x-auth-request-groups'], 'staff,admins');
    assert.equal(headers['x-auth-request-preferred-username'], 'Alice');
    assert.equal(headers['x-forwarded-user'], 'alice');
    assert.equal(headers['x-forwarded-email'], 'alice@example.test');
    assert.equal(headers['x-forwarded-groups'], 'staff,admins');
    assert.equal(headers['x-forwarded-preferred-username'], 'Alice');
  });

  it('accepts a bearer token', async () => {
    const token = auth.createSession({ ...alice, user: 'robot' });
    const response = await get('gate.test', '/', { authorization: `Bearer ${token}` });
    assert.equal(response.status, 200);
    assert.equal(echo(response).headers['x-auth-request-user'], 'robot');
  });

  it('drops forged identity headers', async () => {
    const forged = {
      'X-Auth-Request-User': 'root',
      'X-Auth-Request-Email': 'root@example.test',
      'X-Auth-Request-Access-Token': 'forged',
      'X-Forwarded-User': 'root',
      'X-Forwarded-Email': 'root@example.test',
      'X-Forwarded-Groups': 'admins',
      'X-Forwarded-Preferred-Username': 'root',
    };
    const headers = echo(await get('gate.test', '/', { ...signedIn(), ...forged })).headers;
    assert.equal(headers['x-auth-request-user'], 'alice');
    assert.equal(headers['x-auth-request-email'], 'alice@example.test');
    assert.equal(headers['x-auth-request-access-token'], undefined);
    assert.equal(headers['x-forwarded-user'], 'alice');
    assert.equal(headers['x-forwarded-email'], 'alice@example.test');
    assert.equal(headers['x-forwarded-groups'], 'staff,admins');
    assert.equal(headers['x-forwarded-preferred-username'], 'Alice');

    const before = target.requests;
    const signedOut = await get('gate.test', '/', forged);
    assert.equal(signedOut.status, 302);
    assert.equal(target.requests, before);
  });

  it('drops identity headers the server does not send', async () => {
    const headers = echo(await get('gate.test', '/', { ...signedIn({ ...alice, email: '' }), 'X-Auth-Request-Email': 'root@example.test' })).headers;
    assert.equal(headers['x-auth-request-user'], 'alice');
    assert.equal(headers['x-auth-request-email'], undefined);
    assert.equal(headers['x-forwarded-email'], undefined);
  });

  it('forwards only cookie and authorization', async () => {
    const cookie = signedIn().cookie ?? '';
    const response = await send({
      port: fixture.httpsPort,
      hostname: 'gate.test',
      method: 'POST',
      path: '/upload',
      headers: { cookie, authorization: 'Bearer not-a-session', 'x-secret': 'do-not-forward', 'content-type': 'text/plain' },
      body: 'request body that stays with the backend',
    });
    assert.equal(response.status, 200);
    const check = auth.checks.at(-1);
    assert.equal(check?.headers.cookie, cookie);
    assert.equal(check?.headers.authorization, 'Bearer not-a-session');
    assert.equal(check?.headers['x-secret'], undefined);
    assert.equal(check?.headers['content-type'], undefined);
    assert.equal(check?.bodyBytes, 0);
  });

  it('caches positive answers per credential', async () => {
    const first = signedIn();
    const second = signedIn();
    const before = auth.checks.length;
    assert.equal((await get('gate.test', '/', first)).status, 200);
    assert.equal((await get('gate.test', '/', first)).status, 200);
    assert.equal((await get('gate.test', '/', first)).status, 200);
    assert.equal(auth.checks.length, before + 1);
    assert.equal((await get('gate.test', '/', second)).status, 200);
    assert.equal(auth.checks.length, before + 2);
  });

  it('never caches a negative answer', async () => {
    const cookie = { cookie: `${SESSION_COOKIE}=unknown-session` };
    const before = auth.checks.length;
    assert.equal((await get('gate.test', '/', cookie)).status, 302);
    assert.equal((await get('gate.test', '/', cookie)).status, 302);
    assert.equal(auth.checks.length, before + 2);
  });

  it('routes oauth2 paths to the server', async () => {
    const start = await get('gate.test', `/oauth2/start?rd=${encodeURIComponent('https://gate.test/after')}`);
    assert.equal(start.status, 302);
    assert.equal(start.headers.location, `/oauth2/sign_in?rd=${encodeURIComponent('https://gate.test/after')}`);

    const signIn = await send({
      port: fixture.httpsPort,
      hostname: 'gate.test',
      method: 'POST',
      path: '/oauth2/sign_in',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `user=bob&rd=${encodeURIComponent('https://gate.test/after')}`,
    });
    assert.equal(signIn.status, 302);
    assert.equal(signIn.headers.location, 'https://gate.test/after');
    const setCookie = [signIn.headers['set-cookie'] ?? []].flat()[0] ?? '';
    const session = setCookie.split(';')[0] ?? '';
    assert.match(session, new RegExp(`^${SESSION_COOKIE}=.+`));

    const page = await get('gate.test', '/after', { cookie: session });
    assert.equal(page.status, 200);
    assert.equal(echo(page).headers['x-auth-request-user'], 'bob');
  });

  it('answers 403 for a forbidden user', async () => {
    auth.forbiddenUsers.add('mallory');
    const response = await get('gate.test', '/', signedIn({ ...alice, user: 'mallory' }));
    assert.equal(response.status, 403);
  });

  it('answers 503 when the server fails', async () => {
    auth.failWith = 500;
    try {
      const response = await get('gate.test', '/', signedIn());
      assert.equal(response.status, 503);
      assert.match(response.body, /Sign-in is unavailable/);
    } finally {
      auth.failWith = null;
    }
  });

  it('answers 503 without a server', async () => {
    const before = target.requests;
    const response = await get('nogate.test', '/', signedIn());
    assert.equal(response.status, 503);
    assert.match(response.body, /Sign-in is not configured/);
    assert.equal(target.requests, before);
  });

  it('gates plain http too', async () => {
    await fixture.ingress.setRoute(route('plain-gate.test', { authRequired: true, authServer: auth.url, httpsRedirect: false }));
    const response = await send({ port: fixture.httpPort, hostname: 'plain-gate.test', path: '/p', plain: true });
    assert.equal(response.status, 302);
    assert.equal(response.headers.location, `/oauth2/start?rd=${encodeURIComponent('http://plain-gate.test/p')}`);
  });

  it('answers 503 when the server is down', async () => {
    const stopped = await startAuthServer('127.0.0.4');
    await stopped.close();
    await fixture.ingress.setRoute(route('down-gate.test', { authRequired: true, authServer: stopped.url }));
    const response = await get('down-gate.test', '/', signedIn());
    assert.equal(response.status, 503);
    assert.match(response.body, /Sign-in is unavailable/);
  });

  it('never sends oauth2 paths to the guest', async () => {
    // A sign-in server whose name did not resolve is disabled (maintenance); the runtime API puts
    // every gate server into that state without a DNS lookup.
    const runtime = new RuntimeApiClient(join(fixture.runDir, 'admin.sock'));
    const servers = (await runtime.execute({ command: 'show servers state' }))
      .split('\n')
      .map((line) => line.split(' '))
      .filter((fields) => fields[3] === 'pve_auth')
      .map((fields) => `${fields[1] ?? ''}/pve_auth`);
    assert.ok(servers.length > 0, 'no sign-in server found in the running configuration');
    const before = target.requests;
    try {
      for (const server of servers) await runtime.execute({ command: `set server ${server} state maint` });
      const response = await get('gate.test', '/oauth2/start?rd=x');
      assert.equal(response.status, 503);
      assert.match(response.body, /Sign-in is unavailable/);
      assert.equal(target.requests, before);
    } finally {
      for (const server of servers) await runtime.execute({ command: `set server ${server} state ready` });
    }
  });

  it('keeps the gate after a reload', async () => {
    await fixture.ingress.reload();
    const response = await get('gate.test', '/', signedIn());
    assert.equal(response.status, 200);
    assert.equal(echo(response).headers['x-auth-request-user'], 'alice');
  });
});
