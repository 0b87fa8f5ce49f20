import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routePolicy, sysAudit } from '../../daemon/src/api/privileges.js';
import { checkRateLimits, checkRenewal } from '../../daemon/src/diagnose/acme-diagnosis.js';
import { boundedCheck, withTimeout } from '../../daemon/src/diagnose/bounded.js';
import { judgeCaa, type CaaSet } from '../../daemon/src/diagnose/caa.js';
import { judgeIngress } from '../../daemon/src/diagnose/ingress-certificate.js';
import { judgeConflicts, judgeRecords, type ExpectedRecords } from '../../daemon/src/diagnose/service-records.js';
import { overallVerdict, toCheck } from '../../daemon/src/diagnose/types.js';
import type { DnsRecord } from '../../daemon/src/dns/provider.js';
import { emptyState, type IssuanceRecord, type StoredCertificate, type StoredDomain } from '../../daemon/src/store/model.js';

const never = (): Promise<never> => new Promise<never>(() => undefined);

describe('bounded checks', () => {
  it('fails a check that times out', async () => {
    const started = Date.now();
    const outcome = await boundedCheck(50, 'check the network', never);
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.message, /did not finish within 0 s/);
    assert.equal(outcome.fix, 'check the network');
    assert.ok(Date.now() - started < 1_000);
  });

  it('fails a check that throws', async () => {
    const outcome = await boundedCheck(1_000, 'retry', () => Promise.reject(new Error('boom')));
    assert.equal(outcome.verdict, 'failed');
    assert.equal(outcome.message, 'The check failed: boom');
  });

  it('waits for cleanup after a timeout', async () => {
    let cleaned = false;
    const work = (signal: AbortSignal): Promise<string> =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          setTimeout(() => {
            cleaned = true;
            resolve('late');
          }, 100);
        });
      });
    const result = await withTimeout(50, work, () => 'timed out', 1_000);
    assert.equal(result, 'timed out');
    assert.equal(cleaned, true);
  });
});

describe('caa judgement', () => {
  const set = (name: string, records: CaaSet['records']): CaaSet => ({ name, records });

  it('passes without records', () => {
    assert.equal(judgeCaa([{ identifier: 'app.example.com', set: null }], ['letsencrypt.org'], 'https://ca.test/dir').verdict, 'ok');
  });

  it('passes a listed CA', () => {
    const outcome = judgeCaa([{ identifier: 'app.example.com', set: set('example.com', [{ critical: 0, issue: 'letsencrypt.org; accounturi=https://x' }]) }], ['letsencrypt.org'], 'https://ca.test/dir');
    assert.equal(outcome.verdict, 'ok');
  });

  it('fails an unlisted CA', () => {
    const outcome = judgeCaa([{ identifier: 'app.example.com', set: set('example.com', [{ critical: 0, issue: 'sectigo.com' }]) }], ['letsencrypt.org'], 'https://ca.test/dir');
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.fix ?? '', /tag issue and the value letsencrypt\.org/);
  });

  it('fails an empty issuer', () => {
    const outcome = judgeCaa([{ identifier: 'app.example.com', set: set('example.com', [{ critical: 0, issue: ';' }]) }], ['letsencrypt.org'], 'https://ca.test/dir');
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.message, /allow no CA at all/);
  });

  it('uses issuewild for wildcards', () => {
    const records = [
      { critical: 0, issue: 'letsencrypt.org' },
      { critical: 0, issuewild: 'sectigo.com' },
    ];
    const sets = [
      { identifier: 'example.com', set: set('example.com', records) },
      { identifier: '*.example.com', set: set('example.com', records) },
    ];
    const outcome = judgeCaa(sets, ['letsencrypt.org'], 'https://ca.test/dir');
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.message, /for \*\.example\.com/);
    assert.match(outcome.fix ?? '', /tag issuewild/);
  });

  it('warns without CA identities', () => {
    const outcome = judgeCaa([{ identifier: 'app.example.com', set: set('example.com', [{ critical: 0, issue: 'sectigo.com' }]) }], [], 'https://ca.test/dir');
    assert.equal(outcome.verdict, 'warning');
  });

  it('ignores iodef-only sets', () => {
    const outcome = judgeCaa([{ identifier: 'app.example.com', set: set('example.com', [{ critical: 0, iodef: 'mailto:a@example.com' }]) }], ['letsencrypt.org'], 'https://ca.test/dir');
    assert.equal(outcome.verdict, 'ok');
  });
});

describe('record judgement', () => {
  const comment = 'pve-domains cluster=test service=app.example.com';
  const expected: ExpectedRecords = { fqdn: 'app.example.com', zone: 'example.com', addresses: ['198.51.100.20'], proxied: false, comment };
  const record = (fields: Partial<DnsRecord>): DnsRecord => ({ id: 'r1', type: 'A', name: 'app.example.com', content: '198.51.100.20', comment, ttl: 1, proxied: false, ...fields });

  it('passes matching records', () => {
    assert.equal(judgeRecords(expected, [record({})]).verdict, 'ok');
  });

  it('fails a missing address', () => {
    const outcome = judgeRecords(expected, []);
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.message, /missing 198\.51\.100\.20/);
    assert.match(outcome.fix ?? '', /pve-domains set \/services\/app\.example\.com/);
  });

  it('fails a wrong proxy state', () => {
    const outcome = judgeRecords(expected, [record({ proxied: true })]);
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.message, /proxied although not cloudflare-proxied is set/);
  });

  it('fails a foreign record', () => {
    const outcome = judgeConflicts(expected, [record({}), record({ id: 'r2', type: 'CNAME', content: 'elsewhere.example.net', comment: '' })]);
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.message, /CNAME elsewhere\.example\.net/);
  });

  it('ignores foreign TXT records', () => {
    assert.equal(judgeConflicts(expected, [record({ id: 'r2', type: 'TXT', content: 'v=spf1 -all', comment: '' })]).verdict, 'ok');
  });
});

