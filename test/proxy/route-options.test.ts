import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { quoteConfigWord, quoteLogFormat } from '../../daemon/src/proxy/haproxy-syntax.js';
import { hashPassword } from '../../daemon/src/proxy/password-hash.js';
import { defaultRouteOptions, normaliseNetwork, normaliseRouteOptions, type RouteOptions } from '../../daemon/src/proxy/route-options.js';
import { normaliseRoute } from '../../daemon/src/proxy/route-table.js';

/** Values that would end a line, start a comment, quote, escape or split a runtime command if they got through. */
const hostile = ['a b', 'a\nb', 'a\rb', 'a#b', 'a"b', "a'b", 'a\\b', 'a;b', 'a\0b', '', '${X}'];

function rejects(options: Partial<RouteOptions>, pattern: RegExp): void {
  assert.throws(() => normaliseRouteOptions(options), pattern, JSON.stringify(options));
}

describe('normaliseRouteOptions', () => {
  it('fills in defaults', () => {
    assert.deepEqual(normaliseRouteOptions(), defaultRouteOptions());
    assert.equal(normaliseRouteOptions().httpsRedirect, true);
  });

  it('rejects header names', () => {
    for (const name of [...hostile.filter((value) => !["a'b", '${X}', 'a#b'].includes(value)), 'a:b', 'a(b', 'a,b', 'é']) {
      rejects({ requestHeaders: [{ name, value: 'v' }] }, /requestHeaders\[0\]\.name/);
    }
  });

  it('rejects reserved headers', () => {
    for (const name of ['Host', 'content-length', 'X-Forwarded-For', 'Transfer-Encoding']) {
      rejects({ responseHeaders: [{ name, value: 'v' }] }, /responseHeaders\[0\]\.name/);
    }
  });

  it('rejects control characters in values', () => {
    for (const value of ['a\nb', 'a\rb', 'a\0b', 'a\tb', 'é']) {
      rejects({ requestHeaders: [{ name: 'X-A', value }] }, /requestHeaders\[0\]\.value/);
    }
  });

  it('accepts printable values', () => {
    const options = normaliseRouteOptions({ requestHeaders: [{ name: "X-A!#$%&'*+.^_`|~", value: 'a"b\\c#d$e%f;g h' }] });
    assert.equal(options.requestHeaders[0]?.value, 'a"b\\c#d$e%f;g h');
  });

  it('rejects check paths', () => {
    for (const path of ['health', '/a b', '/a#b', '/a"b', '/a\\b', '/a\nb', '/a%20']) {
      rejects({ healthCheck: { path, intervalSeconds: 5 } }, /healthCheck\.path/);
    }
  });

  it('rejects networks', () => {
    for (const network of [...hostile, '10.0.0.0/33', '10.0.0.0/8/8', 'fe80::1%eth0/64', '10.0.0.0/-1']) {
      rejects({ allowedNetworks: [network] }, /allowedNetworks\[0\]/);
    }
  });

  it('normalises networks', () => {
    assert.equal(normaliseNetwork('n', '192.0.2.1'), '192.0.2.1/32');
    assert.equal(normaliseNetwork('n', '2001:DB8::/32'), '2001:db8::/32');
  });

  it('rejects users and hashes', () => {
    for (const user of hostile) {
      rejects({ basicAuth: [{ user, passwordHash: '$6$salt$' + 'a'.repeat(86) }] }, /basicAuth\[0\]\.user/);
    }
    for (const passwordHash of ['plain', '$1$salt$abc', '$6$salt$short', '$6$sa lt$' + 'a'.repeat(86), `$6$salt$${'a'.repeat(86)}\n`]) {
      rejects({ basicAuth: [{ user: 'admin', passwordHash }] }, /basicAuth\[0\]\.passwordHash/);
    }
  });

  it('hides the hash in errors', () => {
    assert.throws(() => normaliseRouteOptions({ basicAuth: [{ user: 'a', passwordHash: 'secret-value' }] }), (err: Error) => !err.message.includes('secret-value'));
  });

  it('rejects out-of-range numbers', () => {
    rejects({ tunnelTimeoutSeconds: 0 }, /tunnelTimeoutSeconds/);
    rejects({ tunnelTimeoutSeconds: 1.5 }, /tunnelTimeoutSeconds/);
    rejects({ hsts: { maxAgeSeconds: -1, includeSubDomains: false } }, /hsts\.maxAgeSeconds/);
    rejects({ healthCheck: { path: '/h', intervalSeconds: 0 } }, /healthCheck\.intervalSeconds/);
  });

  it('rejects unknown enums', () => {
    rejects({ backendProtocol: 'ftp' as RouteOptions['backendProtocol'] }, /backendProtocol/);
    rejects({ balance: 'random' as RouteOptions['balance'] }, /balance/);
  });
});

describe('normaliseRoute', () => {
  it('deduplicates targets', () => {
    const route = normaliseRoute({ hostname: 'a.test', targets: [{ address: '192.0.2.1', port: 80 }, { address: '192.0.2.1', port: 80 }] });
    assert.equal(route.targets.length, 1);
  });

  it('rejects too many targets', () => {
    const targets = Array.from({ length: 17 }, (_, index) => ({ address: '192.0.2.1', port: 1000 + index }));
    assert.throws(() => normaliseRoute({ hostname: 'a.test', targets }), /at most 16/);
  });
});

describe('haproxy quoting', () => {
  it('escapes quote, backslash and dollar', () => {
    assert.equal(quoteConfigWord('a"b\\c$d#e\'f'), '"a\\"b\\\\c\\$d#e\'f"');
  });

  it('doubles percent signs', () => {
    assert.equal(quoteLogFormat('%[src]'), '"%%[src]"');
  });

  it('rejects control characters', () => {
    assert.throws(() => quoteConfigWord('a\nb'), /control character/);
  });
});

describe('hashPassword', () => {
  it('makes a sha-512 crypt hash', async () => {
    const hash = await hashPassword('pass word');
    assert.match(hash, /^\$6\$/);
    assert.equal(normaliseRouteOptions({ basicAuth: [{ user: 'a', passwordHash: hash }] }).basicAuth[0]?.passwordHash, hash);
  });

  it('rejects line breaks', async () => {
    await assert.rejects(hashPassword('a\nb'), /invalid password/);
  });
});
