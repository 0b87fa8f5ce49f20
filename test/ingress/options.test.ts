import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { hashPassword } from '../../daemon/src/proxy/password-hash.js';
import type { RouteOptions } from '../../daemon/src/proxy/route-options.js';
import { createIngressFixture, httpGet, httpsGet, type IngressFixture, type Response } from '../proxy/fixtures.js';
import { startEchoTarget, type EchoAnswer, type EchoTarget } from './echo-target.js';

/** Route options applied to a real HAProxy 2.6, checked through real requests. */

let fixture: IngressFixture;
let first: EchoTarget;
let second: EchoTarget;

before(async () => {
  first = await startEchoTarget('127.0.0.1', 'first');
  second = await startEchoTarget('127.0.0.2', 'second');
  // Loopback stands in for Cloudflare's ranges, except 127.0.0.9, which plays an outside client.
  fixture = await createIngressFixture({}, { trustedProxyNetworks: ['127.0.0.1/32', '127.0.0.2/32'] });
  await fixture.start();
});

after(async () => {
  const running = await fixture.cleanup();
  await first.close();
  await second.close();
  assert.deepEqual(running, []);
});

function route(hostname: string, options: Partial<RouteOptions> = {}, targets: EchoTarget[] = [first]): Parameters<IngressFixture['ingress']['setRoute']>[0] {
  return { hostname, targets: targets.map((target) => ({ address: target.address, port: target.port })), options };
}

function echo(response: Response): EchoAnswer {
  return JSON.parse(response.body) as EchoAnswer;
}