describe('certificate judgement', () => {
  const now = new Date('2026-12-01T00:00:00Z');
  const stored: StoredCertificate = {
    id: 'app.example.com',
    domain: 'example.com',
    names: ['app.example.com'],
    serial: 'aa01',
    notBefore: '2026-11-01T00:00:00Z',
    notAfter: '2027-01-30T00:00:00Z',
    issuedAt: '2026-11-01T00:00:00Z',
    directory: 'https://acme-v02.api.letsencrypt.org/directory',
  };
  const request = { fqdn: 'app.example.com', certificateId: 'app.example.com', stored, listener: { address: '0.0.0.0', port: 443 }, node: 'pve1', warnBeforeMs: 14 * 86_400_000 };

  it('fails an other served serial', () => {
    const result = judgeIngress(request, { serial: 'bb02', notBefore: new Date('2026-09-01T00:00:00Z'), notAfter: new Date('2026-12-05T00:00:00Z'), names: ['app.example.com'] }, now);
    assert.equal(result.served.verdict, 'failed');
    assert.match(result.served.message, /serial bb02/);
    assert.equal(result.expiry.verdict, 'warning');
  });

  it('fails an expired certificate', () => {
    const result = judgeIngress(request, { serial: 'aa01', notBefore: new Date('2026-09-01T00:00:00Z'), notAfter: new Date('2026-11-30T00:00:00Z'), names: ['app.example.com'] }, now);
    assert.equal(result.served.verdict, 'ok');
    assert.equal(result.expiry.verdict, 'failed');
  });

  it('skips expiry without a handshake', () => {
    const result = judgeIngress(request, new Error('connect ECONNREFUSED'), now);
    assert.equal(result.served.verdict, 'failed');
    assert.equal(result.expiry.verdict, 'skipped');
  });
});

describe('ledger judgement', () => {
  const production = 'https://acme-v02.api.letsencrypt.org/directory';
  const domain: StoredDomain = { name: 'example.com', acmeDirectory: production, acmeEmail: 'admin@example.com', createdAt: '2026-11-01T00:00:00Z' };
  const now = new Date('2026-12-01T12:00:00Z');

  it('fails an exhausted limit', () => {
    const state = emptyState();
    const entry: IssuanceRecord = { directory: production, account: '', registeredDomain: 'example.com', nameSet: 'app.example.com', kind: 'certificate', renewal: false, at: '2026-12-01T00:00:00Z' };
    state.issuanceLedger = Array.from({ length: 5 }, () => ({ ...entry }));
    const outcome = checkRateLimits(state, domain, ['app.example.com'], now);
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.message, /5 of 5 certificates per identical name set/);
    assert.match(outcome.fix ?? '', /Wait until 2026-12-08T00:00:00\.000Z/);
  });

  it('passes an empty ledger', () => {
    assert.equal(checkRateLimits(emptyState(), domain, ['app.example.com'], now).verdict, 'ok');
  });

  it('reports a blocked renewal', () => {
    const state = emptyState();
    state.certificateLifecycles = [
      {
        id: 'app.example.com',
        domain: 'example.com',
        names: ['app.example.com'],
        failures: 3,
        lastError: 'urn:ietf:params:acme:error:caa: CAA record forbids issuance',
        lastErrorAt: '2026-12-01T10:00:00Z',
        nextAttemptAt: null,
        blocked: true,
        configFingerprint: '',
        pendingOrder: null,
        ari: null,
        renewAt: null,
        renewRule: null,
        issuerIndex: 0,
        warning: null,
        warnedAt: null,
      },
    ];
    const outcome = checkRenewal(state, ['app.example.com'], now);
    assert.equal(outcome.verdict, 'failed');
    assert.match(outcome.message, /CAA record forbids issuance/);
    assert.match(outcome.fix ?? '', /pve-domains create \/certificates\/app\.example\.com\/renew/);
  });
});

describe('diagnosis shape', () => {
  it('takes the worst verdict', () => {
    const checks = [toCheck('zone', { verdict: 'ok', message: '' }), toCheck('caa', { verdict: 'warning', message: '' }), toCheck('records', { verdict: 'skipped', message: '' })];
    assert.equal(overallVerdict(checks), 'warning');
    assert.equal(overallVerdict([...checks, toCheck('renewal', { verdict: 'failed', message: '' })]), 'failed');
    assert.equal(overallVerdict([toCheck('zone', { verdict: 'skipped', message: '' })]), 'ok');
  });

  it('needs Sys.Audit for diagnose and status', () => {
    const diagnose = routePolicy({ method: 'GET', route: '/diagnose/:name', params: { name: 'app.example.com' }, body: undefined }, () => undefined);
    assert.deepEqual(diagnose?.requirements, [sysAudit]);
    const status = routePolicy({ method: 'GET', route: '/status', params: {}, body: undefined }, () => undefined);
    assert.deepEqual(status?.requirements, [sysAudit]);
    assert.equal(routePolicy({ method: 'POST', route: '/diagnose/:name', params: {}, body: undefined }, () => undefined), undefined);
  });
});
