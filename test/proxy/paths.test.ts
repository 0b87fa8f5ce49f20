import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  buildProxyPaths,
  certificateFileName,
  certificateIdFromFileName,
  certificatePath,
} from '../../daemon/src/proxy/paths.js';
import { assertHostname, assertIpAddress, assertPort } from '../../daemon/src/proxy/validation.js';

const rejectedIds: Array<[string, string]> = [
  ['parent directory', '..'],
  ['traversal prefix', '../etc/passwd'],
  ['traversal inside', 'a/../b.example.com'],
  ['slash', 'a/b.example.com'],
  ['absolute path', '/etc/passwd'],
  ['NUL', 'app.example.com\0'],
  ['space', 'app example.com'],
  ['newline', 'app.example.com\nshow info'],
  ['carriage return', 'app.example.com\r'],
  ['tab', 'app.example.com\t'],
  ['hash', 'app.example.com#x'],
  ['double quote', 'app"example.com'],
  ['single quote', "app'example.com"],
  ['backslash', 'app\\example.com'],
  ['semicolon', 'app.example.com;del ssl cert x'],
  ['upper case', 'App.example.com'],
  ['trailing dot', 'app.example.com.'],
  ['empty label', 'app..example.com'],
  ['leading hyphen', '-app.example.com'],
  ['underscore', '_wildcard.example.com'],
  ['wildcard in the middle', 'app.*.example.com'],
  ['bare wildcard', '*'],
  ['double wildcard', '*.*.example.com'],
  ['empty', ''],
  ['label of 64 characters', `${'a'.repeat(64)}.example.com`],
  ['name of 254 characters', `${'a.'.repeat(126)}ab`],
];

describe('certificateFileName', () => {
  it('names host certificates', () => {
    assert.equal(certificateFileName('app.example.com'), 'app.example.com.pem');
  });

  it('names wildcard certificates', () => {
    assert.equal(certificateFileName('*.example.com'), '_wildcard.example.com.pem');
  });

  for (const [what, id] of rejectedIds) {
    it(`rejects ${what}`, () => {
      assert.throws(() => certificateFileName(id), /invalid certificate id/);
    });
  }

  it('maps file names back to ids', () => {
    assert.equal(certificateIdFromFileName('_wildcard.example.com.pem'), '*.example.com');
    assert.equal(certificateIdFromFileName('app.example.com.pem'), 'app.example.com');
    assert.equal(certificateIdFromFileName('fallback.txt'), undefined);
    assert.equal(certificateIdFromFileName('.app.example.com.pem.1a2b.tmp'), undefined);
  });

  it('builds paths inside certs', () => {
    const paths = buildProxyPaths('/etc/pxy', '/run/pxy');
    assert.equal(certificatePath(paths, '*.example.com'), '/etc/pxy/certs/_wildcard.example.com.pem');
  });
});

describe('buildProxyPaths', () => {
  it('resolves relative directories', () => {
    const paths = buildProxyPaths('/etc/pxy/../pxy2', '/run/pxy');
    assert.equal(paths.configDir, '/etc/pxy2');
    assert.equal(paths.adminSocket, '/run/pxy/admin.sock');
  });

  for (const directory of ['/etc/my proxy', '/etc/pxy;x', '/etc/pxy#', '/etc/"pxy"', '/etc/pxy\nx']) {
    it(`rejects ${JSON.stringify(directory)}`, () => {
      assert.throws(() => buildProxyPaths(directory, '/run/pxy'), /invalid configDir/);
    });
  }

  it('rejects long socket paths', () => {
    assert.throws(() => buildProxyPaths('/etc/pxy', `/run/${'x'.repeat(100)}`), /too long/);
  });
});

describe('input validation', () => {
  it('accepts host names', () => {
    assert.doesNotThrow(() => assertHostname('app.example.com'));
    assert.doesNotThrow(() => assertHostname('xn--bcher-kva.example'));
  });

  it('accepts addresses', () => {
    assert.doesNotThrow(() => assertIpAddress('192.0.2.10'));
    assert.doesNotThrow(() => assertIpAddress('2001:db8::1'));
  });

  for (const address of ['192.0.2.256', '2001:DB8::1', 'fe80::1%eth0', '192.0.2.1 ', 'app.example.com', '192.0.2.1;']) {
    it(`rejects address ${JSON.stringify(address)}`, () => {
      assert.throws(() => assertIpAddress(address), /invalid address/);
    });
  }

  for (const port of [0, -1, 65536, 80.5, Number.NaN]) {
    it(`rejects port ${port}`, () => {
      assert.throws(() => assertPort(port), /invalid port/);
    });
  }
});
