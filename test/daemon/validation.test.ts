import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCloudflareToken, parseDirectoryUrl, parseDomainName, parseEmail } from '../../daemon/src/api/validation.js';
import { AppError } from '../../daemon/src/errors.js';

function rejection(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('request validation', () => {
  it('canonicalises a domain', () => {
    assert.equal(parseDomainName('domain', 'Example.COM.'), 'example.com');
  });

  it('rejects a top-level domain', () => {
    const err = rejection(() => parseDomainName('domain', 'com'));
    assert.equal(err.status, 400);
    assert.match(err.parameters?.['domain'] ?? '', /top-level domain/);
  });

  it('rejects a plain http directory', () => {
    const err = rejection(() => parseDirectoryUrl('acme-directory', 'http://acme.example/dir'));
    assert.match(err.parameters?.['acme-directory'] ?? '', /does not use https/);
  });

  it('rejects a directory with credentials', () => {
    const err = rejection(() => parseDirectoryUrl('acme-directory', 'https://user:pw@acme.example/dir'));
    assert.match(err.parameters?.['acme-directory'] ?? '', /user name or password/);
  });

  it('canonicalises an email domain', () => {
    assert.equal(parseEmail('acme-email', ' Admin@Example.COM '), 'Admin@example.com');
  });

  for (const bad of ['admin', '@example.com', 'admin@com', 'a b@example.com', 'admin@exa mple.com']) {
    it(`rejects email ${JSON.stringify(bad)}`, () => {
      const err = rejection(() => parseEmail('acme-email', bad));
      assert.match(err.parameters?.['acme-email'] ?? '', /not a valid e-mail address/);
    });
  }

  it('trims a token', () => {
    assert.equal(parseCloudflareToken('cloudflare-token', ' YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T\n'), 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T');
  });

  it('names a pasted global key', () => {
    const err = rejection(() => parseCloudflareToken('cloudflare-token', '0123456789abcdef0123456789abcdef01234'));
    assert.match(err.parameters?.['cloudflare-token'] ?? '', /Global API Key/);
  });

  it('rejects a token with spaces', () => {
    const err = rejection(() => parseCloudflareToken('cloudflare-token', 'abc def ghi jkl mno pqr stu'));
    assert.match(err.parameters?.['cloudflare-token'] ?? '', /only letters, digits/);
  });

  it('rejects an empty token', () => {
    const err = rejection(() => parseCloudflareToken('cloudflare-token', '   '));
    assert.match(err.parameters?.['cloudflare-token'] ?? '', /empty/);
  });
});
