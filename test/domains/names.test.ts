import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCloudflareGlobalKey, parseCloudflareToken } from '../../daemon/src/api/validation.js';
import { parseDirectory, profileProblem, readDirectoryMeta } from '../../daemon/src/domains/directories.js';
import { parseEab } from '../../daemon/src/domains/eab.js';
import { parseCredentials } from '../../daemon/src/domains/input.js';
import { overlappingDomains, parseRegisteredDomain } from '../../daemon/src/domains/names.js';
import { parseSiteAddresses } from '../../daemon/src/domains/sites.js';
import { maskSecret } from '../../daemon/src/domains/view.js';
import { AppError } from '../../daemon/src/errors.js';

/** Returns the per-parameter message of the 400 that `fn` throws. */
function rejection(fn: () => unknown, parameter: string): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.status, 400);
    const message = err.parameters?.[parameter];
    assert.ok(message !== undefined, `no message for ${parameter}: ${JSON.stringify(err.parameters)}`);
    return message;
  }
  assert.fail('expected a rejection');
}

const label63 = 'a'.repeat(63);
const label64 = 'a'.repeat(64);
/** Builds a name of exactly `length` octets from 63-octet labels, a shorter one and `.com`. */
function nameOfLength(length: number): string {
  const labels: string[] = [];
  let remaining = length - 4;
  while (remaining > 0) {
    const size = Math.min(63, remaining - (labels.length > 0 ? 1 : 0));
    labels.push('b'.repeat(Math.max(size, 1)));
    remaining -= Math.max(size, 1) + (labels.length > 1 ? 1 : 0);
  }
  return `${labels.join('.')}.com`;
}

describe('domain names', () => {
  const accepted: Array<[string, string, string]> = [
    ['Example.COM', 'example.com', 'example.com'],
    ['example.com.', 'example.com', 'example.com'],
    ['  Lab.Example.Com.  ', 'lab.example.com', 'lab.example.com'],
    ['bücher.example', 'xn--bcher-kva.example', 'bücher.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example', 'bücher.example'],
    ['BÜCHER.example', 'xn--bcher-kva.example', 'bücher.example'],
    [`${label63}.com`, `${label63}.com`, `${label63}.com`],
    ['example.co.uk', 'example.co.uk', 'example.co.uk'],
    ['example.com.au', 'example.com.au', 'example.com.au'],
  ];
  for (const [input, ascii, unicode] of accepted) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      const parsed = parseRegisteredDomain('domain', input);
      assert.equal(parsed.ascii, ascii);
      assert.equal(parsed.unicode, unicode);
    });
  }

  it('accepts a 253-octet name', () => {
    const name = nameOfLength(253);
    assert.equal(name.length, 253);
    assert.equal(parseRegisteredDomain('domain', name).ascii, name);
  });

  const rejected: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['empty label', 'app..example.com', /empty label/],
    ['leading dot', '.example.com', /empty label/],
    ['64-octet label', `${label64}.com`, /64 characters long; the maximum is 63/],
    ['254-octet name', nameOfLength(254), /254 characters long; the maximum is 253/],
    ['underscore', 'my_site.com', /contains "_"/],
    ['leading hyphen', '-app.example.com', /may not start or end with a hyphen/],
    ['space', 'exa mple.com', /contains " "/],
    ['slash', 'example.com/x', /contains "\/"/],
    ['top-level domain', 'com', /top-level domain/],
    ['public suffix co.uk', 'co.uk', /public suffix/],
    ['public suffix com.au', 'com.au', /public suffix/],
    ['public suffix CO.UK.', 'CO.UK.', /public suffix/],
  ];
  for (const [name, input, pattern] of rejected) {
    it(`rejects ${name}`, () => {
      assert.match(rejection(() => parseRegisteredDomain('domain', input), 'domain'), pattern);
    });
  }

  it('names the example for a public suffix', () => {
    assert.match(rejection(() => parseRegisteredDomain('domain', 'com.au'), 'domain'), /example\.com\.au/);
  });

  it('finds registered parents and children', () => {
    const overlap = overlappingDomains('lab.example.com', ['example.com', 'example.org', 'a.lab.example.com']);
    assert.deepEqual(overlap.parents, ['example.com']);
    assert.deepEqual(overlap.children, ['a.lab.example.com']);
  });
});

