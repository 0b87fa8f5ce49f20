import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backendDown, certificateExpiring, certificateIssued, credentialsRejected, mailBody, mailSubject, notificationEvents, renewalFailed } from '../../daemon/src/notify/events.js';
import type { StoredCertificate } from '../../daemon/src/store/model.js';

const certificate: StoredCertificate = {
  id: 'app.example.com',
  domain: 'example.com',
  names: ['app.example.com'],
  serial: '0abc',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-04-01T00:00:00.000Z',
  issuedAt: '2026-01-01T00:00:00.000Z',
  directory: 'https://acme-v02.api.letsencrypt.org/directory',
};

describe('notification events', () => {
  it('builds stable subjects', () => {
    assert.equal(mailSubject(certificateIssued(certificate, false), 'pve1'), 'pve-domains: certificate-issued app.example.com on pve1');
    assert.equal(mailSubject(renewalFailed({ id: '*.example.com', domain: 'example.com', failures: 3, error: 'x', nextAttemptAt: null, blocked: false }), 'pve1'), 'pve-domains: renewal-failed *.example.com on pve1');
    assert.equal(mailSubject(certificateExpiring(certificate, 3 * 86_400_000, null), 'pve2'), 'pve-domains: certificate-expiring app.example.com on pve2');
    assert.equal(mailSubject(credentialsRejected('example.com', 'Invalid API Token'), 'pve1'), 'pve-domains: credentials-rejected example.com on pve1');
    assert.equal(mailSubject(backendDown('app.example.com', 'example.com', 'pve3', []), 'pve3'), 'pve-domains: backend-down app.example.com on pve3');
  });

  it('lists every event name', () => {
    assert.deepEqual([...notificationEvents], ['certificate-issued', 'renewal-failed', 'certificate-expiring', 'credentials-rejected', 'backend-down']);
  });

  it('writes a plain-text body', () => {
    const body = mailBody(renewalFailed({ id: 'app.example.com', domain: 'example.com', failures: 3, error: 'DNS propagation timed out', nextAttemptAt: '2026-02-01T00:00:00.000Z', blocked: false }), 'pve1', new Date('2026-01-31T12:00:00Z'));
    assert.match(body, /^Event: {4}renewal-failed$/m);
    assert.match(body, /^Object: {3}app\.example\.com$/m);
    assert.match(body, /^Node: {5}pve1$/m);
    assert.match(body, /^Time: {5}2026-01-31T12:00:00\.000Z$/m);
    assert.match(body, /failed 3 time\(s\) in a row: DNS propagation timed out\. The next attempt is at 2026-02-01T00:00:00\.000Z\./);
    assert.match(body, /^What to do:$/m);
    assert.match(body, /pve-domains create \/certificates\/app\.example\.com\/renew/);
  });

  it('says when renewal is blocked', () => {
    const notification = renewalFailed({ id: 'app.example.com', domain: 'example.com', failures: 1, error: 'CAA forbids the CA', nextAttemptAt: null, blocked: true });
    assert.match(notification.message, /until the settings of the domain change/);
  });

  it('names the time left', () => {
    assert.match(certificateExpiring(certificate, 3 * 86_400_000, 'timeout').message, /in 3\.0 days\. Its renewal is failing: timeout\./);
    assert.match(certificateExpiring(certificate, 5 * 3_600_000, null).message, /in 5\.0 hours\. No renewal has failed yet/);
  });

  it('lists down targets', () => {
    const notification = backendDown('app.example.com', 'example.com', 'pve1', [{ address: '10.0.0.5', port: 8080, check: 'L4CON' }]);
    assert.match(notification.message, /10\.0\.0\.5:8080 \(check L4CON\)/);
    assert.equal(notification.domain, 'example.com');
  });
});
