import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { createFallbackCertificate } from '../../daemon/src/proxy/fallback-certificate.js';
import { mapValues, renderCrtList, renderHaproxyConfig, renderMaps, renderNetworkList, serverKeywords, slotBackendName } from '../../daemon/src/proxy/haproxy-config.js';
import type { Route } from '../../daemon/src/proxy/ingress.js';
import { buildProxyPaths, type ProxyPaths } from '../../daemon/src/proxy/paths.js';
import { installProxyAssets } from '../../daemon/src/proxy/proxy-assets.js';
import type { RouteOptions } from '../../daemon/src/proxy/route-options.js';
import { normaliseRoute, type RouteRecord, type RouteTable } from '../../daemon/src/proxy/route-table.js';
import type { RuntimeApi, RuntimeCommand } from '../../daemon/src/proxy/runtime-api.js';
import { addServer, setMapEntry } from '../../daemon/src/proxy/runtime-changes.js';
import { hostileString, ldhLabel, nameLike } from './arbitraries.js';
import { checkProperty, scaledRuns } from './budget.js';
import { splitConfigLine } from './haproxy-syntax-check.js';

const paths = buildProxyPaths('/etc/pve-domains-fuzz/haproxy', '/run/pve-domains-fuzz');
const validHash = '$6$saltsalt$' + 'a'.repeat(86);

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 60 });
const text = fc.oneof(printable, hostileString, fc.constantFrom('%[src]', '${HOME}', '$HOME', '\\"', '" if TRUE', 'a\nb', '#x', '%%', '%'));
const header = fc.record({ name: fc.oneof(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/), text), value: text });
const network = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([address, prefix]) => `${address}/${prefix}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 130 })).map(([address, prefix]) => `${address}/${prefix}`),
  fc.ipV4(),
  text,
);

const routeOptions: fc.Arbitrary<Partial<Record<keyof RouteOptions, unknown>>> = fc.record(
  {
    httpsRedirect: fc.oneof(fc.boolean(), text),
    hsts: fc.oneof(fc.constant(null), fc.record({ maxAgeSeconds: fc.integer({ min: -1, max: 70_000_000 }), includeSubDomains: fc.boolean() })),
    tunnelTimeoutSeconds: fc.oneof(fc.integer({ min: -1, max: 90_000 }), fc.double()),
    backendProtocol: fc.constantFrom('http', 'https', 'https-insecure', 'ssl verify none', 'tcp'),
    healthCheck: fc.oneof(fc.constant(null), fc.record({ path: fc.oneof(fc.webPath().map((path) => `/${path}`), text.map((value) => `/${value}`)), intervalSeconds: fc.integer({ min: 0, max: 4000 }) })),
    allowedNetworks: fc.array(network, { maxLength: 4 }),
    basicAuth: fc.array(fc.record({ user: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/), text), passwordHash: fc.oneof(fc.stringMatching(/^\$6\$[A-Za-z0-9./]{1,16}\$[A-Za-z0-9./]{86}$/), text) }), { maxLength: 3 }),
    requestHeaders: fc.array(header, { maxLength: 4 }),
    responseHeaders: fc.array(header, { maxLength: 4 }),
    balance: fc.constantFrom('roundrobin', 'leastconn', 'source', 'random; x'),
    cloudflareProxied: fc.boolean(),
    authRequired: fc.boolean(),
    authServer: fc.oneof(fc.constant(null), fc.webUrl(), fc.constantFrom('https://auth.example.com', 'http://[::1]:4180', 'https://auth.example.com/x?y', 'https://a b'), text),
    maxBodySize: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 2 ** 41 })),
    buffering: fc.boolean(),
  },
  { requiredKeys: [] },
);

const target = fc.record({
  address: fc.oneof(fc.ipV4(), fc.ipV6(), text),
  port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: -10, max: 70_000 }), fc.double()),
});

const route = fc.record({
  hostname: fc.oneof(fc.array(ldhLabel, { minLength: 2, maxLength: 4 }).map((labels) => labels.join('.')), nameLike),
  targets: fc.array(target, { maxLength: 4 }),
  maintenance: fc.boolean(),
  options: routeOptions,
});

/** Accepts the routes that pass the ingress's checks, each with its own slot; other routes must fail with an Error. */
function acceptedTable(routes: Array<Record<string, unknown>>, spareSlots: number): RouteTable {
  const records: RouteRecord[] = [];
  const hosts = new Set<string>();
  for (const candidate of routes) {
    let record;
    try {
      record = normaliseRoute(candidate as unknown as Route);
    } catch (err) {
      assert.ok(err instanceof Error, `normaliseRoute threw ${String(err)}`);
      continue;
    }
    if (hosts.has(record.hostname)) continue;
    hosts.add(record.hostname);
    records.push({ ...record, slot: records.length * 2 });
  }
  return { version: 1, slotCount: records.length * 2 + spareSlots, routes: records };
}

/** Returns the same table with every free-text option replaced by a plain placeholder of the same role. */
function neutralTable(table: RouteTable): RouteTable {
  return {
    ...table,
    routes: table.routes.map((record) => ({
      ...record,
      options: {
        ...record.options,
        healthCheck: record.options.healthCheck === null ? null : { ...record.options.healthCheck, path: '/h' },
        basicAuth: record.options.basicAuth.map((_, index) => ({ user: `u${index}`, passwordHash: validHash })),
        requestHeaders: record.options.requestHeaders.map((_, index) => ({ name: `X-Req-${index}`, value: 'v' })),
        responseHeaders: record.options.responseHeaders.map((_, index) => ({ name: `X-Res-${index}`, value: 'v' })),
      },
    })),
  };
}

/** Returns the words that user input may place in haproxy.cfg, in their decoded form. */
function userWords(table: RouteTable): Set<string> {
  const words = new Set<string>();
  for (const { options } of table.routes) {
    if (options.healthCheck !== null) words.add(options.healthCheck.path);
    for (const user of options.basicAuth) words.add(user.user).add(user.passwordHash);
    for (const item of [...options.requestHeaders, ...options.responseHeaders]) words.add(item.name).add(item.value.replaceAll('%', '%%'));
  }
  return words;
}

function render(table: RouteTable): string {
  return renderHaproxyConfig({ paths, httpBind: { address: '127.0.0.1', port: 8080 }, httpsBind: { address: '127.0.0.1', port: 8443 }, httpsRedirectPort: 8443 }, table).text;
}

/** Asserts that the config differs from its neutral rendering only in words that carry user values. */
function assertOnlyIntendedLines(table: RouteTable): void {
  const real = render(table).split('\n');
  const neutral = render(neutralTable(table)).split('\n');
  assert.equal(real.length, neutral.length, 'user input changed the number of configuration lines');
  const allowed = userWords(table);
  real.forEach((line, index) => {
    const parsed = splitConfigLine(line);
    const expected = splitConfigLine(neutral[index] as string);
    assert.deepEqual(parsed.problems, [], `line ${index + 1}: ${line}`);
    assert.equal(parsed.words.length, expected.words.length, `line ${index + 1} has other words than intended: ${line}`);
    const setsHeader = /^\s*http-(request|response) set-header /.test(line);
    parsed.words.forEach((word, position) => {
      if (word === expected.words[position]) return;
      assert.ok(allowed.has(word), `line ${index + 1} word ${position + 1} (${JSON.stringify(word)}) is no value the routes set: ${line}`);
      // In a set-header value, `%` must be doubled, or it would start a sample expression.
      if (setsHeader && position === 3) assert.doesNotMatch(word.replaceAll('%%', ''), /%/, `line ${index + 1}: ${line}`);
    });
  });
}

function assertMaps(table: RouteTable, path: ProxyPaths): void {
  const maps = renderMaps(path, table);
  for (const [file, content] of maps) {
    const lines = content.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    for (const line of lines) assert.match(line, /^[a-z0-9.-]+ [A-Za-z0-9_:]+$/, `${file}: ${JSON.stringify(line)}`);
    if (file === path.mapFile) {
      assert.equal(lines.length, table.routes.length, 'the host map needs exactly one line per route');
      const expected = table.routes.map((record) => `${record.hostname} ${slotBackendName(record.slot)}`).sort();
      assert.deepEqual([...lines].sort(), expected);
    }
  }
}

/** Records runtime API commands instead of sending them. */
function recordingApi(commands: string[]): RuntimeApi {
  const answer = (command: RuntimeCommand): Promise<string> => {
    commands.push(command.command);
    return Promise.resolve(command.command.startsWith('add server') ? 'New server registered.' : '');
  };
  return { socketPath: '/run/pve-domains-fuzz/admin.sock', execute: answer, executeAll: (list) => Promise.all(list.map(answer)) };
}

async function assertRuntimeCommands(table: RouteTable): Promise<void> {
  const commands: string[] = [];
  const api = recordingApi(commands);
  for (const record of table.routes) {
    const values = mapValues(record);
    for (const value of [values.backend, values.plainHttp, values.hsts, values.tunnel, values.cloudflare]) {
      if (value !== undefined) await setMapEntry(api, paths.mapFile, record.hostname, value, {});
    }
    for (const [index, item] of record.targets.entries()) {
      const keywords = serverKeywords(record.options);
      await addServer(api, { backend: slotBackendName(record.slot), name: `s${index}`, address: item.address, port: item.port, keywords, maintenance: record.maintenance, healthCheck: record.options.healthCheck !== null }, {});
    }
  }
  for (const command of commands) assert.match(command, /^[A-Za-z0-9 ._:/,=@-]+$/, `runtime command ${JSON.stringify(command)} contains a character that could split it`);
}

export function registerHaproxyProperties(): void {
  describe('haproxy rendering', () => {
    const samples: RouteTable[] = [];
    const sampleCount = Math.min(60, scaledRuns(10));

    it('renders only intended lines', async () => {
      await checkProperty(
        'haproxy: config, maps and runtime commands',
        fc.tuple(fc.array(route, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 3 })),
        async ([routes, spare]) => {
          const table = acceptedTable(routes, spare);
          assertOnlyIntendedLines(table);
          assertMaps(table, paths);
          await assertRuntimeCommands(table);
          if (table.routes.length > 0 && samples.length < sampleCount) samples.push(table);
        },
        1500,
      );
    });

    it('passes haproxy -c on a sample', async () => {
      const base = await mkdtemp(join(tmpdir(), 'pve-domains-fuzz-cfg-'));
      try {
        const samplePaths = buildProxyPaths(join(base, 'etc'), join(base, 'run'));
        await mkdir(samplePaths.configDir);
        await installProxyAssets(samplePaths, null, pino({ level: 'silent' }));
        await writeFile(samplePaths.fallbackCertificate, await createFallbackCertificate());
        await writeFile(samplePaths.crtListFile, renderCrtList([samplePaths.fallbackCertificate]));
        await writeFile(samplePaths.trustedProxiesFile, renderNetworkList(['173.245.48.0/20']));
        assert.ok(samples.length > 0, 'no rendered table to check');
        for (const table of samples) {
          for (const [path, content] of renderMaps(samplePaths, table)) await writeFile(path, content);
          const config = renderHaproxyConfig({ paths: samplePaths, httpBind: { address: '127.0.0.1', port: 8080 }, httpsBind: { address: '127.0.0.1', port: 8443 } }, table).text;
          await writeFile(samplePaths.configFile, config);
          const result = spawnSync('/usr/sbin/haproxy', ['-c', '-f', samplePaths.configFile], { encoding: 'utf8', timeout: 20_000 });
          assert.equal(result.status, 0, `${result.stdout}${result.stderr}\n${config}`);
          assert.doesNotMatch(result.stdout + result.stderr, /ALERT/);
        }
      } finally {
        await rm(base, { recursive: true, force: true });
      }
    });
  });
}
