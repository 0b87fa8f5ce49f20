import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  formatBindAddress,
  mapValues,
  parseCrtList,
  renderCrtList,
  renderHaproxyConfig,
  renderMaps,
  renderNetworkList,
  type HaproxyConfigOptions,
} from '../../daemon/src/proxy/haproxy-config.js';
import { createFallbackCertificate } from '../../daemon/src/proxy/fallback-certificate.js';
import { buildProxyPaths } from '../../daemon/src/proxy/paths.js';
import { normaliseRouteOptions, type RouteOptions } from '../../daemon/src/proxy/route-options.js';
import { emptyRouteTable, parseRouteTable, renderRouteJournalEntry, renderRouteTable, replayRouteJournal, type RouteRecord, type RouteTable } from '../../daemon/src/proxy/route-table.js';

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

function render(overrides: Partial<HaproxyConfigOptions> = {}, table: RouteTable = emptyRouteTable()): string {
  return renderHaproxyConfig(options(overrides), table).text;
}

function record(hostname: string, slot: number, routeOptions: Partial<RouteOptions> = {}): RouteRecord {
  return { hostname, slot, targets: [{ address: '192.0.2.1', port: 80 }], maintenance: false, options: normaliseRouteOptions(routeOptions) };
}

/** Option values with every character that could end a line, open a comment, quote or escape. */
const hostileOptions: Partial<RouteOptions> = {
  requestHeaders: [
    { name: 'X-Test', value: 'a"b\\c$d#e\'f %[src] ${HOME} ;x' },
    { name: "X-Odd!#$%&'*+.^_`|~", value: 'v' },
  ],
  responseHeaders: [{ name: 'X-Resp', value: '" # \\' }],
  healthCheck: { path: "/health?a='1'&b=$x;c", intervalSeconds: 2 },
  basicAuth: [{ user: 'admin', passwordHash: '$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1' }],
  allowedNetworks: ['192.0.2.0/24', '2001:db8::/32'],
  backendProtocol: 'https',
  balance: 'leastconn',
};

