import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { OpenApiDocument } from '../../daemon/src/api/openapi.js';
import { cellText, flattenObject, listColumns, outputFormats, type OutputFormat } from '../../daemon/src/cli/output.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { runBinary, runInProcess, type CliRun } from './harness.js';

/**
 * Every command of pve-domains against the sandbox daemon, in every output format, compared with
 * the API's own JSON for the same path.
 */

const fqdn = 'app.example.com';

/** Cells of a bordered text table: one array per line that starts with │. */
function tableCells(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('│')
        .map((cell) => cell.trim()),
    );
}

/** Checks the text output of `data` independently of the renderer: cells parsed back from the table. */
function assertTextMatches(text: string, data: unknown, what: string): void {
  if (data === null || data === undefined || (Array.isArray(data) && data.length === 0)) {
    assert.equal(text.trim(), '', what);
    return;
  }
  const cells = tableCells(text);
  if (Array.isArray(data)) {
    const rows = data as Array<Record<string, unknown>>;
    const columns = listColumns(rows);
    assert.deepEqual(cells[0], columns, `${what}: header`);
    assert.deepEqual(
      cells.slice(1),
      rows.map((row) => columns.map((column) => cellText(row[column]).trim())),
      `${what}: rows`,
    );
    return;
  }
  const entries = flattenObject(data as Record<string, unknown>);
  assert.deepEqual(cells[0], ['key', 'value'], `${what}: header`);
  assert.deepEqual(
    cells.slice(1),
    entries.map(([key, value]) => [key, cellText(value).trim()]),
    `${what}: rows`,
  );
}

/** Parses the output of one format back to data. */
function parseOutput(format: OutputFormat, stdout: string): unknown {
  if (format === 'yaml') return parseYaml(stdout) as unknown;
  return JSON.parse(stdout) as unknown;
}