function get(hostname: string, extra: { path?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Response> {
  return httpsGet({ port: fixture.httpsPort, hostname, ...extra });
}

describe('route options on haproxy', () => {
  it('adds a default route without reload', async () => {
    const worker = fixture.ingress.workerPids[0];
    await fixture.ingress.setRoute(route('plain.test'));
    const response = await get('plain.test');
    assert.equal(response.status, 200);
    assert.equal(echo(response).name, 'first');
    assert.equal(fixture.ingress.workerPids[0], worker);
  });

  it('sets forwarded headers', async () => {
    const response = echo(await get('plain.test', { headers: { 'X-Forwarded-For': '203.0.113.7' } }));
    assert.equal(response.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(response.headers['x-forwarded-proto'], 'https');
  });

  it('redirects unless opted out', async () => {
    await fixture.ingress.setRoute(route('noredirect.test', { httpsRedirect: false }));
    const redirected = await httpGet(fixture.httpPort, 'plain.test');
    const served = await httpGet(fixture.httpPort, 'noredirect.test');
    assert.equal(redirected.status, 301);
    assert.equal(served.status, 200);
    assert.equal((JSON.parse(served.body) as EchoAnswer).headers['x-forwarded-proto'], 'http');
  });

  it('sends hsts', async () => {
    await fixture.ingress.setRoute(route('hsts.test', { hsts: { maxAgeSeconds: 600, includeSubDomains: true } }));
    const withHsts = await get('hsts.test');
    const without = await get('plain.test');
    assert.equal(withHsts.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
    assert.equal(without.headers['strict-transport-security'], undefined);

    await fixture.ingress.setRoute(route('hsts.test', { hsts: { maxAgeSeconds: 60, includeSubDomains: false } }));
    assert.equal((await get('hsts.test')).headers['strict-transport-security'], 'max-age=60');
  });

  it('passes hostile header values verbatim', async () => {
    const value = 'a"b\\c$d#e\'f %[src] ${HOME} ;x';
    const worker = fixture.ingress.workerPids[0];
    await fixture.ingress.setRoute(route('headers.test', {
      requestHeaders: [{ name: 'X-Test', value }, { name: "X-Odd!#$%&'*+.^_`|~", value: 'odd' }],
      responseHeaders: [{ name: 'X-Resp', value: '" # \\' }],
    }));
    const response = await get('headers.test');
    const answer = echo(response);
    assert.equal(answer.headers['x-test'], value);
    assert.equal(answer.headers["x-odd!#$%&'*+.^_`|~"], 'odd');
    assert.equal(response.headers['x-resp'], '" # \\');
    assert.notEqual(fixture.ingress.workerPids[0], worker, 'a rule change reloads');
    fixture.rememberPids();
  });

  it('requires basic auth', async () => {
    const hash = await hashPassword('s3cret pass');
    await fixture.ingress.setRoute(route('auth.test', { basicAuth: [{ user: 'admin', passwordHash: hash }] }));
    fixture.rememberPids();
    const anonymous = await get('auth.test');
    const wrong = await get('auth.test', { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
    const right = await get('auth.test', { headers: { authorization: `Basic ${Buffer.from('admin:s3cret pass').toString('base64')}` } });
    assert.equal(anonymous.status, 401);
    assert.equal(wrong.status, 401);
    assert.equal(right.status, 200);
    assert.equal(echo(right).headers.authorization, undefined);
  });

  it('limits source networks', async () => {
    await fixture.ingress.setRoute(route('net.test', { allowedNetworks: ['127.0.0.5/32'] }));
    fixture.rememberPids();
    assert.equal((await get('net.test', { localAddress: '127.0.0.1' })).status, 403);
    assert.equal((await get('net.test', { localAddress: '127.0.0.5' })).status, 200);
  });

  it('restores the cloudflare client address', async () => {
    await fixture.ingress.setRoute(route('cf.test', { cloudflareProxied: true }));
    const trusted = echo(await get('cf.test', { headers: { 'CF-Connecting-IP': '198.51.100.4' }, localAddress: '127.0.0.1' }));
    const outsider = echo(await get('cf.test', { headers: { 'CF-Connecting-IP': '198.51.100.4' }, localAddress: '127.0.0.9' }));
    const notProxied = echo(await get('plain.test', { headers: { 'CF-Connecting-IP': '198.51.100.4' }, localAddress: '127.0.0.1' }));
    const list = echo(await get('cf.test', { headers: { 'CF-Connecting-IP': '192.0.2.1, 192.0.2.2' }, localAddress: '127.0.0.1' }));
    const garbage = echo(await get('cf.test', { headers: { 'CF-Connecting-IP': 'not-an-address' }, localAddress: '127.0.0.1' }));
    assert.equal(trusted.headers['x-forwarded-for'], '198.51.100.4');
    assert.equal(outsider.headers['x-forwarded-for'], '127.0.0.9');
    assert.equal(notProxied.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(list.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(garbage.headers['x-forwarded-for'], '127.0.0.1');
  });

  it('balances over targets', async () => {
    await fixture.ingress.setRoute(route('pool.test', {}, [first, second]));
    const names = new Set<string>();
    for (let index = 0; index < 6; index++) names.add(echo(await get('pool.test')).name);
    assert.deepEqual([...names].sort(), ['first', 'second']);
  });

  it('moves a target without reload', async () => {
    await fixture.ingress.setRoute(route('move.test', {}, [first]));
    const worker = fixture.ingress.workerPids[0];
    await fixture.ingress.setRoute(route('move.test', {}, [second]));
    assert.equal(echo(await get('move.test')).name, 'second');
    assert.equal(fixture.ingress.workerPids[0], worker);
  });

  it('serves a maintenance page', async () => {
    await fixture.ingress.setRoute({ ...route('maint.test'), maintenance: true });
    const stopped = await get('maint.test');
    assert.equal(stopped.status, 503);
    assert.match(stopped.body, /maintenance/);
    await fixture.ingress.setRoute(route('maint.test'));
    assert.equal((await get('maint.test')).status, 200);
    await fixture.ingress.setRoute(route('maint.test', {}, []));
    assert.equal((await get('maint.test')).status, 503);
  });

  it('reports health and counters', async () => {
    await fixture.ingress.setRoute(route('health.test', { healthCheck: { path: '/health', intervalSeconds: 1 } }, [first, second]));
    fixture.rememberPids();
    second.healthStatus = 503;
    try {
      await get('health.test');
      const deadline = Date.now() + 10_000;
      let states: string[] = [];
      while (Date.now() < deadline) {
        const status = (await fixture.ingress.routeStatus()).find((item) => item.hostname === 'health.test');
        states = status?.targets.map((target) => target.state) ?? [];
        if (states.join() === 'up,down') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.deepEqual(states, ['up', 'down']);
      const status = (await fixture.ingress.routeStatus()).find((item) => item.hostname === 'health.test');
      assert.ok((status?.requests ?? 0) >= 1);
      assert.equal(status?.targets[1]?.check?.startsWith('L7'), true);
    } finally {
      second.healthStatus = 200;
    }
  });

  it('shows maintenance state', async () => {
    await fixture.ingress.setRoute({ ...route('maint.test'), maintenance: true });
    const status = (await fixture.ingress.routeStatus()).find((item) => item.hostname === 'maint.test');
    assert.equal(status?.targets[0]?.state, 'maintenance');
  });

  it('removes a route without reload', async () => {
    const worker = fixture.ingress.workerPids[0];
    await fixture.ingress.removeRoute('pool.test');
    assert.equal((await get('pool.test')).status, 404);
    assert.equal(fixture.ingress.workerPids[0], worker);
  });

  it('restarts with the same routes', async () => {
    await fixture.ingress.stop();
    const restarted = fixture.recreate();
    await fixture.start(restarted);
    assert.equal((await get('hsts.test')).headers['strict-transport-security'], 'max-age=60');
    assert.equal(echo(await get('move.test')).name, 'second');
    assert.equal((await get('maint.test')).status, 503);
    assert.equal((await get('auth.test')).status, 401);
    await restarted.stop();
    await fixture.ingress.start();
    fixture.rememberPids();
  });
});
