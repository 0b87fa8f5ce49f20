import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonSchema } from '../../daemon/src/api/openapi.js';
import type { CliParameter } from '../../daemon/src/cli/api-schema.js';
import { splitCommandLine, takeGlobalOptions } from '../../daemon/src/cli/arguments.js';
import { UsageError } from '../../daemon/src/cli/errors.js';
import { closestName, convertParameter, resolveParameters, type RawOption, type SecretInput } from '../../daemon/src/cli/parameters.js';

function parameter(name: string, schema: JsonSchema, extra: Partial<CliParameter> = {}): CliParameter {
  return { name, schema, required: false, location: 'body', secret: schema.format === 'password', ...extra };
}

const secrets = (overrides: Partial<SecretInput> = {}): SecretInput => ({
  interactive: false,
  prompt: () => Promise.reject(new Error('no prompt expected')),
  readFile: (path) => (path === '/token' ? 'file-secret\nsecond line\n' : ''),
  ...overrides,
});

const context = { usageHint: 'USAGE: test', pathParameters: ['fqdn'] };

const options = (...pairs: Array<[string, string | null]>): RawOption[] => pairs.map(([name, value]) => ({ name, value }));

describe('splitCommandLine', () => {
  it('reads command, path and options', () => {
    const line = splitCommandLine(['create', '/services', '--subdomain', 'app', '--vmid=101', '--force']);
    assert.equal(line.command, 'create');
    assert.deepEqual(line.positionals, ['/services']);
    assert.deepEqual(line.options, [
      { name: 'subdomain', value: 'app' },
      { name: 'vmid', value: '101' },
      { name: 'force', value: null },
    ]);
  });

  it('leaves a following option unconsumed', () => {
    const line = splitCommandLine(['create', '/services', '--subdomain', '--domain', 'example.com']);
    assert.deepEqual(line.options[0], { name: 'subdomain', value: null });
    assert.deepEqual(line.options[1], { name: 'domain', value: 'example.com' });
  });

  it('keeps values that start with one dash', () => {
    assert.deepEqual(splitCommandLine(['set', '/x', '--offset', '-5']).options, [{ name: 'offset', value: '-5' }]);
  });

  it('rejects a bare word after options', () => {
    assert.throws(() => splitCommandLine(['get', '/services', '--a', '1', 'b']), /unexpected argument "b"/);
  });
});

describe('takeGlobalOptions', () => {
  it('separates CLI options from parameters', () => {
    const { globals, rest } = takeGlobalOptions(options(['output-format', 'yaml'], ['noborder', null], ['noheader', '1'], ['port', '80']));
    assert.equal(globals.outputFormat, 'yaml');
    assert.equal(globals.border, false);
    assert.equal(globals.header, false);
    assert.deepEqual(rest, [{ name: 'port', value: '80' }]);
  });

  it('rejects an unknown format', () => {
    assert.throws(() => takeGlobalOptions(options(['output-format', 'xml'])), /must be one of text, json, json-pretty, yaml/);
  });

  it('rejects a repeated option', () => {
    assert.throws(() => takeGlobalOptions(options(['socket', '/a'], ['socket', '/b'])), /--socket is given twice/);
  });
});

