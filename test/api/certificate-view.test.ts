import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { certificateView } from '../../daemon/src/api/certificates.js';
import { lifetimeRenewal } from '../../daemon/src/reconcile/renewal.js';
import type { CertificateLifecycle, StoredCertificate } from '../../daemon/src/store/model.js';

const certificate: StoredCertificate = {
  id: 'app.example.com',
  domain: 'example.com',
  names: ['app.example.com'],
  serial: '0a1b',
  notBefore: '2026-12-01T00:00:00.000Z',
  notAfter: '2027-03-01T00:00:00.000Z',
  issuedAt: '2026-12-01T00:00:00.000Z',
  directory: 'https://acme.example/directory',
};

const lifecycle: CertificateLifecycle = {
  id: 'app.example.com',
  domain: 'example.com',
  names: ['app.example.com'],
  failures: 0,
  lastError: null,
  lastErrorAt: null,
  nextAttemptAt: null,
  blocked: false,
  configFingerprint: '',
  pendingOrder: null,
  ari: null,
  renewAt: '2027-01-20T00:00:00.000Z',
  renewRule: 'ari-window',
  issuerIndex: 0,
  warning: null,
  warnedAt: null,
};

describe('certificate view', () => {
  it('shows the planned renewal', () => {
    const view = certificateView(certificate, lifecycle);
    assert.equal(view['next-renewal'], '2027-01-20T00:00:00.000Z');
    assert.equal(view['renewal-rule'], 'ari-window');
  });

  it('uses the lifetime rule before planning', () => {
    const expected = lifetimeRenewal(certificate);
    const view = certificateView(certificate, undefined);
    assert.equal(view['next-renewal'], expected.at.toISOString());
    assert.equal(view['renewal-rule'], expected.rule);
  });

  it('uses the lifetime rule without a plan', () => {
    const view = certificateView(certificate, { ...lifecycle, renewAt: null, renewRule: null });
    assert.equal(view['renewal-rule'], lifetimeRenewal(certificate).rule);
  });
});
