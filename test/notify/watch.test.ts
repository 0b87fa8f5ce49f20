import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { Notification } from '../../daemon/src/notify/events.js';
import { downRoutes, expiringThresholdMs, NotificationWatch, type WatchDeps } from '../../daemon/src/notify/watch.js';
import type { RouteStatus, TargetState } from '../../daemon/src/proxy/ingress.js';
import { emptyState, type StateDocument, type StoredCertificate } from '../../daemon/src/store/model.js';

const day = 86_400_000;
const now = new Date('2026-03-01T00:00:00Z');

function certificate(id: string, lifetimeDays: number, leftMs: number): StoredCertificate {
  const notAfter = now.getTime() + leftMs;
  return { id, domain: 'example.com', names: [id], serial: '01', notBefore: new Date(notAfter - lifetimeDays * day).toISOString(), notAfter: new Date(notAfter).toISOString(), issuedAt: now.toISOString(), directory: 'https://ca.example/dir' };
}

function route(hostname: string, states: TargetState[]): RouteStatus {
  return { hostname, targets: states.map((state, index) => ({ address: `10.0.0.${index + 1}`, port: 80, state, check: state === 'down' ? 'L4CON' : null })), requests: 0, errors: 0 };
}

function watchWith(state: StateDocument, routes: () => RouteStatus[], overrides: Partial<WatchDeps> = {}): { watch: NotificationWatch; sent: Notification[] } {
  const sent: Notification[] = [];
  const watch = new NotificationWatch({
    node: 'pve1',
    state: { snapshot: () => state },
    routeStatus: () => Promise.resolve().then(routes),
    notify: (notification) => sent.push(notification),
    expiringSoonMs: 7 * day,
    intervalMs: 60_000,
    downChecks: 2,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
  return { watch, sent };
}

describe('notification watch', () => {
  it('caps the threshold for short lifetimes', () => {
    assert.equal(expiringThresholdMs(certificate('a', 90, 0), 7 * day), 7 * day);
    assert.equal(expiringThresholdMs(certificate('b', 6, 0), 7 * day), 1.5 * day);
  });

  it('finds down routes', () => {
    const routes = [route('up.example.com', ['up', 'down']), route('down.example.com', ['down', 'down']), route('maint.example.com', ['maintenance']), route('empty.example.com', []), route('unknown.example.com', ['unknown', 'down'])];
    assert.deepEqual(
      downRoutes(routes).map((item) => item.hostname),
      ['down.example.com', 'unknown.example.com'],
    );
  });

  it('reports expiring certificates', async () => {
    const state = emptyState();
    state.certificates = [certificate('soon.example.com', 90, 3 * day), certificate('fine.example.com', 90, 40 * day), certificate('short.example.com', 6, 2 * day)];
    const { watch, sent } = watchWith(state, () => []);
    await watch.check(now);
    assert.deepEqual(
      sent.map((item) => `${item.event} ${item.object}`),
      ['certificate-expiring soon.example.com'],
    );
  });

  it('leaves expiry to the work lock holder', async () => {
    const state = emptyState();
    state.certificates = [certificate('soon.example.com', 90, 3 * day)];
    const { watch, sent } = watchWith(state, () => [], { isWorkHolder: () => false });
    await watch.check(now);
    assert.equal(sent.length, 0);
  });

  it('reports a backend down twice in a row', async () => {
    const state = emptyState();
    state.services = [{ fqdn: 'app.example.com', subdomain: 'app', domain: 'example.com', vmid: 101, port: 80, createdAt: '', deleting: false, conditions: [], observed: { target: null }, retry: { failures: 0, nextAttemptAt: null, lastError: null } }];
    let states: TargetState[] = ['down'];
    const { watch, sent } = watchWith(state, () => [route('app.example.com', states)]);
    await watch.check(now);
    assert.equal(sent.length, 0);
    await watch.check(now);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.event, 'backend-down');
    assert.equal(sent[0]?.object, 'app.example.com');
    assert.equal(sent[0]?.domain, 'example.com');
    await watch.check(now);
    assert.equal(sent.length, 1);
    states = ['up'];
    await watch.check(now);
    states = ['down'];
    await watch.check(now);
    await watch.check(now);
    assert.equal(sent.length, 2);
  });

  it('survives unreadable stats', async () => {
    const { watch, sent } = watchWith(emptyState(), () => {
      throw new Error('socket gone');
    });
    await watch.check(now);
    assert.equal(sent.length, 0);
  });
});