describe('pve-domains against the sandbox', { timeout: 240_000 }, () => {
  let sandbox: Sandbox;
  let env: NodeJS.ProcessEnv;
  let schema: OpenApiDocument;

  const cli = (argv: string[], options: { prompts?: string[]; interactive?: boolean } = {}): Promise<CliRun & { prompted: string[] }> => runInProcess(argv, { env, ...options });

  /** Data the API returns for GET `path`. */
  const apiGet = async (path: string): Promise<unknown> => {
    const answer = await sandbox.api('GET', path);
    assert.equal(answer.status, 200, `GET ${path}: ${JSON.stringify(answer.body)}`);
    return answer.body.data;
  };

  /**
   * Runs `get path` in `format` and compares it with GET `path`; live counters may move between
   * the two calls, so a mismatch is retried twice.
   */
  const compareGet = async (path: string, format: OutputFormat): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const run = await cli(['get', path, '--output-format', format]);
      assert.equal(run.code, 0, `get ${path} --output-format ${format}: ${run.stderr}`);
      const data = await apiGet(path);
      try {
        if (format === 'text') assertTextMatches(run.stdout.trimEnd(), data, `get ${path}`);
        else assert.deepEqual(parseOutput(format, run.stdout), data, `get ${path} --output-format ${format}`);
        if (format === 'json-pretty') assert.equal(run.stdout.trimEnd(), JSON.stringify(data, null, 2));
        return;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  };

  before(async () => {
    sandbox = await startSandbox();
    await sandbox.startDaemon();
    env = { PVE_DOMAINS_SOCKET: sandbox.socket };
    const tokenFile = join(sandbox.dir, 'cloudflare-token');
    await writeFile(tokenFile, `${sandbox.cloudflareToken}\n`, { mode: 0o600 });
    const domain = await cli(['create', '/domains', '--domain', sandbox.zone, '--acme-directory', sandbox.acmeDirectoryUrl, '--acme-email', 'admin@example.com', '--cloudflare-token-file', tokenFile]);
    assert.equal(domain.code, 0, domain.stderr);
    const service = await cli(['create', '/services', '--subdomain', 'app', '--domain', sandbox.zone, '--vmid', '101', '--port', String(sandbox.containers[0]?.port)]);
    assert.equal(service.code, 0, service.stderr);
    await sandbox.waitForService(fqdn, 'active', 90_000);
    schema = (await apiGet('/schema')) as OpenApiDocument;
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('gets every readable path in every format', async () => {
    const values: Record<string, string> = { domain: sandbox.zone, fqdn, site: 'default', id: fqdn };
    const tasks = (await apiGet('/tasks')) as Array<{ upid: string }> | undefined;
    if (Array.isArray(tasks) && tasks[0] !== undefined) values['upid'] = tasks[0].upid;
    let checked = 0;
    for (const template of Object.keys(schema.paths)) {
      // /metrics is Prometheus text, not JSON; /diagnose probes the network and has its own test.
      if (schema.paths[template]?.get === undefined || template === '/metrics' || template.startsWith('/diagnose')) continue;
      const names = [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
      if (names.some((name) => values[name] === undefined)) continue;
      const path = template.replace(/\{(\w+)\}/g, (_whole, name: string) => values[name] as string);
      for (const format of outputFormats) await compareGet(path, format);
      checked += 1;
    }
    assert.ok(checked >= 10, `only ${checked} paths were checked`);
  });

  it('prints metrics as text', async () => {
    const run = await cli(['get', '/metrics']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^# (HELP|TYPE) /m);
  });

  it('lists entries in every format', async () => {
    const domains = ((await apiGet('/domains')) as Array<{ domain: string }>).map((item) => item.domain);
    for (const format of outputFormats) {
      const run = await cli(['ls', '/domains', '--output-format', format]);
      assert.equal(run.code, 0, run.stderr);
      if (format === 'text') {
        assert.deepEqual(run.stdout.trimEnd().split('\n'), domains.map((name) => `Drw-d        ${name}`));
      } else {
        assert.deepEqual(parseOutput(format, run.stdout), domains.map((name) => ({ name, flags: 'Drw-d' })));
      }
    }
    const root = await cli(['ls', '/', '--output-format', 'json']);
    const names = (JSON.parse(root.stdout) as Array<{ name: string }>).map((item) => item.name);
    const index = ((await apiGet('/')) as Array<{ subdir: string }>).map((item) => item.subdir);
    for (const subdir of index) assert.ok(names.includes(subdir), `ls / lacks ${subdir}`);
  });

  it('creates, sets and deletes in every format', async () => {
    for (const [index, format] of outputFormats.entries()) {
      const site = `cli-${format}`;
      const created = await cli(['create', '/sites', '--site', site, '--addresses', `127.0.0.${20 + index}`, '--allow-private', '--output-format', format]);
      assert.equal(created.code, 0, created.stderr);
      const stored = await apiGet(`/sites/${site}`);
      if (format === 'text') assertTextMatches(created.stdout.trimEnd(), stored, `create ${site}`);
      else assert.deepEqual(parseOutput(format, created.stdout), stored);

      const changed = await cli(['set', `/sites/${site}`, '--nodes', 'node1,node2', '--nodes', 'node3', '--output-format', format]);
      assert.equal(changed.code, 0, changed.stderr);
      const updated = (await apiGet(`/sites/${site}`)) as { nodes: string[] };
      assert.deepEqual(updated.nodes, ['node1', 'node2', 'node3']);
      if (format === 'text') assertTextMatches(changed.stdout.trimEnd(), updated, `set ${site}`);
      else assert.deepEqual(parseOutput(format, changed.stdout), updated);

      const deleted = await cli(['delete', `/sites/${site}`, '--output-format', format]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout.trim(), format === 'text' ? '' : 'null');
      assert.equal((await sandbox.api('GET', `/sites/${site}`)).status, 404);
    }
  });

  it('sends typed service options', async () => {
    const run = await cli([
      'set',
      `/services/${fqdn}`,
      '--hsts-max-age',
      '600',
      '--https-redirect',
      '0',
      '--allowed-networks',
      '10.0.0.0/8,127.0.0.0/8',
      '--health-check',
      'path=/,interval=7',
      '--request-headers',
      'name=X-One,value=1',
      '--request-headers',
      '{"name":"X-Two","value":"2"}',
      '--output-format',
      'json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const options = ((await apiGet(`/services/${fqdn}`)) as { options: Record<string, unknown> }).options;
    assert.equal(options['hsts-max-age'], 600);
    assert.equal(options['https-redirect'], false);
    assert.deepEqual(options['allowed-networks'], ['10.0.0.0/8', '127.0.0.0/8']);
    assert.deepEqual(options['health-check'], { path: '/', interval: 7 });
    assert.deepEqual(options['request-headers'], [
      { name: 'X-One', value: '1' },
      { name: 'X-Two', value: '2' },
    ]);
    const cleared = await cli(['set', `/services/${fqdn}`, '--hsts-max-age', 'null', '--health-check', 'null', '--https-redirect', '1']);
    assert.equal(cleared.code, 0, cleared.stderr);
    const after = ((await apiGet(`/services/${fqdn}`)) as { options: Record<string, unknown> }).options;
    assert.equal(after['hsts-max-age'], null);
    assert.equal(after['health-check'], null);
  });

  it('renews by service name in every format', async () => {
    for (const format of outputFormats) {
      const run = await cli(['renew', fqdn, '--output-format', format]);
      assert.equal(run.code, 0, run.stderr);
      const certificates = (await apiGet('/certificates')) as Array<Record<string, unknown>>;
      const certificate = certificates.find((item) => item['id'] === fqdn);
      assert.ok(certificate !== undefined);
      if (format === 'text') {
        assert.match(run.stdout, new RegExp(`│ id +│ ${fqdn.replaceAll('.', '\\.')} +│`));
      } else {
        const printed = parseOutput(format, run.stdout) as Record<string, unknown>;
        assert.equal(printed['id'], fqdn);
        assert.equal(printed['serial'], certificate['serial']);
      }
    }
    const unknown = await cli(['renew', 'nothing.example.net']);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /^404 no certificate matches nothing\.example\.net/);
  });

  it('prints status and diagnosis when served', async (t) => {
    const served = Object.keys(schema.paths);
    if (!served.includes('/status')) {
      t.skip('the daemon has no GET /status yet; test/cli/diagnose-status.test.ts covers the command against a stub');
      return;
    }
    const data = await apiGet('/status');
    for (const format of outputFormats.filter((item) => item !== 'text')) {
      const run = await cli(['status', '--output-format', format]);
      assert.equal(run.code, 0, run.stderr);
      // The lock and queue may change between the two calls; the node and version do not.
      const printed = parseOutput(format, run.stdout) as Record<string, unknown>;
      assert.equal(printed['node'], (data as Record<string, unknown>)['node']);
      assert.equal(printed['version'], (data as Record<string, unknown>)['version']);
    }
    if (!served.includes('/diagnose/{name}')) return;
    // The checks probe DNS and TLS again on each call, so messages may differ; ids and verdicts may not.
    type Diagnosis = { name: string; kind: string; verdict: string; checks: Array<{ id: string; title: string; verdict: string }> };
    const expected = (await apiGet(`/diagnose/${fqdn}`)) as Diagnosis;
    const summary = (diagnosis: Diagnosis): unknown => [diagnosis.name, diagnosis.kind, diagnosis.verdict, diagnosis.checks.map((check) => `${check.id}=${check.verdict}`)];
    for (const format of outputFormats) {
      const run = await cli(['diagnose', fqdn, '--output-format', format]);
      assert.equal(run.code, expected.verdict === 'ok' ? 0 : 1, run.stderr);
      if (format === 'text') {
        assert.equal(run.stdout.split('\n')[0], `${fqdn} (${expected.kind}): ${expected.verdict}`);
        for (const check of expected.checks) assert.match(run.stdout, new RegExp(`^${check.verdict} +${check.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      } else {
        assert.deepEqual(summary(parseOutput(format, run.stdout) as Diagnosis), summary(expected));
      }
    }
  });

  it('prints usage for every path', async () => {
    for (const template of Object.keys(schema.paths)) {
      const run = await cli(['usage', template, '--verbose']);
      assert.equal(run.code, 0, `${template}: ${run.stderr}`);
      assert.match(run.stdout, /^USAGE: pve-domains /);
    }
    const help = await cli(['help', '/services']);
    const usage = await cli(['usage', '/services', '--verbose']);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stdout, usage.stdout);
  });

  it('prompts for a secret on a terminal', async () => {
    const run = await cli(['set', `/domains/${sandbox.zone}`, '--cloudflare-token', '--output-format', 'json'], { interactive: true, prompts: [sandbox.cloudflareToken] });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.prompted, ['cloudflare-token']);
    assert.ok(!run.stdout.includes(sandbox.cloudflareToken));
    const refused = await cli(['set', `/domains/${sandbox.zone}`, '--cloudflare-token']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--cloudflare-token needs a value; pass --cloudflare-token-file FILE/);
  });

  it('never echoes a prompted secret', { timeout: 60_000 }, async () => {
    const secret = sandbox.cloudflareToken;
    const command = `${process.execPath} --import tsx daemon/src/bin/pve-domains.ts set /domains/${sandbox.zone} --cloudflare-token --output-format json`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, PVE_DOMAINS_SOCKET: sandbox.socket }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let sent = false;
    const exit = new Promise<number>((resolveExit) => child.once('close', (code) => resolveExit(code ?? -1)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!sent && output.includes('Enter cloudflare-token: ')) {
        sent = true;
        child.stdin.write(`${secret}\r`);
      }
    });
    const code = await exit;
    assert.equal(sent, true, `no prompt seen: ${output}`);
    assert.equal(code, 0, output);
    assert.ok(!output.includes(secret), `the secret appeared on the terminal: ${output.slice(0, 300)}`);
    assert.match(output, /"domain":"example\.com"/);
  });

  it('rejects usage errors before sending', async () => {
    const auditBefore = ((await apiGet('/audit')) as unknown[]).length;
    const cases: Array<{ argv: string[]; message: RegExp }> = [
      { argv: ['create', '/services', '--subdomain', 'x', '--domain', sandbox.zone, '--vmid', '101', '--port', '80', '--subdomian', 'y'], message: /unknown parameter --subdomian; did you mean --subdomain\?/ },
      { argv: ['create', '/services', '--subdomain', 'x', '--domain', sandbox.zone, '--vmid', 'abc', '--port', '80'], message: /--vmid: "abc" is not an integer/ },
      { argv: ['create', '/services', '--subdomain', 'x', '--domain', sandbox.zone, '--vmid', '101'], message: /the parameter --port is required/ },
      { argv: ['create', '/services', '--subdomain', 'x'], message: /the parameters --domain, --port, --vmid are required/ },
      { argv: ['set', `/services/${fqdn}`, '--backend-protocol', 'ftp'], message: /--backend-protocol: "ftp" is not allowed; use one of http, https, https-insecure/ },
      { argv: ['set', `/services/${fqdn}`, '--https-redirect', 'maybe'], message: /--https-redirect: "maybe" is not a boolean; write 1 or 0/ },
      { argv: ['get', '/domains', '--domain', sandbox.zone], message: /unknown parameter --domain; this command takes no parameters/ },
      { argv: ['get', `/domains/${sandbox.zone}`, '--domain', 'x'], message: /--domain is part of the path here/ },
      { argv: ['delete', '/nowhere'], message: /no API path matches \/nowhere/ },
      { argv: ['set', '/domains'], message: /\/domains has no set command \(no PUT route\)/ },
      { argv: ['get', '/domains', '--output-format', 'xml'], message: /--output-format must be one of text, json, json-pretty, yaml/ },
      { argv: ['expose', '/services'], message: /unknown command "expose"/ },
    ];
    for (const { argv, message } of cases) {
      const run = await cli(argv);
      assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    assert.equal(((await apiGet('/audit')) as unknown[]).length, auditBefore, 'a rejected command reached the API');
  });

  it('exits 3 on API errors and 4 without daemon', async () => {
    const missing = await runBinary(['get', '/domains/absent.example'], env);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /^404 Domain absent\.example is not registered/);
    const invalid = await runBinary(['create', '/sites', '--site', 'bad', '--addresses', '999.1.1.1'], env);
    assert.equal(invalid.code, 3, invalid.stderr);
    assert.match(invalid.stderr, /^400 .*\naddresses: /);
    const unreachable = await runBinary(['get', '/domains'], { PVE_DOMAINS_SOCKET: join(sandbox.dir, 'no-such.sock') });
    assert.equal(unreachable.code, 4);
    assert.match(unreachable.stderr, /unable to connect to pve-domainsd at .*no-such\.sock/);
    const usage = await runBinary(['get'], env);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /get needs an API path/);
  });

  it('calls the HTTPS API with a token', async () => {
    const secret = randomUUID();
    const tokenId = sandbox.pve.addApiToken('cli@pve', 'test', secret, { privsep: false, privileges: { '/': ['Sys.Audit'] } });
    const token = `${tokenId}=${secret}`;
    const host = sandbox.apiUrl.replace('https://', '');
    const byEnvironment = await runInProcess(['get', '/domains', '--host', host, '--ca', sandbox.apiCaFile, '--output-format', 'json'], { env: { PVE_DOMAINS_TOKEN: token } });
    assert.equal(byEnvironment.code, 0, byEnvironment.stderr);
    assert.deepEqual(JSON.parse(byEnvironment.stdout), await apiGet('/domains'));

    const tokenFile = join(sandbox.dir, 'api-token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const byFile = await runInProcess(['usage', '/domains', '--host', host, '--ca', sandbox.apiCaFile, '--token-file', tokenFile], { env: {} });
    assert.equal(byFile.code, 0, byFile.stderr);
    assert.match(byFile.stdout, /USAGE: pve-domains create \/domains/);

    const denied = await runInProcess(['create', '/sites', '--site', 'remote', '--addresses', '127.0.0.40', '--allow-private', '1', '--host', host, '--ca', sandbox.apiCaFile, '--token-file', tokenFile], { env: {} });
    assert.equal(denied.code, 3);
    assert.match(denied.stderr, /^403 Permission check failed \(\/, Sys\.Modify\)/);

    await chmod(tokenFile, 0o640);
    const open = await runInProcess(['get', '/domains', '--host', host, '--ca', sandbox.apiCaFile, '--token-file', tokenFile], { env: {} });
    assert.equal(open.code, 2);
    assert.match(open.stderr, /readable by group or others \(mode 0640\); run chmod 600/);

    const unverified = await runInProcess(['get', '/domains', '--host', host], { env: { PVE_DOMAINS_TOKEN: token } });
    assert.equal(unverified.code, 4);
    assert.match(unverified.stderr, /could not be verified .*pass --ca FILE/);

    const wrong = await runInProcess(['get', '/domains', '--host', host, '--ca', sandbox.apiCaFile], { env: { PVE_DOMAINS_TOKEN: `${tokenId}=wrong` } });
    assert.equal(wrong.code, 3);
    assert.match(wrong.stderr, /^401 /);
  });
});
