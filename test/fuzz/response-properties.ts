import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import acme from 'acme-client';
import fc from 'fast-check';
import { pino } from 'pino';
import { fetchRenewalInfo, renewalInfoUrl } from '../../daemon/src/acme/ari.js';
import { installProblemCapture, parseRetryAfter, translateCaError, withCaExchange } from '../../daemon/src/acme/problem.js';
import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import type { DnsZone } from '../../daemon/src/dns/provider.js';
import { AppError } from '../../daemon/src/errors.js';
import { anyString } from './arbitraries.js';
import { checkProperty } from './budget.js';

/**
 * Cloudflare API and ACME CA responses of every shape: envelopes with fields of the wrong type,
 * any JSON, and text that is not JSON, under any status. No network is used: the Cloudflare SDK
 * gets a stub `fetch`, and acme-client's axios instance a stub adapter.
 */

interface StubResponse {
  status: number;
  contentType: string | null;
  body: string;
  retryAfter: string | null;
}

const cloudflareToken = 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T';
const zone: DnsZone = { id: '023e105f4ecef8ad9ca31a8372d0c353', name: 'example.com', nameServers: ['a.ns.example'] };

const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyString);
const errorItem = fc.record(
  { code: fc.oneof(fc.constantFrom(9106, 6003, 1000, 10000, 81044, 81057, 81058, 7003), fc.integer(), anyString), message: fc.oneof(anyString, fc.integer()), error_chain: fc.array(fc.record({ code: fc.oneof(fc.integer(), anyString) }), { maxLength: 2 }) },
  { requiredKeys: [] },
);
const zoneItem = fc.record(
  { id: fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), anything), name: fc.oneof(fc.constantFrom('example.com', 'app.example.com'), anything), name_servers: fc.oneof(fc.array(anyString, { maxLength: 2 }), anything), status: fc.oneof(fc.constantFrom('active', 'pending'), anything), account: fc.oneof(fc.record({ id: fc.oneof(anyString, anything) }), anything) },
  { requiredKeys: [] },
);
const recordItem = fc.record(
  { id: anything, type: fc.oneof(fc.constantFrom('A', 'AAAA', 'TXT', 'SRV'), anything), name: fc.oneof(fc.constantFrom('app.example.com'), anything), content: anything, comment: fc.oneof(anyString, fc.constant(null), anything), ttl: fc.oneof(fc.integer(), anything), proxied: anything, data: anything },
  { requiredKeys: [] },
);
const result = fc.oneof(fc.array(fc.oneof(zoneItem, recordItem, anything), { maxLength: 3 }), zoneItem, recordItem, fc.record({ id: anyString, status: anything, expires_on: anything }, { requiredKeys: [] }), anything, fc.constant(null));
const envelope = fc.record(
  {
    success: fc.oneof(fc.boolean(), anything),
    errors: fc.oneof(fc.array(errorItem, { maxLength: 3 }), anything),
    messages: fc.oneof(fc.array(anything, { maxLength: 2 }), anything),
    result,
    result_info: fc.oneof(fc.record({ page: fc.integer({ min: -1, max: 5 }), per_page: fc.integer({ min: 0, max: 100 }), count: fc.integer({ min: 0, max: 5 }), total_count: fc.integer({ min: 0, max: 500 }), total_pages: fc.integer({ min: 0, max: 9 }) }, { requiredKeys: [] }), anything),
  },
  { requiredKeys: [] },
);

const responseArbitrary: fc.Arbitrary<StubResponse> = fc.record({
  status: fc.constantFrom(200, 200, 200, 201, 204, 400, 401, 403, 404, 405, 409, 429, 500, 502, 503),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/html', 'application/problem+json', null),
  body: fc.oneof({ weight: 4, arbitrary: envelope.map((value) => JSON.stringify(value)) }, { weight: 1, arbitrary: fc.json() }, { weight: 1, arbitrary: anyString }, fc.constantFrom('', 'null', '[]', '{', '<html>502</html>')),
  retryAfter: fc.oneof(fc.constant(null), fc.constantFrom('0', '1', '120', '99999999999999999999', 'Wed, 21 Oct 2015 07:28:00 GMT', '-5', 'soon'), anyString),
});

