import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { RouteOptions } from '../../daemon/src/proxy/route-options.js';
import { startEchoTarget, type EchoTarget } from '../ingress/echo-target.js';
import { createIngressFixture, type IngressFixture } from '../proxy/fixtures.js';
import { findFreePort } from '../sandbox/ports.js';
import { postHttp2WithoutLength, readEventStream, send, startBrokenTarget, startEventSource, type Closable, type GateResponse } from './targets.js';

/** The product's error pages, the body limit and streaming on a real HAProxy 2.6. */

let fixture: IngressFixture;
let target: EchoTarget;
let broken: Closable;
let events: Closable;
let overrideDir: string;

const CUSTOM_UNKNOWN_HOST = '<!DOCTYPE html><title>Nothing here</title><p>Custom page of the administrator.</p>';

before(async () => {
  target = await startEchoTarget('127.0.0.1', 'app');
  broken = await startBrokenTarget('127.0.0.1');
  events = await startEventSource('127.0.0.1', 300, 4);
  overrideDir = await mkdtemp(join(tmpdir(), 'gate-pages-'));
  await writeFile(join(overrideDir, 'unknown-host.html'), CUSTOM_UNKNOWN_HOST);
  // A page with the wrong status is reported and the shipped page stays.
  await writeFile(join(overrideDir, 'backend-error.http'), 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  fixture = await createIngressFixture({}, { errorPages: { overrideDir } });
  await fixture.start();
});

after(async () => {
  const running = await fixture.cleanup();
  await target.close();
  await broken.close();
  await events.close();
  await rm(overrideDir, { recursive: true, force: true });
  assert.deepEqual(running, []);
});

function route(hostname: string, options: Partial<RouteOptions> = {}, address = target.address, port = target.port): Parameters<IngressFixture['ingress']['setRoute']>[0] {
  return { hostname, targets: [{ address, port }], options };
}

function get(hostname: string, path = '/'): Promise<GateResponse> {
  return send({ port: fixture.httpsPort, hostname, path });
}

/** Asserts that an error page names nothing of the inside: addresses, ports, backends, HAProxy. */
function assertNoInternals(response: GateResponse, ports: number[]): void {
  const text = `${JSON.stringify(response.headers)}\n${response.body}`;
  assert.doesNotMatch(text, /127\.0\.0\.\d/);
  assert.doesNotMatch(text, /be_slot|be_not_found|pve_auth/);
  assert.doesNotMatch(text, /haproxy/i);
  assert.doesNotMatch(text, /\.test\b/);
  for (const port of ports) assert.ok(!response.body.includes(String(port)), `port ${port} appears in the page`);
}

describe('error pages', () => {
  it('serves the replaced unknown-host page', async () => {
    const response = await get('nowhere.test', '/x');
    assert.equal(response.status, 404);
    assert.equal(response.body, CUSTOM_UNKNOWN_HOST);
    assert.equal(response.headers['cache-control'], 'no-store');
    assertNoInternals(response, [fixture.httpsPort]);
  });

  it('keeps the shipped page for an invalid override', async () => {
    const invalid = fixture.records.find((record) => record.msg.startsWith('error page not usable'));
    assert.equal(invalid?.page, 'backend-error');
    await fixture.ingress.setRoute(route('broken.test', {}, broken.address, broken.port));
    const response = await get('broken.test');
    assert.equal(response.status, 502);
    assert.match(response.body, /The service is not responding/);
    assertNoInternals(response, [broken.port]);
  });

  it('serves the guest-stopped page', async () => {
    await fixture.ingress.setRoute({ ...route('stopped.test'), maintenance: true });
    const response = await get('stopped.test');
    assert.equal(response.status, 503);
    assert.match(response.body, /The service is stopped/);
    assertNoInternals(response, [target.port]);
  });

  it('serves the backend page without targets', async () => {
    await fixture.ingress.setRoute({ hostname: 'empty.test', targets: [] });
    const response = await get('empty.test');
    assert.equal(response.status, 503);
    assert.match(response.body, /The service is unavailable/);
    assertNoInternals(response, []);
  });

  it('serves the backend page when the target is down', async () => {
    const closedPort = await findFreePort('127.0.0.1');
    await fixture.ingress.setRoute(route('down.test', {}, '127.0.0.1', closedPort));
    const response = await get('down.test');
    assert.equal(response.status, 503);
    assert.match(response.body, /The service is unavailable/);
    assertNoInternals(response, [closedPort]);
  });

  it('installs the pages as raw responses', async () => {
    const installed = await readFile(join(fixture.configDir, 'error-pages', 'guest-stopped.http'), 'utf8');
    assert.match(installed, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(installed, /\r\nContent-Length: \d+\r\n\r\n<!DOCTYPE html>/);
  });
});

describe('body limit', () => {
  before(async () => {
    await fixture.ingress.setRoute(route('limited.test', { maxBodySize: 1024 }));
  });

  function post(body: Buffer, chunked = false): Promise<GateResponse> {
    return send({ port: fixture.httpsPort, hostname: 'limited.test', method: 'POST', path: '/upload', body, chunked });
  }

  it('accepts a body within the limit', async () => {
    assert.equal((await post(Buffer.alloc(1024, 0x61))).status, 200);
  });

  it('answers 413 above the limit', async () => {
    const before = target.requests;
    const response = await post(Buffer.alloc(1025, 0x61));
    assert.equal(response.status, 413);
    assert.match(response.body, /The request is too large/);
    assert.equal(target.requests, before);
  });

  it('answers 411 for a chunked body', async () => {
    const response = await post(Buffer.alloc(10, 0x61), true);
    assert.equal(response.status, 411);
    assert.match(response.body, /needs a length/);
  });

  it('answers 411 for an http/2 stream', async () => {
    const status = await postHttp2WithoutLength(fixture.httpsPort, 'limited.test', Buffer.alloc(10, 0x61));
    assert.equal(status, 411);
  });

  it('leaves routes without a limit alone', async () => {
    await fixture.ingress.setRoute(route('unlimited.test'));
    const response = await send({ port: fixture.httpsPort, hostname: 'unlimited.test', method: 'POST', body: Buffer.alloc(200_000, 0x61) });
    assert.equal(response.status, 200);
  });
});

describe('streaming', () => {
  it('passes events through promptly', async () => {
    await fixture.ingress.setRoute(route('events.test', { buffering: false }, events.address, events.port));
    const stream = await readEventStream(fixture.httpsPort, 'events.test');
    assert.equal(stream.status, 200);
    assert.equal(stream.events, 4);
    // Events are 300 ms apart; a buffering proxy would deliver them late or together.
    assert.ok(Math.max(...stream.delays) < 150, `event delays ${stream.delays.join(', ')} ms`);
  });

  it('streams a large chunked upload', async () => {
    await fixture.ingress.setRoute(route('upload.test', { buffering: false }));
    const response = await send({ port: fixture.httpsPort, hostname: 'upload.test', method: 'POST', body: Buffer.alloc(1_000_000, 0x62), chunked: true });
    assert.equal(response.status, 200);
  });
});

describe('http/3 report', () => {
  it('says plainly that quic is missing', () => {
    assert.equal(fixture.ingress.http3?.available, false);
    assert.match(fixture.ingress.http3?.message ?? '', /^HTTP\/3 is not available: this HAProxy build/);
    const logged = fixture.records.find((record) => record.msg.startsWith('HTTP/3 is not available'));
    assert.equal(logged?.level, 40);
    assert.equal(logged?.http3, false);
  });

  it('binds no quic listener', async () => {
    const config = await readFile(join(fixture.configDir, 'haproxy.cfg'), 'utf8');
    assert.doesNotMatch(config, /quic[46]@/);
  });
});
