import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskWebhookUrl, parseWebhookUrl, webhookOrigin } from '../../daemon/src/notify/webhook-url.js';

/** Asserts that `input` is rejected with a notify-webhook message matching `pattern`. */
function assertRejected(input: string, pattern: RegExp): void {
  assert.throws(
    () => parseWebhookUrl(input),
    (err: unknown) => pattern.test((err as { parameters?: Record<string, string> }).parameters?.['notify-webhook'] ?? ''),
  );
}

describe('webhook url', () => {
  it('accepts an https URL', () => {
    assert.equal(parseWebhookUrl(' https://hooks.example.com/pve?token=abc '), 'https://hooks.example.com/pve?token=abc');
    assert.equal(parseWebhookUrl('https://HOOKS.example.com:8443'), 'https://hooks.example.com:8443/');
  });

  it('treats empty as none', () => {
    assert.equal(parseWebhookUrl(''), null);
    assert.equal(parseWebhookUrl('   '), null);
  });

  it('rejects http', () => {
    assertRejected('http://hooks.example.com/x', /only https URLs/);
  });

  it('rejects a relative URL', () => {
    assertRejected('/hooks/pve', /not an absolute URL/);
  });

  it('rejects credentials in the URL', () => {
    assertRejected('https://user:secret@hooks.example.com/x', /user name or password/);
  });

  it('rejects a fragment', () => {
    assertRejected('https://hooks.example.com/x#part', /fragment/);
  });

  it('rejects a long URL', () => {
    assertRejected(`https://hooks.example.com/${'a'.repeat(2000)}`, /longer than 2000/);
  });

  it('names the field', () => {
    assert.throws(
      () => parseWebhookUrl('ftp://x'),
      (err: unknown) => (err as { parameters?: Record<string, string> }).parameters?.['notify-webhook'] !== undefined,
    );
  });

  it('hides the path', () => {
    assert.equal(webhookOrigin('https://hooks.example.com/secret-token'), 'https://hooks.example.com');
    assert.equal(maskWebhookUrl('https://hooks.example.com/secret-token'), 'https://hooks.example.com/…');
    assert.equal(maskWebhookUrl('https://hooks.example.com/'), 'https://hooks.example.com');
  });
});
