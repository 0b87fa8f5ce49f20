import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRateLimits, letsEncryptLimits, nameSetKey } from '../../daemon/src/acme/rate-limits.js';
import { parseRetryAfter, translateCaError } from '../../daemon/src/acme/problem.js';
import { pickRenewalTime } from '../../daemon/src/acme/ari.js';
import { certificateSlot, redactSecrets } from '../../daemon/src/reconcile/certificate-manager.js';
import { lifetimeRenewal, planRenewals, warningThresholdMs } from '../../daemon/src/reconcile/renewal.js';
import type { CertificateLifecycle, IssuanceRecord, StoredCertificate, StoredDomain } from '../../daemon/src/store/model.js';

const day = 86_400_000;
const now = new Date('2026-12-04T12:00:00Z');

function certificate(lifetimeDays: number, ageDays: number): StoredCertificate {
  const notBefore = new Date(now.getTime() - ageDays * day);
  return {
    id: 'app.example.com',
    domain: 'example.com',
    names: ['app.example.com'],
    serial: '01',
    notBefore: notBefore.toISOString(),
    notAfter: new Date(notBefore.getTime() + lifetimeDays * day).toISOString(),
    issuedAt: notBefore.toISOString(),
    directory: 'https://ca.test/dir',
    ariCertId: 'aki.serial',
  };
}

function lifecycle(changes: Partial<CertificateLifecycle>): CertificateLifecycle {
  return {
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
    renewAt: null,
    renewRule: null,
    issuerIndex: 0,
    warning: null,
    warnedAt: null,
    ...changes,
  };
}

describe('lifetime renewal rule', () => {
  it('renews 90-day certificates at 60 days', () => {
    const rule = lifetimeRenewal(certificate(90, 0));
    assert.equal(rule.rule, 'one-third-remaining');
    assert.equal(rule.at.getTime(), now.getTime() + 60 * day);
  });

  it('renews 45-day certificates at 30 days', () => {
    assert.equal(lifetimeRenewal(certificate(45, 0)).at.getTime(), now.getTime() + 30 * day);
  });

  it('renews 6-day certificates at half', () => {
    const rule = lifetimeRenewal(certificate(6, 0));
    assert.equal(rule.rule, 'half-remaining');
    assert.equal(rule.at.getTime(), now.getTime() + 3 * day);
  });

  it('warns at 14 days or a third', () => {
    assert.equal(warningThresholdMs(certificate(90, 0)), 14 * day);
    assert.equal(warningThresholdMs(certificate(6, 0)), 2 * day);
  });
});

describe('planRenewals', () => {
  it('asks for ARI when the CA offers it', () => {
    const [decision] = planRenewals([certificate(90, 10)], [], new Set(['https://ca.test/dir']), now);
    assert.equal(decision?.action, 'fetch-ari');
  });

  it('uses the selected ARI time', () => {
    const ari = { start: now.toISOString(), end: now.toISOString(), selected: new Date(now.getTime() - 1).toISOString(), checkAfter: new Date(now.getTime() + day).toISOString(), explanationUrl: null };
    const [decision] = planRenewals([certificate(90, 10)], [lifecycle({ ari })], new Set(['https://ca.test/dir']), now);
    assert.equal(decision?.action, 'renew');
    assert.equal(decision?.rule, 'ari-window');
  });

  it('falls back to the lifetime rule', () => {
    const [decision] = planRenewals([certificate(90, 61)], [], new Set(), now);
    assert.equal(decision?.action, 'renew');
    assert.equal(decision?.rule, 'one-third-remaining');
  });

  it('keeps backoff before renewal', () => {
    const next = new Date(now.getTime() + 60_000).toISOString();
    const [decision] = planRenewals([certificate(90, 80)], [lifecycle({ nextAttemptAt: next, failures: 1 })], new Set(), now);
    assert.equal(decision?.action, 'backoff');
  });

  it('stops at blocking errors', () => {
    const [decision] = planRenewals([certificate(90, 80)], [lifecycle({ blocked: true })], new Set(), now);
    assert.equal(decision?.action, 'blocked');
  });

  it('resumes pending orders', () => {
    const pendingOrder = { url: 'https://ca.test/order/1', directory: 'https://ca.test/dir', names: ['app.example.com'], keyType: 'ecdsa-p256' as const, replaces: null, createdAt: now.toISOString() };
    const [decision] = planRenewals([certificate(90, 1)], [lifecycle({ pendingOrder })], new Set(), now);
    assert.equal(decision?.rule, 'resume-order');
  });
});