describe('convertParameter', () => {
  it('reads booleans as pvesh does', () => {
    const flag = parameter('force', { type: 'boolean' });
    for (const text of ['1', 'true', 'yes', 'on']) assert.equal(convertParameter(flag, [text]), true);
    for (const text of ['0', 'false', 'no', 'off']) assert.equal(convertParameter(flag, [text]), false);
    assert.throws(() => convertParameter(flag, ['2']), /"2" is not a boolean; write 1 or 0/);
  });

  it('checks integers and ranges', () => {
    const port = parameter('port', { type: 'integer', minimum: 1, maximum: 65535 });
    assert.equal(convertParameter(port, ['8080']), 8080);
    assert.throws(() => convertParameter(port, ['80.5']), /--port: "80\.5" is not an integer/);
    assert.throws(() => convertParameter(port, ['0x50']), /not an integer/);
    assert.throws(() => convertParameter(port, ['70000']), /above the maximum 65535/);
  });

  it('accepts null for nullable types', () => {
    assert.equal(convertParameter(parameter('hsts-max-age', { type: ['integer', 'null'] }), ['null']), null);
    assert.throws(() => convertParameter(parameter('port', { type: 'integer' }), ['null']), /not an integer/);
  });

  it('checks enum values', () => {
    const balance = parameter('balance', { type: 'string', enum: ['roundrobin', 'leastconn'] });
    assert.equal(convertParameter(balance, ['leastconn']), 'leastconn');
    assert.throws(() => convertParameter(balance, ['random']), /use one of roundrobin, leastconn/);
  });

  it('joins repeated and comma-separated lists', () => {
    const networks = parameter('allowed-networks', { type: 'array', items: { type: 'string' } });
    assert.deepEqual(convertParameter(networks, ['10.0.0.0/8,192.0.2.0/24', '2001:db8::/32']), ['10.0.0.0/8', '192.0.2.0/24', '2001:db8::/32']);
    assert.deepEqual(convertParameter(networks, ['']), []);
    assert.deepEqual(convertParameter(networks, ['["a","b"]']), ['a', 'b']);
  });

  it('limits the list length', () => {
    const list = parameter('nodes', { type: 'array', maxItems: 2, items: { type: 'string' } });
    assert.throws(() => convertParameter(list, ['a,b,c']), /3 values given, at most 2/);
  });

  it('reads objects as JSON or key=value', () => {
    const check = parameter('health-check', {
      type: ['object', 'null'],
      required: ['path'],
      properties: { path: { type: 'string' }, interval: { type: 'integer', minimum: 1 } },
    });
    assert.deepEqual(convertParameter(check, ['path=/healthz,interval=5']), { path: '/healthz', interval: 5 });
    assert.deepEqual(convertParameter(check, ['{"path":"/"}']), { path: '/' });
    assert.equal(convertParameter(check, ['null']), null);
    assert.throws(() => convertParameter(check, ['interval=5']), /the key "path" is missing/);
    assert.throws(() => convertParameter(check, ['path=/,every=5']), /unknown key "every"; the keys are path, interval/);
    assert.throws(() => convertParameter(check, ['path=/,interval=0']), /--health-check interval: 0 is below the minimum 1/);
    assert.throws(() => convertParameter(check, ['{"path": 5}', 'x']), /takes one value/);
  });

  it('takes one object per option in lists', () => {
    const headers = parameter('request-headers', {
      type: 'array',
      items: { type: 'object', required: ['name', 'value'], properties: { name: { type: 'string' }, value: { type: 'string' } } },
    });
    assert.deepEqual(convertParameter(headers, ['name=A,value=1', '{"name":"B","value":"2"}']), [
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
  });

  it('rejects a repeated single value', () => {
    assert.throws(() => convertParameter(parameter('port', { type: 'integer' }), ['1', '2']), /--port is given 2 times; it takes one value/);
  });
});

describe('resolveParameters', () => {
  const parameters = [
    parameter('port', { type: 'integer' }, { required: true }),
    parameter('force', { type: 'boolean' }, { location: 'query' }),
    parameter('cloudflare-token', { type: 'string', format: 'password' }),
    parameter('subdomain', { type: 'string' }),
  ];

  it('splits query and body', async () => {
    const result = await resolveParameters(parameters, options(['port', '80'], ['force', null]), secrets(), context);
    assert.deepEqual(result.body, { port: 80 });
    assert.deepEqual(result.query, { force: '1' });
  });

  it('names the closest parameter', async () => {
    await assert.rejects(resolveParameters(parameters, options(['port', '80'], ['subdomian', 'x']), secrets(), context), /unknown parameter --subdomian; did you mean --subdomain\?/);
  });

  it('says when a name belongs in the path', async () => {
    await assert.rejects(resolveParameters(parameters, options(['fqdn', 'a.example']), secrets(), context), /--fqdn is part of the path here/);
  });

  it('reports a missing required parameter', async () => {
    await assert.rejects(resolveParameters(parameters, [], secrets(), context), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /the parameter --port is required/);
      assert.equal(error.hint, 'USAGE: test');
      return true;
    });
  });

  it('reads a secret from its file', async () => {
    const result = await resolveParameters(parameters, options(['port', '1'], ['cloudflare-token-file', '/token']), secrets(), context);
    assert.equal(result.body['cloudflare-token'], 'file-secret');
  });

  it('rejects a secret given twice', async () => {
    await assert.rejects(resolveParameters(parameters, options(['port', '1'], ['cloudflare-token-file', '/token'], ['cloudflare-token', 'x']), secrets(), context), /are both given/);
  });

  it('offers -file only for secrets', async () => {
    await assert.rejects(resolveParameters(parameters, options(['port-file', '/token']), secrets(), context), /unknown parameter --port-file/);
  });

  it('prompts for a bare secret on a terminal', async () => {
    const labels: string[] = [];
    const input = secrets({
      interactive: true,
      prompt: (label) => {
        labels.push(label);
        return Promise.resolve('typed');
      },
    });
    const result = await resolveParameters(parameters, options(['port', '1'], ['cloudflare-token', null]), input, context);
    assert.equal(result.body['cloudflare-token'], 'typed');
    assert.deepEqual(labels, ['cloudflare-token']);
  });

  it('rejects a bare secret without terminal', async () => {
    await assert.rejects(resolveParameters(parameters, options(['port', '1'], ['cloudflare-token', null]), secrets(), context), /--cloudflare-token needs a value; pass --cloudflare-token-file FILE/);
  });

  it('rejects a bare non-boolean option', async () => {
    await assert.rejects(resolveParameters(parameters, options(['port', null]), secrets(), context), /--port needs a value$/);
  });
});

describe('closestName', () => {
  it('prefers a unique prefix', () => {
    assert.equal(closestName('hsts', ['hsts-max-age', 'port']), 'hsts-max-age');
  });

  it('allows two edits', () => {
    assert.equal(closestName('prot', ['port', 'vmid']), 'port');
    assert.equal(closestName('xyz', ['port', 'vmid']), undefined);
  });
});
