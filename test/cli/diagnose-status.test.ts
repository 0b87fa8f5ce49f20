import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { runInProcess } from './harness.js';

/**
 * `diagnose` and `status` against a stub daemon that serves GET /diagnose/{name} and GET /status
 * with the shapes the daemon's routes return, so the printing and exit statuses are checked
 * without the network probes the real checks make.
 */

const checks = [
  { id: 'credentials', title: 'Credentials reach the zone', verdict: 'ok', message: 'The token reaches example.com' },
  { id: 'caa', title: 'CAA allows the CA', verdict: 'failed', message: 'CAA of example.com allows only other-ca.example', fix: 'Add the CAA record 0 issue "letsencrypt.org" to example.com' },
  { id: 'rate-limit', title: 'Rate-limit budget', verdict: 'warning', message: '45 of 50 certificates used this week', fix: 'Wait until 2026-12-08 or use the wildcard mode' },
  { id: 'served', title: 'Served certificate', verdict: 'skipped', message: 'No certificate yet' },
];

const diagnoses: Record<string, unknown> = {
  'good.example.com': { name: 'good.example.com', kind: 'service', verdict: 'ok', checks: [checks[0]] },
  'bad.example.com': { name: 'bad.example.com', kind: 'service', verdict: 'failed', checks },
  'warn.example': { name: 'warn.example', kind: 'domain', verdict: 'warning', checks: [checks[0], checks[2]] },
};

const status = {
  node: 'pve1',
  version: '0.1.0',
  lock: { holder: 'pve2', held: false },
  quorate: true,
  haproxy: { running: true, pid: 4242, version: '2.6.12' },
  queue: { pending: 2, failing: 1 },
};

describe('diagnose and status', () => {
  let dir: string;
  let app: FastifyInstance;
  let env: NodeJS.ProcessEnv;
  const requested: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-cli-stub-'));
    app = Fastify();
    app.get<{ Params: { name: string } }>('/api2/json/diagnose/:name', async (request, reply) => {
      requested.push(request.params.name);
      const data = diagnoses[request.params.name];
      if (data === undefined) return reply.code(404).send({ data: null, message: `No domain or service is named ${request.params.name}` });
      return { data };
    });
    app.get('/api2/json/status', () => ({ data: status }));
    const socket = join(dir, 'api.sock');
    await app.listen({ path: socket });
    env = { PVE_DOMAINS_SOCKET: socket };
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 for an ok verdict', async () => {
    const run = await runInProcess(['diagnose', 'good.example.com'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'good.example.com (service): ok\n\nok       Credentials reach the zone\n         The token reaches example.com\n');
  });

  it('prints verdict, message and fix', async () => {
    const run = await runInProcess(['diagnose', 'bad.example.com'], { env });
    assert.equal(run.code, 1);
    const lines = run.stdout.split('\n');
    assert.equal(lines[0], 'bad.example.com (service): failed');
    assert.ok(lines.includes('failed   CAA allows the CA'));
    assert.ok(lines.includes('         CAA of example.com allows only other-ca.example'));
    assert.ok(lines.includes('         fix: Add the CAA record 0 issue "letsencrypt.org" to example.com'));
    assert.ok(lines.includes('warning  Rate-limit budget'));
    assert.ok(lines.includes('         fix: Wait until 2026-12-08 or use the wildcard mode'));
    assert.ok(lines.includes('skipped  Served certificate'));
  });

  it('exits 1 for a warning', async () => {
    const run = await runInProcess(['diagnose', 'warn.example', '--noheader'], { env });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^ok {7}Credentials reach the zone\n/);
  });

  it('prints the diagnosis as data', async () => {
    for (const format of ['json', 'json-pretty', 'yaml'] as const) {
      const run = await runInProcess(['diagnose', 'bad.example.com', '--output-format', format], { env });
      assert.equal(run.code, 1);
      const parsed: unknown = format === 'yaml' ? parseYaml(run.stdout) : JSON.parse(run.stdout);
      assert.deepEqual(parsed, diagnoses['bad.example.com']);
    }
  });

  it('exits 3 for an unknown name', async () => {
    const run = await runInProcess(['diagnose', 'absent.example'], { env });
    assert.equal(run.code, 3);
    assert.equal(run.stderr, '404 No domain or service is named absent.example\n');
  });

  it('encodes the name as one segment', async () => {
    await runInProcess(['diagnose', 'a/b.example'], { env });
    assert.equal(requested.at(-1), 'a/b.example');
  });

  it('needs exactly one name', async () => {
    const missing = await runInProcess(['diagnose'], { env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /diagnose needs a domain or a service name/);
    const extra = await runInProcess(['diagnose', 'a.example', '--verbose'], { env });
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /diagnose takes no parameter --verbose/);
  });

  it('prints status in every format', async () => {
    const text = await runInProcess(['status', '--noborder'], { env });
    assert.equal(text.code, 0, text.stderr);
    assert.equal(
      text.stdout,
      [
        'key             value',
        'node            pve1',
        'version         0.1.0',
        'lock.holder     pve2',
        'lock.held       0',
        'quorate         1',
        'haproxy.running 1',
        'haproxy.pid     4242',
        'haproxy.version 2.6.12',
        'queue.pending   2',
        'queue.failing   1',
        '',
      ].join('\n'),
    );
    for (const format of ['json', 'json-pretty', 'yaml'] as const) {
      const run = await runInProcess(['status', '--output-format', format], { env });
      assert.equal(run.code, 0, run.stderr);
      const parsed: unknown = format === 'yaml' ? parseYaml(run.stdout) : JSON.parse(run.stdout);
      assert.deepEqual(parsed, status);
    }
  });

  it('draws status with borders', async () => {
    const run = await runInProcess(['status'], { env });
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '┌─────────────────┬────────┐');
    assert.equal(lines[1], '│ key             │ value  │');
    assert.equal(lines[2], '╞═════════════════╪════════╡');
    assert.equal(lines[3], '│ node            │ pve1   │');
    assert.equal(lines.at(-1), '└─────────────────┴────────┘');
  });
});