describe('renderHaproxyConfig', () => {
  it('opens the admin socket', () => {
    const config = lines(render());
    assert.ok(config.includes('stats socket /run/pxy/admin.sock mode 600 level admin expose-fd listeners'));
  });

  it('binds tls with the crt-list', () => {
    const config = lines(render());
    assert.ok(config.includes('bind 0.0.0.0:443 ssl crt-list /etc/pxy/crt-list alpn h2,http/1.1'));
    assert.ok(config.includes('bind 0.0.0.0:80'));
  });

  it('routes through the host map to a backend', () => {
    const config = lines(render());
    assert.ok(config.includes('http-request set-var(txn.host) req.hdr(host),field(1,:),lower'));
    assert.ok(config.includes('http-request set-var(txn.backend) var(txn.host),map(/etc/pxy/hosts.map)'));
    assert.ok(config.includes('use_backend %[var(txn.backend)] if { var(txn.backend) -m found }'));
  });

  it('declares free slots ahead', () => {
    const config = lines(render());
    assert.ok(config.includes('backend be_slot_0'));
    assert.ok(config.includes('backend be_slot_31'));
    assert.ok(!config.includes('backend be_slot_32'));
  });

  it('writes servers of a route', () => {
    const table: RouteTable = { version: 1, slotCount: 2, routes: [{ ...record('a.test', 1), targets: [{ address: '192.0.2.1', port: 80 }, { address: '2001:db8::1', port: 8080 }] }] };
    const config = lines(render({}, table));
    assert.ok(config.includes('server s0 192.0.2.1:80'));
    assert.ok(config.includes('server s1 2001:db8::1:8080'));
    assert.ok(config.includes('# a.test'));
  });

  it('disables servers in maintenance', () => {
    const table: RouteTable = { version: 1, slotCount: 1, routes: [{ ...record('a.test', 0), maintenance: true }] };
    assert.ok(lines(render({}, table)).includes('server s0 192.0.2.1:80 disabled'));
  });

  it('keeps the structure of a default route', () => {
    const free = renderHaproxyConfig(options(), { version: 1, slotCount: 1, routes: [] });
    const used = renderHaproxyConfig(options(), { version: 1, slotCount: 1, routes: [record('a.test', 0)] });
    assert.equal(used.slotStructures[0], free.slotStructures[0]);
  });

  it('changes the structure for auth', () => {
    const free = renderHaproxyConfig(options(), { version: 1, slotCount: 1, routes: [] });
    const used = renderHaproxyConfig(options(), { version: 1, slotCount: 1, routes: [record('a.test', 0, hostileOptions)] });
    assert.notEqual(used.slotStructures[0], free.slotStructures[0]);
  });

  it('quotes header names and values', () => {
    const config = render({}, { version: 1, slotCount: 1, routes: [record('a.test', 0, hostileOptions)] });
    assert.ok(config.includes('http-request set-header "X-Test" "a\\"b\\\\c\\$d#e\'f %%[src] \\${HOME} ;x"'));
    assert.ok(config.includes('http-response set-header "X-Resp" "\\" # \\\\"'));
  });

  it('writes verified tls servers', () => {
    const config = lines(render({}, { version: 1, slotCount: 1, routes: [record('a.test', 0, { backendProtocol: 'https' })] }));
    assert.ok(config.includes('server s0 192.0.2.1:80 ssl verify required ca-file @system-ca'));
  });

  it('redirects to 443 without a port', () => {
    assert.match(render(), /location https:\/\/%\[var\(txn\.host\)\]%\[pathq\] if/);
  });

  it('redirects to a custom port', () => {
    assert.match(render({ httpsRedirectPort: 18443 }), /location https:\/\/%\[var\(txn\.host\)\]:18443%\[pathq\] if/);
  });

  it('answers unknown hosts with 404', () => {
    const config = lines(render());
    assert.ok(config.includes('default_backend be_not_found'));
    assert.ok(config.includes('http-request return status 404 content-type text/plain string "Not found"'));
  });

  it('formats ipv6 binds', () => {
    assert.equal(formatBindAddress({ address: '::', port: 443 }), ':::443');
  });

  it('rejects unsafe binds', () => {
    assert.throws(() => render({ httpBind: { address: '0.0.0.0 ssl', port: 80 } }), /invalid bind address/);
    assert.throws(() => render({ httpsBind: { address: '0.0.0.0', port: 0 } }), /invalid bind port/);
    assert.throws(() => render({ httpsRedirectPort: 70000 }), /invalid httpsRedirectPort/);
  });

  it('passes haproxy -c with every option', async () => {
    const base = await mkdtemp(join(tmpdir(), 'pxy-cfg-'));
    try {
      const paths = buildProxyPaths(join(base, 'etc'), join(base, 'run'));
      await mkdir(paths.configDir);
      const table: RouteTable = {
        version: 1,
        slotCount: 3,
        routes: [record('a.test', 0, hostileOptions), record('b.test', 2, { hsts: { maxAgeSeconds: 600, includeSubDomains: true }, httpsRedirect: false, tunnelTimeoutSeconds: 30, cloudflareProxied: true })],
      };
      await writeFile(paths.fallbackCertificate, await createFallbackCertificate());
      await writeFile(paths.crtListFile, renderCrtList([paths.fallbackCertificate]));
      await writeFile(paths.trustedProxiesFile, renderNetworkList(['173.245.48.0/20']));
      for (const [path, content] of renderMaps(paths, table)) await writeFile(path, content);
      await writeFile(paths.configFile, renderHaproxyConfig({ ...options(), paths, httpsRedirectPort: 8443 }, table).text);

      const result = spawnSync('/usr/sbin/haproxy', ['-c', '-f', paths.configFile], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.doesNotMatch(result.stdout + result.stderr, /WARNING|ALERT/);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('route maps', () => {
  it('maps host to backend', () => {
    const maps = renderMaps(options().paths, { version: 1, slotCount: 4, routes: [record('a.test', 3)] });
    assert.match(maps.get('/etc/pxy/hosts.map') ?? '', /^a\.test be_slot_3$/m);
  });

  it('encodes options without spaces', () => {
    const values = mapValues(record('a.test', 0, { hsts: { maxAgeSeconds: 600, includeSubDomains: true }, httpsRedirect: false, tunnelTimeoutSeconds: 30 }));
    assert.equal(values.hsts, '600:1');
    assert.equal(values.plainHttp, '1');
    assert.equal(values.tunnel, '30000');
    assert.equal(values.cloudflare, undefined);
  });

  it('leaves defaults out', () => {
    const values = mapValues(record('a.test', 0));
    assert.equal(values.hsts, undefined);
    assert.equal(values.plainHttp, undefined);
    assert.equal(values.tunnel, undefined);
  });
});

describe('route table', () => {
  it('round-trips', () => {
    const table: RouteTable = { version: 1, slotCount: 4, routes: [record('b.test', 1), record('a.test', 0, { balance: 'source' })] };
    const parsed = parseRouteTable(renderRouteTable(table));
    assert.deepEqual(parsed.invalid, []);
    assert.deepEqual(parsed.table.routes.map((route) => route.hostname), ['a.test', 'b.test']);
    assert.equal(parsed.table.routes[0]?.options.balance, 'source');
  });

  it('drops invalid entries', () => {
    const text = JSON.stringify({
      version: 1,
      slotCount: 4,
      routes: [
        { ...record('ok.test', 0) },
        { ...record('ok.test', 1) },
        { ...record('bad host', 2) },
        { ...record('slot.test', 9) },
        { ...record('hdr.test', 3), options: { requestHeaders: [{ name: 'X', value: 'a\nb' }] } },
      ],
    });
    const parsed = parseRouteTable(text);
    assert.deepEqual(parsed.table.routes.map((route) => route.hostname), ['ok.test']);
    assert.equal(parsed.invalid.length, 4);
  });

  it('replays the route journal', () => {
    const table: RouteTable = { version: 1, slotCount: 4, routes: [record('a.test', 0), record('b.test', 1)] };
    const changed = { ...record('a.test', 0), targets: [{ address: '192.0.2.9', port: 8080 }] };
    const journal = [
      renderRouteJournalEntry({ set: record('c.test', 2) }),
      renderRouteJournalEntry({ remove: 'b.test' }),
      renderRouteJournalEntry({ set: changed }),
      renderRouteJournalEntry({ set: record('taken.test', 0) }),
      renderRouteJournalEntry({ set: record('bad host', 3) }),
      renderRouteJournalEntry({ set: record('d.test', 3) }).slice(0, 20),
    ].join('');
    const replayed = replayRouteJournal(table, journal);
    assert.equal(replayed.skipped, 3);
    assert.deepEqual(replayed.table.routes.map((route) => [route.hostname, route.slot]).sort(), [['a.test', 0], ['c.test', 2]]);
    assert.deepEqual(replayed.table.routes.find((route) => route.hostname === 'a.test')?.targets, [{ address: '192.0.2.9', port: 8080 }]);
    assert.deepEqual(replayRouteJournal(replayed.table, journal).table.routes.map((route) => route.hostname).sort(), ['a.test', 'c.test']);
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