describe('rate-limit ledger', () => {
  const order = { directory: 'https://acme-v02.api.letsencrypt.org/directory', account: 'acct', registeredDomain: 'example.com', nameSet: nameSetKey(['app.example.com']), renewal: false };
  const record = (at: Date, nameSet = order.nameSet): IssuanceRecord => ({ ...order, nameSet, kind: 'certificate', at: at.toISOString() });

  it('rejects a sixth identical name set', () => {
    const ledger = [1, 2, 3, 4, 5].map((hours) => record(new Date(now.getTime() - hours * 3600_000)));
    const refused = checkRateLimits(ledger, order, letsEncryptLimits, now);
    assert.match(refused?.reason ?? '', /identical name set/);
    assert.equal(refused?.freesAt.getTime(), now.getTime() - 5 * 3600_000 + 7 * day);
  });

  it('exempts ARI renewals', () => {
    const ledger = [1, 2, 3, 4, 5].map((hours) => record(new Date(now.getTime() - hours * 3600_000)));
    assert.equal(checkRateLimits(ledger, { ...order, renewal: true }, letsEncryptLimits, now), null);
  });

  it('rejects the 51st domain certificate', () => {
    const ledger = Array.from({ length: 50 }, (_, index) => record(new Date(now.getTime() - index * 60_000), `n${index}.example.com`));
    assert.match(checkRateLimits(ledger, order, letsEncryptLimits, now)?.reason ?? '', /registered domain/);
  });

  it('forgets events older than the window', () => {
    const ledger = [1, 2, 3, 4, 5].map((days) => record(new Date(now.getTime() - (days + 7) * day)));
    assert.equal(checkRateLimits(ledger, order, letsEncryptLimits, now), null);
  });
});

describe('CA problem mapping', () => {
  const problem = (type: string, status: number, retryAfter: Date | null = null) => ({
    lastProblem: { status, type: `urn:ietf:params:acme:error:${type}`, detail: 'd', document: `{"type":"${type}"}`, retryAfter, url: 'u' },
    lastRetryAfter: retryAfter,
  });

  it('keeps rateLimited Retry-After', () => {
    const until = new Date(now.getTime() + 5400_000);
    const err = translateCaError(new Error('d'), problem('rateLimited', 429, until), 'https://ca.test/dir', 'create an order');
    assert.equal('kind' in err ? err.kind : null, 'rate-limited');
    assert.equal('notBefore' in err ? (err.notBefore as Date).getTime() : null, until.getTime());
  });

  it('blocks CAA failures', () => {
    const err = translateCaError(new Error('d'), problem('caa', 403), 'https://ca.test/dir', 'validate');
    assert.equal(err.retryable, false);
  });

  it('retries server errors', () => {
    const err = translateCaError(new Error('d'), problem('serverInternal', 500), 'https://ca.test/dir', 'finalize');
    assert.equal(err.retryable, true);
    assert.match(err.message, /HTTP 500/);
  });

  it('parses Retry-After forms', () => {
    assert.equal(parseRetryAfter('120', now)?.getTime(), now.getTime() + 120_000);
    assert.equal(parseRetryAfter('Fri, 04 Dec 2026 21:00:00 GMT', now)?.toISOString(), '2026-12-04T21:00:00.000Z');
    assert.equal(parseRetryAfter('soon', now), null);
  });
});

describe('certificate slots', () => {
  const domain: StoredDomain = { name: 'example.com', acmeDirectory: 'https://ca.test/dir', acmeEmail: 'a@example.com', createdAt: '', certificateMode: 'wildcard' };

  it('shares the wildcard one label down', () => {
    assert.deepEqual(certificateSlot(domain, 'app.example.com'), { id: '*.example.com', names: ['example.com', '*.example.com'], mode: 'wildcard' });
  });

  it('orders deeper names on their own', () => {
    assert.equal(certificateSlot(domain, 'a.b.example.com').id, 'a.b.example.com');
  });

  it('defaults to per-service', () => {
    assert.equal(certificateSlot({ ...domain, certificateMode: undefined }, 'app.example.com').id, 'app.example.com');
  });
});

describe('renewal helpers', () => {
  it('picks inside the ARI window', () => {
    const start = new Date(now.getTime());
    const end = new Date(now.getTime() + day);
    assert.equal(pickRenewalTime({ start, end }, () => 0.5).getTime(), now.getTime() + day / 2);
  });

  it('redacts bearer tokens', () => {
    assert.equal(redactSecrets('sent Bearer abcdefghijklmnopqrstuvwxyz0123'), 'sent Bearer [redacted]');
  });
});
