import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import acme from 'acme-client';
import { pino } from 'pino';
import { fetchRenewalInfo, renewalInfoUrl } from '../../daemon/src/acme/ari.js';
import { parseRetryAfter } from '../../daemon/src/acme/problem.js';
import type { CliParameter } from '../../daemon/src/cli/api-schema.js';
import { UsageError } from '../../daemon/src/cli/errors.js';
import { convertParameter } from '../../daemon/src/cli/parameters.js';
import { CloudflareProvider } from '../../daemon/src/dns/cloudflare.js';
import { parseRegisteredDomain } from '../../daemon/src/domains/names.js';
import { AppError } from '../../daemon/src/errors.js';
import { normaliseRouteOptions } from '../../daemon/src/proxy/route-options.js';

/** The smallest inputs with which the fuzz properties found each bug, kept as fixed cases. */

describe('fuzz findings', () => {
  it('rejects a numeric top-level label', () => {
    assert.throws(() => parseRegisteredDomain('domain', '0.0'), AppError);
    assert.throws(() => parseRegisteredDomain('domain', 'app.0x7f'), AppError);
  });

  it('round-trips a middle dot name', () => {
    const domain = parseRegisteredDomain('domain', 'Ŀ０.a');
    assert.equal(parseRegisteredDomain('domain', domain.unicode).ascii, domain.ascii);
  });

  it('rejects an empty header value', () => {
    assert.throws(() => normaliseRouteOptions({ requestHeaders: [{ name: 'X-Empty', value: '' }] }), /requestHeaders\[0\]\.value/);
  });

  it('ignores a retry-after past the date range', () => {
    assert.equal(parseRetryAfter('99999999999999999999'), null);
  });

  it('rejects an inherited key in a property string', () => {
    const parameter: CliParameter = { name: 'health-check', schema: { type: 'object', properties: { path: { type: 'string' } } }, required: false, location: 'body', secret: false };
    assert.throws(() => convertParameter(parameter, ['path=/,toString=1']), UsageError);
    assert.throws(() => convertParameter(parameter, ['constructor=x']), UsageError);
  });
});

describe('fuzz findings in responses', () => {
  const originalFetch = globalThis.fetch;
  const defaults = acme.axios.defaults as unknown as { adapter: unknown };
  const originalAdapter = defaults.adapter;
  let body = '';
  let status = 200;

  before(() => {
    globalThis.fetch = () => Promise.resolve(new Response(body, { status, headers: { 'content-type': 'application/json', 'x-should-retry': 'false' } }));
    defaults.adapter = (config: unknown) => Promise.resolve({ data: body, status, statusText: '', headers: { 'content-type': 'application/json' }, config, request: {} });
  });

  after(() => {
    globalThis.fetch = originalFetch;
    defaults.adapter = originalAdapter;
  });

  const provider = (): CloudflareProvider =>
    new CloudflareProvider({ apiBaseUrl: 'https://cloudflare.invalid/client/v4', credentials: { kind: 'token', token: 'YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T' }, logger: pino({ level: 'silent' }) });

  it('reads an errors field that is no list', async () => {
    status = 401;
    body = '{"errors":""}';
    await assert.rejects(provider().findZone('app.example.com', 'example.com'), AppError);
  });

  it('reads a zone list that is no list', async () => {
    status = 200;
    body = '{"result":{}}';
    await assert.rejects(provider().findZone('app.example.com', 'example.com'), (err: unknown) => err instanceof AppError && err.code === 'DNS_ZONE_NOT_FOUND');
  });

  it('reads a zone list holding null', async () => {
    status = 200;
    body = '{"result":[null]}';
    await assert.rejects(provider().findZone('app.example.com', 'example.com'), (err: unknown) => err instanceof AppError && err.code === 'DNS_ZONE_NOT_FOUND');
  });

  it('reads renewal information of null', async () => {
    status = 200;
    body = 'null';
    await assert.rejects(fetchRenewalInfo('https://ca.invalid/renewal-info', 'a.b'), (err: unknown) => err instanceof Error && err.constructor === Error);
    assert.equal(await renewalInfoUrl('https://ca.invalid/dir'), null);
  });
});
