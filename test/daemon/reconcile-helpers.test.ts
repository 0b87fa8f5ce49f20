import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelay } from '../../daemon/src/reconcile/backoff.js';
import { setCondition, summariseStatus } from '../../daemon/src/reconcile/conditions.js';
import { renewalDue } from '../../daemon/src/reconcile/reconciler.js';
import type { Condition } from '../../daemon/src/store/model.js';

describe('retryDelay', () => {
  it('doubles from the minimum', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((failures) => retryDelay(failures, 1000, 60_000, () => 0)),
      [1000, 2000, 4000, 8000],
    );
  });
  it('stops at the maximum', () => {
    assert.equal(retryDelay(50, 1000, 60_000, () => 0), 60_000);
  });
  it('subtracts at most 20% jitter', () => {
    assert.equal(retryDelay(1, 1000, 60_000, () => 1), 800);
  });
});

describe('setCondition', () => {
  it('keeps the time of an unchanged condition', () => {
    const conditions: Condition[] = [];
    setCondition(conditions, { type: 'dns', status: 'false', reason: 'DnsApiFailed', message: 'first' }, new Date('2026-01-01T00:00:00Z'));
    setCondition(conditions, { type: 'dns', status: 'false', reason: 'DnsApiFailed', message: 'second' }, new Date('2026-01-02T00:00:00Z'));
    assert.equal(conditions.length, 1);
    assert.equal(conditions[0]?.time, '2026-01-01T00:00:00.000Z');
    assert.equal(conditions[0]?.message, 'second');
  });
  it('moves the time on a new reason', () => {
    const conditions: Condition[] = [];
    setCondition(conditions, { type: 'dns', status: 'false', reason: 'DnsApiFailed', message: 'x' }, new Date('2026-01-01T00:00:00Z'));
    setCondition(conditions, { type: 'dns', status: 'true', reason: 'RecordsPresent', message: 'y' }, new Date('2026-01-02T00:00:00Z'));
    assert.equal(conditions[0]?.time, '2026-01-02T00:00:00.000Z');
  });
});

describe('summariseStatus', () => {
  const ok = (type: Condition['type']): Condition => ({ type, status: 'true', reason: 'Ok', message: '', time: '' });
  it('is active when every step is true', () => {
    assert.equal(summariseStatus([ok('guest'), ok('dns'), ok('certificate'), ok('route')], false), 'active');
  });
  it('is pending while a step is missing', () => {
    assert.equal(summariseStatus([ok('guest'), ok('dns')], false), 'pending');
  });
  it('is error when a step failed', () => {
    assert.equal(summariseStatus([ok('guest'), { ...ok('dns'), status: 'false' }], false), 'error');
  });
  it('is deleting when marked', () => {
    assert.equal(summariseStatus([ok('guest')], true), 'deleting');
  });
  it('is active without certificate for forwards', () => {
    assert.equal(summariseStatus([ok('guest'), ok('dns'), ok('route')], false, false), 'active');
  });
  it('waits for the certificate by default', () => {
    assert.equal(summariseStatus([ok('guest'), ok('dns'), ok('route')], false), 'pending');
  });
});

describe('renewalDue', () => {
  const certificate = {
    id: 'app.example.com',
    domain: 'example.com',
    names: ['app.example.com'],
    serial: '01',
    notBefore: '2026-01-01T00:00:00Z',
    notAfter: '2026-04-01T00:00:00Z',
    issuedAt: '2026-01-01T00:00:00Z',
    directory: 'https://acme.example/dir',
  };
  it('is false before two thirds', () => {
    assert.equal(renewalDue(certificate, new Date('2026-02-28T00:00:00Z')), false);
  });
  it('is true after two thirds', () => {
    assert.equal(renewalDue(certificate, new Date('2026-03-02T00:00:00Z')), true);
  });
});
