import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DaemonMetrics } from '../../daemon/src/metrics/daemon-metrics.js';
import { CertificateObserver, observedOrder } from '../../daemon/src/notify/certificate-observer.js';
import type { Notification } from '../../daemon/src/notify/events.js';
import type { StoredCertificate } from '../../daemon/src/store/model.js';
import { TaskStore } from '../../daemon/src/tasks/task-store.js';

const certificate: StoredCertificate = { id: 'app.example.com', domain: 'example.com', names: ['app.example.com'], serial: '01', notBefore: '2026-01-01T00:00:00Z', notAfter: '2026-04-01T00:00:00Z', issuedAt: '2026-01-01T00:00:00Z', directory: 'https://ca.example/dir' };
const failure = { id: 'app.example.com', domain: 'example.com', error: 'timeout', nextAttemptAt: null, blocked: false };

describe('certificate observer', () => {
  it('notifies from the threshold on', () => {
    const sent: Notification[] = [];
    const metrics = new DaemonMetrics();
    const observer = new CertificateObserver({ notify: (notification) => sent.push(notification), counters: metrics, failureThreshold: 3 });
    observer.failed({ ...failure, failures: 1 }, true);
    observer.failed({ ...failure, failures: 2 }, true);
    assert.equal(sent.length, 0);
    observer.failed({ ...failure, failures: 3 }, true);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.event, 'renewal-failed');
    assert.equal(metrics.certificateOrders.get({ kind: 'renew', result: 'error' }), 3);
  });

  it('notifies a blocked order at once', () => {
    const sent: Notification[] = [];
    const observer = new CertificateObserver({ notify: (notification) => sent.push(notification), failureThreshold: 3 });
    observer.failed({ ...failure, failures: 1, blocked: true }, false);
    assert.equal(sent.length, 1);
  });

  it('notifies an issued certificate', () => {
    const sent: Notification[] = [];
    const metrics = new DaemonMetrics();
    const observer = new CertificateObserver({ notify: (notification) => sent.push(notification), counters: metrics, failureThreshold: 3 });
    observer.issued(certificate, false);
    assert.equal(sent[0]?.event, 'certificate-issued');
    assert.match(sent[0]?.message ?? '', /was issued by/);
    assert.equal(metrics.certificateOrders.get({ kind: 'issue', result: 'ok' }), 1);
  });

  it('runs orders as tasks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'observer-'));
    try {
      const tasks = await TaskStore.open(dir, { node: 'pve1' });
      const observer = new CertificateObserver({ tasks, failureThreshold: 3 });
      await observedOrder(observer, true, 'app.example.com', (task) => Promise.resolve(task.log('renewing')));
      await assert.rejects(observedOrder(observer, false, 'new.example.com', () => Promise.reject(new Error('waiting for backoff'))), /backoff/);
      const listed = tasks.list();
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.type, 'renew');
      assert.equal(listed[0]?.status, 'OK');
      assert.equal(await observedOrder(undefined, false, 'x', () => Promise.resolve('plain')), 'plain');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
