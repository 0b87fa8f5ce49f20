import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { JsonSchema } from '../../daemon/src/api/openapi.js';
import type { CliParameter } from '../../daemon/src/cli/api-schema.js';
import { globalOptionNames, splitCommandLine, takeGlobalOptions } from '../../daemon/src/cli/arguments.js';
import { UsageError } from '../../daemon/src/cli/errors.js';
import { convertParameter } from '../../daemon/src/cli/parameters.js';
import { anyString, hostileString } from './arbitraries.js';
import { checkProperty } from './budget.js';

const optionName = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  fc.constantFrom(...globalOptionNames, '__proto__', 'constructor', 'toString', 'hasOwnProperty'),
  hostileString.filter((name) => name !== '' && !name.includes('=')),
);
const word = fc.oneof(anyString, fc.constantFrom('--', '---', '--=', '--output-format', '--socket', '--a=b=c', '-x', 'help', 'null', '[1,2]', '{"path":"/"}'), optionName.map((name) => `--${name}`));

function assertUsageError(err: unknown): void {
  assert.ok(err instanceof UsageError, `threw ${String(err)} instead of a UsageError`);
  assert.notEqual(err.message, '');
}

/** Parameter schemas of the shapes the API uses: ranges, enums, nullable values, lists and objects. */
const parameters: CliParameter[] = [
  { name: 'port', schema: { type: 'integer', minimum: 1, maximum: 65535 }, required: true, location: 'body', secret: false },
  { name: 'force', schema: { type: 'boolean' }, required: false, location: 'query', secret: false },
  { name: 'balance', schema: { type: 'string', enum: ['roundrobin', 'leastconn', 'source'] }, required: false, location: 'body', secret: false },
  { name: 'hsts-max-age', schema: { type: ['integer', 'null'], minimum: 0, maximum: 63_072_000 }, required: false, location: 'body', secret: false },
  { name: 'allowed-networks', schema: { type: 'array', maxItems: 64, items: { type: 'string' } }, required: false, location: 'body', secret: false },
  {
    name: 'health-check',
    schema: { type: ['object', 'null'], required: ['path'], properties: { path: { type: 'string' }, interval: { type: 'integer', minimum: 1, maximum: 3600 } } },
    required: false,
    location: 'body',
    secret: false,
  },
  {
    name: 'additional-targets',
    schema: { type: 'array', maxItems: 15, items: { type: 'object', required: ['vmid', 'port'], properties: { vmid: { type: 'integer' }, port: { type: 'integer' } } } },
    required: false,
    location: 'body',
    secret: false,
  },
];

function typeNames(schema: JsonSchema): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? [...(schema.type as string[])] : [schema.type as string];
}

/** Asserts that `value` has one of the types of `schema`, and objects only its properties. */
function assertConforms(label: string, schema: JsonSchema, value: unknown): void {
  const types = typeNames(schema);
  if (value === null) {
    assert.ok(types.includes('null'), `${label}: null for a schema without null`);
    return;
  }
  if (Array.isArray(value)) {
    assert.ok(types.includes('array'), `${label}: a list for ${types.join('|')}`);
    for (const item of value) assertConforms(label, schema.items ?? {}, item);
    return;
  }
  if (typeof value === 'object') {
    assert.ok(types.includes('object'), `${label}: an object for ${types.join('|')}`);
    const known = Object.keys(schema.properties ?? {});
    for (const key of Object.keys(value)) assert.ok(known.includes(key), `${label}: unknown key ${JSON.stringify(key)} passed`);
    return;
  }
  const kind = typeof value === 'number' && Number.isInteger(value) && types.includes('integer') ? 'integer' : typeof value;
  assert.ok(types.includes(kind) || (kind === 'number' && types.includes('number')), `${label}: ${JSON.stringify(value)} is not ${types.join('|')}`);
}

export function registerCliProperties(): void {
  describe('cli arguments', () => {
    it('splits any argv or raises a usage error', async () => {
      await checkProperty(
        'cli: any argv',
        fc.array(word, { maxLength: 10 }),
        (argv) => {
          let line;
          try {
            line = splitCommandLine(argv);
          } catch (err) {
            assertUsageError(err);
            return;
          }
          assert.equal(line.command, argv[0] ?? '');
          for (const positional of line.positionals) assert.ok(!positional.startsWith('--'));
          try {
            const { globals, rest } = takeGlobalOptions(line.options);
            for (const option of rest) assert.ok(!(globalOptionNames as readonly string[]).includes(option.name));
            assert.equal(typeof globals.border, 'boolean');
          } catch (err) {
            assertUsageError(err);
          }
        },
        1500,
      );
    });

    it('round-trips options', async () => {
      await checkProperty(
        'cli: option round trip',
        fc.record({
          positionals: fc.array(anyString.filter((text) => !text.startsWith('--')), { maxLength: 3 }),
          options: fc.array(fc.record({ name: optionName, value: fc.option(anyString, { nil: null }), joined: fc.boolean() }), { maxLength: 6 }),
        }),
        ({ positionals, options }) => {
          const argv = ['get', ...positionals];
          const expected: Array<{ name: string; value: string | null }> = [];
          for (const { name, value, joined } of options) {
            // A bare option is followed by the next option, never by a value.
            if (value === null) argv.push(`--${name}`, '--x=1');
            // A value that starts with "--" reads as an option unless joined with "=".
            else if (joined || value.startsWith('--')) argv.push(`--${name}=${value}`);
            else argv.push(`--${name}`, value);
            expected.push({ name, value });
            if (value === null) expected.push({ name: 'x', value: '1' });
          }
          const line = splitCommandLine(argv);
          assert.deepEqual(line.positionals, positionals);
          assert.deepEqual(line.options, expected);
        },
        1000,
      );
    });

    it('converts values to the schema or raises a usage error', async () => {
      const text = fc.oneof(
        anyString,
        fc.constantFrom('null', '1', '0', 'yes', '-0', '1e3', '0x50', ' 80', '65536', '[]', '[1,"a"]', '{}', '{"path":"/h"}', 'path=/h,interval=5', 'constructor=x', '__proto__=x', 'path=/,toString=1'),
        fc.json(),
        fc.integer().map(String),
      );
      await checkProperty(
        'cli: parameter conversion',
        fc.tuple(fc.constantFrom(...parameters), fc.array(text, { minLength: 1, maxLength: 3 })),
        ([parameter, values]) => {
          let value: unknown;
          try {
            value = convertParameter(parameter, values);
          } catch (err) {
            assertUsageError(err);
            return;
          }
          assertConforms(`--${parameter.name}`, parameter.schema, value);
        },
        1500,
      );
    });
  });
}