describe('cloudflare credentials', () => {
  const token = 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T';
  const globalKey = '0123456789abcdef0123456789abcdef01234';

  it('trims a pasted token', () => {
    assert.deepEqual(parseCredentials({ 'cloudflare-token': ` ${token}\n` }), { kind: 'token', token });
  });

  it('ignores an e-mail sent with a token', () => {
    assert.deepEqual(parseCredentials({ 'cloudflare-token': token, 'cloudflare-email': 'admin@example.com' }), { kind: 'token', token });
  });

  it('trims a pasted global key', () => {
    assert.deepEqual(parseCredentials({ 'cloudflare-global-key': `${globalKey}\r\n`, 'cloudflare-email': 'admin@example.com' }), { kind: 'global-key', key: globalKey, email: 'admin@example.com' });
  });

  it('rejects a global key as token', () => {
    assert.match(rejection(() => parseCloudflareToken('cloudflare-token', globalKey), 'cloudflare-token'), /looks like a Global API Key/);
  });

  it('rejects a token as global key', () => {
    assert.match(rejection(() => parseCloudflareGlobalKey('cloudflare-global-key', token), 'cloudflare-global-key'), /looks like an API token/);
  });

  it('rejects an account token as global key', () => {
    assert.match(rejection(() => parseCloudflareGlobalKey('cloudflare-global-key', `cfat_${'A'.repeat(40)}`), 'cloudflare-global-key'), /looks like an API token/);
  });

  it('needs the e-mail with a global key', () => {
    assert.match(rejection(() => parseCredentials({ 'cloudflare-global-key': globalKey }), 'cloudflare-email'), /e-mail address of the Cloudflare account/);
  });

  it('rejects both schemes at once', () => {
    assert.match(rejection(() => parseCredentials({ 'cloudflare-token': token, 'cloudflare-global-key': globalKey, 'cloudflare-email': 'a@example.com' }), 'cloudflare-global-key'), /not both/);
  });

  it('rejects missing credentials', () => {
    assert.match(rejection(() => parseCredentials({}), 'cloudflare-token'), /missing/);
  });

  it('masks to the last four characters', () => {
    assert.equal(maskSecret(token), '…rh7T');
  });
});

describe('acme directory settings', () => {
  it('resolves the presets', () => {
    assert.equal(parseDirectory('acme-directory', 'letsencrypt'), 'https://acme-v02.api.letsencrypt.org/directory');
    assert.equal(parseDirectory('acme-directory', 'letsencrypt-staging'), 'https://acme-staging-v02.api.letsencrypt.org/directory');
    assert.equal(parseDirectory('acme-directory', 'zerossl'), 'https://acme.zerossl.com/v2/DV90');
  });

  it('keeps a custom https URL', () => {
    assert.equal(parseDirectory('acme-directory', 'https://127.0.0.1:14000/dir'), 'https://127.0.0.1:14000/dir');
  });

  it('rejects plain http', () => {
    assert.match(rejection(() => parseDirectory('acme-directory', 'http://ca.example/dir'), 'acme-directory'), /https/);
  });

  it('reads meta profiles and EAB flag', () => {
    const meta = readDirectoryMeta({ meta: { externalAccountRequired: true, profiles: { classic: 'Default', shortlived: '6 days' }, caaIdentities: ['ca.example'] } });
    assert.equal(meta.externalAccountRequired, true);
    assert.deepEqual(Object.keys(meta.profiles), ['classic', 'shortlived']);
    assert.deepEqual(meta.caaIdentities, ['ca.example']);
  });

  it('rejects a profile not offered', () => {
    const meta = readDirectoryMeta({ meta: { profiles: { classic: 'Default' } } });
    assert.equal(profileProblem('classic', meta, 'https://ca.example/dir'), null);
    assert.match(profileProblem('shortlived', meta, 'https://ca.example/dir') ?? '', /offers the profiles classic/);
  });

  it('rejects a profile without meta.profiles', () => {
    assert.match(profileProblem('tlsserver', readDirectoryMeta({}), 'https://ca.example/dir') ?? '', /offers no profiles/);
  });
});

describe('eab credentials', () => {
  const raw = Buffer.from('0123456789abcdef0123456789abcdef\xfb\xff', 'latin1');

  it('decodes base64url and base64 alike', () => {
    const fromUrl = parseEab('eab-key-id', 'eab-hmac-key', 'kid-1', raw.toString('base64url'));
    const fromStandard = parseEab('eab-key-id', 'eab-hmac-key', 'kid-1', raw.toString('base64'));
    assert.equal(fromUrl.hmacKey, fromStandard.hmacKey);
    assert.equal(fromUrl.hmacKey, raw.toString('base64url'));
  });

  it('trims both values', () => {
    const parsed = parseEab('eab-key-id', 'eab-hmac-key', ' kid-1\n', ` ${raw.toString('base64url')}\n`);
    assert.equal(parsed.keyId, 'kid-1');
  });

  it('hints at swapped fields', () => {
    assert.match(rejection(() => parseEab('eab-key-id', 'eab-hmac-key', raw.toString('base64url'), 'kid-1'), 'eab-hmac-key'), /swapped/);
  });

  it('rejects an empty HMAC key', () => {
    assert.match(rejection(() => parseEab('eab-key-id', 'eab-hmac-key', 'kid-1', '  '), 'eab-hmac-key'), /empty/);
  });
});

describe('site addresses', () => {
  it('accepts public addresses', () => {
    assert.deepEqual(parseSiteAddresses('addresses', ['198.51.100.20', '2001:DB8::20'], false), ['198.51.100.20', '2001:db8::20']);
  });

  for (const address of ['127.0.0.1', '10.1.2.3', '192.168.1.1', '172.20.0.1', '100.64.0.1', '::1', 'fd00::1', 'fe80::1']) {
    it(`rejects ${address} in production`, () => {
      assert.match(rejection(() => parseSiteAddresses('addresses', [address], false), 'addresses'), /allow-private/);
    });
  }

  it('accepts loopback with allow-private', () => {
    assert.deepEqual(parseSiteAddresses('addresses', ['127.0.0.1'], true), ['127.0.0.1']);
  });

  it('rejects a non-address', () => {
    assert.match(rejection(() => parseSiteAddresses('addresses', ['example.com'], true), 'addresses'), /not an IPv4 or IPv6 address/);
  });
});