/** Calls the stub returns, in order; after them, an empty successful page, so that paging ends. */
let pending: StubResponse[] = [];
let calls = 0;
const maxCallsPerCase = 25;

function stubFetch(): Promise<Response> {
  calls += 1;
  const next = calls > maxCallsPerCase ? undefined : pending.shift();
  const response = next ?? { status: 200, contentType: 'application/json', body: '{"success":true,"errors":[],"messages":[],"result":[]}', retryAfter: null };
  const headers = new Headers();
  if (response.contentType !== null) headers.set('content-type', response.contentType);
  // The SDK retries 408, 409, 429 and 5xx; a tiny retry-after-ms keeps its waits short.
  headers.set('retry-after-ms', '1');
  if (response.retryAfter !== null && /^[\x20-\x7e]*$/.test(response.retryAfter)) headers.set('retry-after', response.retryAfter);
  const noBody = response.status === 204 || response.status === 304;
  return Promise.resolve(new Response(noBody ? null : response.body, { status: response.status, headers }));
}

type Operation = 'findZone' | 'verifyToken' | 'verifyAccountToken' | 'zoneByName' | 'listRecords' | 'createRecord' | 'updateRecord' | 'deleteRecord';
const operations: Operation[] = ['findZone', 'verifyToken', 'verifyAccountToken', 'zoneByName', 'listRecords', 'createRecord', 'updateRecord', 'deleteRecord'];

async function callProvider(provider: CloudflareProvider, operation: Operation): Promise<unknown> {
  const record = { type: 'A' as const, name: 'app.example.com', content: '192.0.2.10', ttl: 60, comment: 'pve-domains cluster=fuzz service=app.example.com' };
  switch (operation) {
    case 'findZone':
      return provider.findZone('app.example.com', 'example.com');
    case 'verifyToken':
      return provider.verifyToken(null);
    case 'verifyAccountToken':
      return provider.verifyToken('01a7362d577a6c3019a474fd6f485823');
    case 'zoneByName':
      return provider.zoneByName('example.com');
    case 'listRecords':
      return provider.listRecords(zone, { name: 'app.example.com', type: 'A' });
    case 'createRecord':
      return provider.createRecord(zone, record);
    case 'updateRecord':
      return provider.updateRecord(zone, '372e67954025e0ba6aaa6d586b9e0b59', record);
    case 'deleteRecord':
      return provider.deleteRecord(zone, '372e67954025e0ba6aaa6d586b9e0b59');
  }
}

function assertTypedError(err: unknown, operation: string): asserts err is AppError {
  assert.ok(err instanceof AppError, `${operation} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} instead of an AppError`);
  assert.notEqual(err.message, '');
}

