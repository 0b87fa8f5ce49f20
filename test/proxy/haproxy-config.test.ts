import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  formatBindAddress,
  formatMapValue,
  parseCrtList,
  parseHostsMap,
  parseMapValue,
  renderCrtList,
  renderHaproxyConfig,
  renderHostsMap,
  type HaproxyConfigOptions,
} from '../../daemon/src/proxy/haproxy-config.js';
import { createFallbackCertificate } from '../../daemon/src/proxy/fallback-certificate.js';
import { buildProxyPaths } from '../../daemon/src/proxy/paths.js';

function options(overrides: Partial<HaproxyConfigOptions> = {}): HaproxyConfigOptions {
  return {
    paths: buildProxyPaths('/etc/pxy', '/run/pxy'),
    httpBind: { address: '0.0.0.0', port: 80 },
    httpsBind: { address: '0.0.0.0', port: 443 },
    ...overrides,
  };
}

function lines(config: string): string[] {
  return config.split('\n').map((line) => line.trim());
}

describe('renderHaproxyConfig', () => {
  it('opens the admin socket', () => {
    const config = lines(renderHaproxyConfig(options()));
    assert.ok(config.includes('stats socket /run/pxy/admin.sock mode 600 level admin expose-fd listeners'));
  });

  it('binds tls with the crt-list', () => {
    const config = lines(renderHaproxyConfig(options()));
    assert.ok(config.includes('bind 0.0.0.0:443 ssl crt-list /etc/pxy/crt-list alpn h2,http/1.1'));
    assert.ok(config.includes('bind 0.0.0.0:80'));
  });

  it('routes through the host map', () => {
    const config = lines(renderHaproxyConfig(options()));
    assert.ok(config.includes('http-request set-var(txn.host) req.hdr(host),field(1,:),lower'));
    assert.ok(config.includes('http-request set-var(txn.upstream) var(txn.host),map(/etc/pxy/hosts.map)'));
    assert.ok(config.includes('http-request set-dst var(txn.upstream),field(2,:,0)'));
    assert.ok(config.includes('http-request set-dst-port var(txn.upstream),field(1,:)'));
    assert.ok(config.includes('server route 0.0.0.0:0'));
  });

  it('redirects to 443 without a port', () => {
    const config = renderHaproxyConfig(options());
    assert.match(config, /location https:\/\/%\[var\(txn\.host\)\]%\[pathq\] if/);
  });

  it('redirects to a custom port', () => {
    const config = renderHaproxyConfig(options({ httpsRedirectPort: 18443 }));
    assert.match(config, /location https:\/\/%\[var\(txn\.host\)\]:18443%\[pathq\] if/);
  });

  it('answers unknown hosts with 404', () => {
    const config = lines(renderHaproxyConfig(options()));
    assert.ok(config.includes('default_backend be_not_found'));
    assert.ok(config.includes('http-request return status 404 content-type text/plain string "Not found"'));
  });

  it('formats ipv6 binds', () => {
    assert.equal(formatBindAddress({ address: '::', port: 443 }), ':::443');
  });

  it('rejects unsafe binds', () => {
    assert.throws(() => renderHaproxyConfig(options({ httpBind: { address: '0.0.0.0 ssl', port: 80 } })), /invalid bind address/);
    assert.throws(() => renderHaproxyConfig(options({ httpsBind: { address: '0.0.0.0', port: 0 } })), /invalid bind port/);
    assert.throws(() => renderHaproxyConfig(options({ httpsRedirectPort: 70000 })), /invalid httpsRedirectPort/);
  });

  it('passes haproxy -c', async () => {
    const base = await mkdtemp(join(tmpdir(), 'pxy-cfg-'));
    try {
      const paths = buildProxyPaths(join(base, 'etc'), join(base, 'run'));
      await mkdir(paths.configDir);
      await writeFile(paths.fallbackCertificate, await createFallbackCertificate());
      await writeFile(paths.crtListFile, renderCrtList([paths.fallbackCertificate]));
      await writeFile(paths.mapFile, renderHostsMap([{ hostname: 'a.test', target: { address: '192.0.2.1', port: 80 } }]));
      await writeFile(paths.configFile, renderHaproxyConfig({ ...options(), paths, httpsRedirectPort: 8443 }));

      const result = spawnSync('/usr/sbin/haproxy', ['-c', '-f', paths.configFile], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.doesNotMatch(result.stdout + result.stderr, /WARNING|ALERT/);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('host map', () => {
  it('puts the port first', () => {
    assert.equal(formatMapValue({ address: '192.0.2.10', port: 8080 }), '8080:192.0.2.10');
    assert.equal(formatMapValue({ address: '2001:db8::1', port: 80 }), '80:2001:db8::1');
  });

  it('parses values back', () => {
    assert.deepEqual(parseMapValue('80:2001:db8::1'), { address: '2001:db8::1', port: 80 });
    assert.deepEqual(parseMapValue('8080:192.0.2.10'), { address: '192.0.2.10', port: 8080 });
    assert.equal(parseMapValue('192.0.2.10:8080'), undefined);
    assert.equal(parseMapValue('99999:192.0.2.10'), undefined);
    assert.equal(parseMapValue('80:'), undefined);
  });

  it('round-trips sorted routes', () => {
    const routes = [
      { hostname: 'b.example.com', target: { address: '192.0.2.2', port: 80 } },
      { hostname: 'a.example.com', target: { address: '2001:db8::5', port: 3000 } },
    ];
    const text = renderHostsMap(routes);
    assert.match(text, /^a\.example\.com 3000:2001:db8::5$/m);
    const parsed = parseHostsMap(text);
    assert.deepEqual(parsed.routes, [routes[1], routes[0]]);
    assert.deepEqual(parsed.invalidLines, []);
  });

  it('reports invalid lines', () => {
    const parsed = parseHostsMap('# comment\nok.example.com 80:192.0.2.1\nBAD 80:192.0.2.1\nx.example.com\nok.example.com 81:192.0.2.1\n');
    assert.deepEqual(parsed.routes, [{ hostname: 'ok.example.com', target: { address: '192.0.2.1', port: 80 } }]);
    assert.deepEqual(parsed.invalidLines, [3, 4]);
  });

  it('rejects invalid routes', () => {
    assert.throws(() => renderHostsMap([{ hostname: 'a b', target: { address: '192.0.2.1', port: 80 } }]), /invalid host name/);
    assert.throws(() => renderHostsMap([{ hostname: 'a.test', target: { address: '192.0.2.1;', port: 80 } }]), /invalid target address/);
  });
});

describe('crt-list', () => {
  it('round-trips entries in order', () => {
    const entries = ['/etc/pxy/fallback.pem', '/etc/pxy/certs/b.test.pem', '/etc/pxy/certs/a.test.pem'];
    assert.deepEqual(parseCrtList(renderCrtList(entries)), entries);
  });

  it('ignores options and comments', () => {
    assert.deepEqual(parseCrtList('# x\n\n/a.pem [alpn h2] a.test\n'), ['/a.pem']);
  });
});
