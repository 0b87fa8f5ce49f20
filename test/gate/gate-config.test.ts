import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { pino } from 'pino';

import { renderAuthGate } from '../../daemon/src/proxy/auth-gate.js';
import { authServerAddress, parseAuthServerUrl } from '../../daemon/src/proxy/auth-server-url.js';
import { checkErrorResponse, ERROR_PAGE_NAMES, ERROR_PAGES, renderErrorResponse } from '../../daemon/src/proxy/error-pages/pages.js';
import { renderHaproxyConfig } from '../../daemon/src/proxy/haproxy-config.js';
import { FileChange, prepareFiles, writeRouteFiles } from '../../daemon/src/proxy/haproxy-files.js';
import { http3Status, parseHaproxyBuild } from '../../daemon/src/proxy/haproxy-features.js';
import { buildProxyPaths } from '../../daemon/src/proxy/paths.js';
import { normaliseRouteOptions, type RouteOptions } from '../../daemon/src/proxy/route-options.js';
import type { RouteTable } from '../../daemon/src/proxy/route-table.js';

/** Rendering and checks of the sign-in gate, limits, error pages and HTTP/3 detection. */

const paths = buildProxyPaths('/etc/pxy', '/run/pxy');

function render(options: Partial<RouteOptions>, extra: { errorPages?: boolean; http3?: boolean } = {}): string[] {
  const table: RouteTable = { version: 1, slotCount: 2, routes: [{ hostname: 'a.test', slot: 0, targets: [{ address: '192.0.2.1', port: 80 }], maintenance: false, options: normaliseRouteOptions(options) }] };
  const text = renderHaproxyConfig({ paths, httpBind: { address: '0.0.0.0', port: 80 }, httpsBind: { address: '0.0.0.0', port: 443 }, ...extra }, table).text;
  return text.split('\n').map((line) => line.trim());
}

describe('auth server url', () => {
  it('keeps scheme, host and port', () => {
    assert.equal(parseAuthServerUrl('https://Auth.Example.com/'), 'https://auth.example.com');
    assert.equal(parseAuthServerUrl('http://127.0.0.1:4180'), 'http://127.0.0.1:4180');
    assert.equal(parseAuthServerUrl('http://[2001:db8::1]:8080'), 'http://[2001:db8::1]:8080');
    assert.equal(parseAuthServerUrl(' https://sso.example.com '), 'https://sso.example.com');
  });

  it('rejects unsafe urls', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['ftp://auth.example.com', /scheme must be http or https/],
      ['https://user:secret@auth.example.com', /user name or password/],
      ['https://auth.example.com/#top', /fragment/],
      ['https://auth.example.com/?x=1', /query/],
      ['https://auth.example.com/sso', /takes no path/],
      ['https://auth_example.com', /not a host name/],
      ['https://auth.example.com:0', /port/],
      ['auth.example.com', /not an absolute URL/],
      ['https://auth.example.com/"x', /quotes/],
      ['https://auth.\nexample.com', /control characters/],
      ['', /at most 2000/],
      [42, /at most 2000/],
    ];
    for (const [value, expected] of cases) assert.throws(() => parseAuthServerUrl(value), expected, String(value));
  });

  it('splits into server parts', () => {
    assert.deepEqual(authServerAddress('https://auth.example.com'), { scheme: 'https', host: 'auth.example.com', port: 443, isAddress: false });
    assert.deepEqual(authServerAddress('http://[::1]:4180'), { scheme: 'http', host: '::1', port: 4180, isAddress: true });
  });
});

describe('route options of the gate and limits', () => {
  it('defaults to no gate and buffering', () => {
    const options = normaliseRouteOptions({});
    assert.equal(options.authRequired, false);
    assert.equal(options.authServer, null);
    assert.equal(options.maxBodySize, null);
    assert.equal(options.buffering, true);
  });

  it('rejects invalid values', () => {
    assert.throws(() => normaliseRouteOptions({ maxBodySize: 10 }), /route option maxBodySize 10: expected an integer from 1024/);
    assert.throws(() => normaliseRouteOptions({ maxBodySize: 1.5e12 }), /route option maxBodySize/);
    assert.throws(() => normaliseRouteOptions({ authServer: 'javascript:alert(1)' }), /route option authServer/);
    assert.throws(() => normaliseRouteOptions({ buffering: 'no' as unknown as boolean }), /route option buffering/);
  });
});

