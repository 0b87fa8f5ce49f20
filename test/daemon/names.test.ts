import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { challengeRecordName, fileKey, normaliseHostname, ownershipComment } from '../../daemon/src/names.js';

describe('normaliseHostname', () => {
  const accepted: Array<[string, string]> = [
    ['App.Example.COM.', 'app.example.com'],
    ['example.com', 'example.com'],
    ['  spaced.example.com ', 'spaced.example.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['a-b.example.com', 'a-b.example.com'],
    [`${'a'.repeat(63)}.example.com`, `${'a'.repeat(63)}.example.com`],
  ];
  for (const [input, expected] of accepted) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      assert.deepEqual(normaliseHostname(input), { ok: true, name: expected });
    });
  }

  const rejected: Array<[string, RegExp]> = [
    ['', /empty/],
    ['app..example.com', /empty label/],
    ['.example.com', /empty label/],
    ['-app.example.com', /hyphen/],
    ['app-.example.com', /hyphen/],
    [`${'a'.repeat(64)}.example.com`, /64 characters.*maximum is 63/],
    [`${'abcdefghi.'.repeat(26)}com`, /maximum is 253/],
    ['app_1.example.com', /contains "_"/],
    ['app example.com', /contains " "/],
    ['app.example.com\n#', /contains "\\n"/],
    ['app.example.com#x', /contains "#"/],
    ['a/../b.example.com', /contains "\/"/],
    ['app\texample.com', /contains "\\t"/],
  ];
  for (const [input, reason] of rejected) {
    it(`rejects ${JSON.stringify(input).slice(0, 40)}`, () => {
      const result = normaliseHostname(input);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
    });
  }
});

describe('challengeRecordName', () => {
  it('prefixes the name', () => {
    assert.equal(challengeRecordName('app.example.com'), '_acme-challenge.app.example.com');
  });
  it('drops the wildcard label', () => {
    assert.equal(challengeRecordName('*.example.com'), '_acme-challenge.example.com');
  });
});

describe('ownershipComment', () => {
  it('names cluster and host', () => {
    assert.equal(ownershipComment('pve', 'service', 'app.example.com'), 'pve-domains cluster=pve service=app.example.com');
  });
  it('stays within 100 characters', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.example.com`;
    const comment = ownershipComment('cluster', 'acme', long);
    assert.ok(comment.length <= 100, `${comment.length} characters`);
    assert.match(comment, /^pve-domains cluster=cluster acme=sha256:[0-9a-f]{24}$/);
  });
  it('differs per host when hashed', () => {
    const first = ownershipComment('c', 'service', `${'a'.repeat(100)}.example.com`.slice(0, 63) + '.x.example.com'.repeat(3));
    const second = ownershipComment('c', 'service', `${'b'.repeat(63)}.x.example.com.x.example.com.x.example.com`);
    assert.notEqual(first, second);
  });
});

describe('fileKey', () => {
  it('maps a wildcard', () => {
    assert.equal(fileKey('*.example.com'), '_wildcard.example.com');
  });
  for (const unsafe of ['../etc/passwd', 'a/b', 'a b', 'a\nb', '', '.hidden', 'a..b']) {
    it(`refuses ${JSON.stringify(unsafe)}`, () => {
      assert.throws(() => fileKey(unsafe), /unable to build a file name/);
    });
  }
});