function isValidDate(value: unknown): boolean {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** An axios adapter that returns the stub response whatever its status, as a server would send it. */
function stubAdapter(response: StubResponse) {
  return (config: unknown) =>
    Promise.resolve({
      data: response.body,
      status: response.status,
      statusText: '',
      headers: { ...(response.contentType === null ? {} : { 'content-type': response.contentType }), ...(response.retryAfter === null ? {} : { 'retry-after': response.retryAfter }) },
      config,
      request: {},
    });
}

type AxiosDefaults = { adapter: unknown; acmeSettings: { retryMaxAttempts: number } };

export function registerResponseProperties(): void {
  describe('response parsing', () => {
    const originalFetch = globalThis.fetch;
    const defaults = acme.axios.defaults as unknown as AxiosDefaults;
    const originalAdapter = defaults.adapter;
    const originalRetries = defaults.acmeSettings.retryMaxAttempts;

    before(() => {
      globalThis.fetch = stubFetch;
      installProblemCapture();
      defaults.acmeSettings.retryMaxAttempts = 0;
    });

    after(() => {
      globalThis.fetch = originalFetch;
      defaults.adapter = originalAdapter;
      defaults.acmeSettings.retryMaxAttempts = originalRetries;
    });

    it('turns any cloudflare response into a value or an AppError', async () => {
      // Built after the stub is installed: the SDK keeps the global fetch of its construction.
      const providers = [
        new CloudflareProvider({ apiBaseUrl: 'https://cloudflare.invalid/client/v4', credentials: { kind: 'token', token: cloudflareToken }, logger: pino({ level: 'silent' }) }),
        new CloudflareProvider({ apiBaseUrl: 'https://cloudflare.invalid/client/v4', credentials: { kind: 'split', zoneToken: cloudflareToken, dnsToken: `${cloudflareToken}x` }, logger: pino({ level: 'silent' }) }),
      ];
      await checkProperty(
        'responses: cloudflare',
        fc.tuple(fc.constantFrom(...operations), fc.array(responseArbitrary, { minLength: 1, maxLength: 4 }), fc.constantFrom(0, 1)),
        async ([operation, responses, which]) => {
          pending = [...responses];
          calls = 0;
          try {
            await callProvider(providers[which] as CloudflareProvider, operation);
          } catch (err) {
            assertTypedError(err, operation);
            assert.ok(!err.message.includes(cloudflareToken), `${operation}: the error message contains the token`);
          }
        },
        700,
      );
    });

    it('parses any retry-after header', async () => {
      await checkProperty(
        'responses: retry-after',
        fc.oneof(anyString, fc.stringMatching(/^[0-9]{1,30}$/), fc.constantFrom('8640000000000', '99999999999999999999', 'Sat, 13 Sep 275760 00:00:01 GMT'), fc.date({ noInvalidDate: true }).map((date) => date.toUTCString()), fc.jsonValue()),
        (header) => {
          const parsed = parseRetryAfter(header);
          assert.ok(parsed === null || isValidDate(parsed), `Retry-After ${JSON.stringify(header)} gave an invalid date`);
        },
        800,
      );
    });

    it('turns any CA response into a typed error', async () => {
      await checkProperty(
        'responses: acme problem documents',
        responseArbitrary,
        async (response) => {
          defaults.adapter = stubAdapter(response);
          await withCaExchange(async (exchange) => {
            await acme.axios.post('https://ca.invalid/acme/new-order', '{}');
            const error = translateCaError(new Error(`HTTP ${response.status}`), exchange, 'https://ca.invalid/dir', 'create an order');
            assertTypedError(error, 'translateCaError');
            if ('notBefore' in error && error.notBefore !== null) assert.ok(isValidDate(error.notBefore));
          });
        },
        500,
      );
    });

    it('reads any renewal information response', async () => {
      await checkProperty(
        'responses: acme renewal information',
        fc.tuple(responseArbitrary, fc.boolean()),
        async ([response, directory]) => {
          defaults.adapter = stubAdapter(response);
          try {
            if (directory) {
              const url = await renewalInfoUrl('https://ca.invalid/dir');
              assert.ok(url === null || typeof url === 'string');
            } else {
              const info = await fetchRenewalInfo('https://ca.invalid/renewal-info', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
              if (info !== null) {
                assert.ok(isValidDate(info.start), `invalid start in ${JSON.stringify(info)}`);
                assert.ok(isValidDate(info.end), `invalid end in ${JSON.stringify(info)}`);
                assert.ok(isValidDate(info.checkAfter), `invalid checkAfter in ${JSON.stringify(info)}`);
              }
            }
          } catch (err) {
            // These functions report a bad response with a plain Error naming the URL; a TypeError or
            // RangeError would mean the parser itself broke on the response.
            assert.ok(err instanceof Error && (err.constructor === Error || err instanceof AppError), `threw ${String(err)}`);
          }
        },
        500,
      );
    });
  });
}