describe('gate rendering', () => {
  it('renders nothing without auth', () => {
    assert.deepEqual(renderAuthGate(normaliseRouteOptions({}), paths), { requestRules: [], serverLines: [] });
  });

  it('strips identity headers first', () => {
    const rules = renderAuthGate(normaliseRouteOptions({ authRequired: true, authServer: 'https://auth.example.com' }), paths).requestRules.map((line) => line.trim());
    assert.equal(rules[0], 'http-request del-header X-Auth-Request- -m beg');
    assert.ok(rules.indexOf('http-request del-header X-Forwarded-User') < rules.findIndex((line) => line.startsWith('http-request lua.pve_auth_gate')));
    assert.ok(rules.includes('http-request lua.pve_auth_gate "https://auth.example.com" unless { path_beg /oauth2/ }'));
  });

  it('routes oauth2 paths to a weightless server', () => {
    const gate = renderAuthGate(normaliseRouteOptions({ authRequired: true, authServer: 'https://auth.example.com:8443' }), paths);
    const lines = gate.serverLines.map((line) => line.trim());
    assert.equal(lines[0], 'use-server pve_auth if { path_beg /oauth2/ }');
    assert.equal(lines[1], 'server pve_auth auth.example.com:8443 weight 0 init-addr last,libc,none ssl verify required ca-file @system-ca sni str(auth.example.com)');
  });

  it('answers 503 without a server', () => {
    const rules = renderAuthGate(normaliseRouteOptions({ authRequired: true }), paths).requestRules;
    assert.equal(rules.at(-1)?.trim(), 'http-request return status 503 errorfile /etc/pxy/error-pages/sign-in-not-configured.http if TRUE');
  });

  it('loads the script only when needed', () => {
    assert.ok(!render({}).includes('lua-load /etc/pxy/auth-gate.lua'));
    assert.ok(!render({ authRequired: true }).includes('lua-load /etc/pxy/auth-gate.lua'));
    assert.ok(render({ authRequired: true, authServer: 'http://192.0.2.9:4180' }).includes('lua-load /etc/pxy/auth-gate.lua'));
  });
});

describe('limit rendering', () => {
  it('buffers requests by default', () => {
    const lines = render({});
    assert.ok(lines.includes('option http-buffer-request'));
    assert.ok(!lines.some((line) => line.startsWith('timeout server 3600s')));
  });

  it('streams without buffering', () => {
    const lines = render({ buffering: false, tunnelTimeoutSeconds: 7200 });
    const slot = lines.slice(lines.indexOf('backend be_slot_0'), lines.indexOf('backend be_slot_1'));
    assert.ok(!slot.includes('option http-buffer-request'));
    assert.ok(slot.includes('timeout server 7200s'));
  });

  it('limits the body size', () => {
    const lines = render({ maxBodySize: 1_048_576 });
    assert.ok(lines.includes('http-request deny deny_status 413 if { req.hdr_val(content-length) gt 1048576 }'));
  });

  it('uses the product pages', () => {
    const lines = render({}, { errorPages: true });
    assert.ok(lines.includes('errorfile 502 /etc/pxy/error-pages/backend-error.http'));
    assert.ok(lines.includes('errorfile 503 /etc/pxy/error-pages/backend-unavailable.http'));
    assert.ok(lines.includes('errorfile 413 /etc/pxy/error-pages/body-too-large.http'));
    assert.ok(lines.includes('http-request return status 404 errorfile /etc/pxy/error-pages/unknown-host.http'));
    assert.ok(lines.includes('http-request return status 503 errorfile /etc/pxy/error-pages/guest-stopped.http if { var(txn.host),map(/etc/pxy/guest-stopped.map) -m found }'));
  });
});

describe('configuration check', () => {
  it('passes haproxy -c without warnings', async () => {
    const base = await mkdtemp(join(tmpdir(), 'gate-cfg-'));
    try {
      const options = {
        paths: buildProxyPaths(join(base, 'etc'), join(base, 'run')),
        httpBind: { address: '127.0.0.1', port: 8080 },
        httpsBind: { address: '127.0.0.1', port: 8443 },
        errorPages: true,
        errorPageOverrideDir: null,
      };
      await prepareFiles(options, [], pino({ level: 'silent' }));
      const routes = [
        { authRequired: true, authServer: 'https://auth.example.com' },
        { authRequired: true, authServer: 'http://[::1]:4180' },
        { authRequired: true, authServer: null },
        { maxBodySize: 1024, buffering: false },
      ].map((routeOptions, slot) => ({ hostname: `r${slot}.test`, slot, targets: [{ address: '192.0.2.1', port: 80 }], maintenance: slot === 3, options: normaliseRouteOptions(routeOptions) }));
      await writeRouteFiles(options, { version: 1, slotCount: 6, routes }, new FileChange());

      const result = spawnSync('/usr/sbin/haproxy', ['-c', '-f', options.paths.configFile], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      // The test machine resolves no outside names; HAProxy then starts that server disabled.
      const warnings = (result.stdout + result.stderr).split('\n').filter((line) => /WARNING|ALERT/.test(line));
      const unexpected = warnings.filter((line) => !line.includes("could not resolve address 'auth.example.com'"));
      assert.deepEqual(unexpected, []);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('error page files', () => {
  it('renders valid raw responses', () => {
    for (const name of ERROR_PAGE_NAMES) {
      const response = renderErrorResponse(ERROR_PAGES[name], '<p>x</p>');
      assert.doesNotThrow(() => checkErrorResponse(name, response, name));
    }
  });

  it('rejects a wrong override', () => {
    assert.throws(() => checkErrorResponse('guest-stopped', '<h1>stopped</h1>', 'x.http'), /does not start with an HTTP\/1\.1 status line/);
    assert.throws(() => checkErrorResponse('guest-stopped', 'HTTP/1.1 200 OK\r\n\r\n', 'x.http'), /has status 200, expected 503/);
    assert.throws(() => checkErrorResponse('guest-stopped', `HTTP/1.1 503 X\r\n\r\n${'a'.repeat(16_000)}`, 'x.http'), /HAProxy accepts at most 15360/);
  });
});

describe('http/3 detection', () => {
  it('reads the installed build', () => {
    const output = spawnSync('/usr/sbin/haproxy', ['-vv'], { encoding: 'utf8' });
    const build = parseHaproxyBuild(output.stdout + output.stderr);
    assert.match(build.version ?? '', /^\d+\.\d+/);
    assert.ok(build.features.has('LUA'));
    // Debian's HAProxy 2.6 and 3.0 packages are built without QUIC.
    assert.equal(build.features.has('QUIC'), false);
    const status = http3Status(build);
    assert.equal(status.available, false);
    assert.match(status.message, /^HTTP\/3 is not available: this HAProxy build .* has no QUIC support/);
  });

  it('finds quic when built in', () => {
    const build = parseHaproxyBuild('HAProxy version 3.0.11-1 2025/01/01\nFeature list : +EPOLL +LUA +QUIC +OPENSSL\n');
    assert.equal(build.version, '3.0.11-1');
    assert.equal(http3Status(build).available, true);
  });

  it('adds a quic bind when available', () => {
    const lines = render({}, { http3: true });
    assert.ok(lines.includes('bind quic4@0.0.0.0:443 ssl crt-list /etc/pxy/crt-list alpn h3'));
    assert.ok(lines.includes('http-response set-header alt-svc "h3=\\":443\\"; ma=86400"'));
    assert.ok(!render({}).some((line) => line.includes('quic4@')));
  });
});
