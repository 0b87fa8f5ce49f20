import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registeredRoutes } from '../../daemon/src/api/access-control.js';
import type { OpenApiDocument, OpenApiOperation } from '../../daemon/src/api/openapi.js';
import { startSecuredApi, tokenHeaders, type SecuredApi } from '../api/fixtures.js';

/** GET /api2/json/schema: the OpenAPI document built from the registered routes' schemas. */
describe('API schema document', () => {
  let api: SecuredApi;
  let headers: Record<string, string>;
  let document: OpenApiDocument;

  const operation = (path: string, method: 'get' | 'post' | 'put' | 'delete'): OpenApiOperation => {
    const found = document.paths[path]?.[method];
    assert.ok(found !== undefined, `${method.toUpperCase()} ${path} is missing from the document`);
    return found;
  };

  before(async () => {
    api = await startSecuredApi();
    // A token without any privilege: authenticated, but allowed nothing else.
    const secret = randomUUID();
    const tokenId = api.pve.addApiToken('reader@pve', 'schema', secret, { privsep: false, privileges: {} });
    headers = tokenHeaders(tokenId, secret);
    const answer = await api.app.inject({ method: 'GET', url: '/api2/json/schema', headers });
    assert.equal(answer.statusCode, 200, answer.body);
    document = (JSON.parse(answer.body) as { data: OpenApiDocument }).data;
  });

  after(async () => {
    await api.stop();
  });

  it('needs authentication', async () => {
    const answer = await api.app.inject({ method: 'GET', url: '/api2/json/schema' });
    assert.equal(answer.statusCode, 401);
  });

  it('is OpenAPI 3.1', () => {
    assert.equal(document.openapi, '3.1.0');
    assert.deepEqual(document.servers, [{ url: '/api2/json' }]);
    assert.ok(document.components.securitySchemes['PVEAPIToken'] !== undefined);
  });

  it('lists every registered route', () => {
    for (const { method, route } of registeredRoutes(api.app)) {
      const path = route.replace(/:(\w+)/g, '{$1}') || '/';
      operation(path, method.toLowerCase() as 'get' | 'post' | 'put' | 'delete');
    }
    assert.ok(document.paths['/schema']?.get !== undefined);
  });

  it('describes path and query parameters', () => {
    const remove = operation('/domains/{domain}', 'delete');
    const path = remove.parameters.find((item) => item.in === 'path');
    assert.deepEqual(path?.name, 'domain');
    assert.equal(path?.required, true);
    assert.match(path?.description ?? '', /registered domain/);
    const query = remove.parameters.find((item) => item.in === 'query');
    assert.equal(query?.name, 'remove-services');
    assert.equal(query?.schema.type, 'boolean');
    const limit = operation('/audit', 'get').parameters.find((item) => item.name === 'limit');
    assert.equal(limit?.schema.default, 500);
    assert.equal(limit?.schema.maximum, 10_000);
  });

  it('carries the body schema that validates', async () => {
    const body = operation('/domains', 'post').requestBody;
    assert.equal(body?.required, true);
    const schema = body?.content['application/json'].schema;
    assert.deepEqual(schema?.required, ['domain', 'acme-directory', 'acme-email']);
    assert.deepEqual(schema?.properties?.['certificate-mode']?.enum, ['per-service', 'wildcard']);
    assert.equal(schema?.additionalProperties, false);
    const adminSecret = randomUUID();
    const admin = api.pve.addApiToken('admin@pve', 'schema', adminSecret, { privsep: false, privileges: { '/': ['Sys.Modify'] } });
    const answer = await api.app.inject({
      method: 'POST',
      url: '/api2/json/domains',
      headers: tokenHeaders(admin, adminSecret),
      payload: { domain: 'a.example', 'acme-directory': 'letsencrypt', 'acme-email': 'a@a.example', 'certificate-mode': 'single' },
    });
    assert.equal(answer.statusCode, 400);
    assert.match(answer.body, /certificate-mode/);
  });

  it('marks secrets as passwords', () => {
    const properties = operation('/domains', 'post').requestBody?.content['application/json'].schema.properties ?? {};
    for (const name of ['cloudflare-token', 'cloudflare-global-key', 'cloudflare-zone-token', 'cloudflare-dns-token', 'eab-hmac-key']) {
      assert.equal(properties[name]?.format, 'password', `${name} is not marked as a secret`);
    }
    assert.equal(properties['cloudflare-email']?.format, undefined);
  });

  it('names the required privileges', () => {
    assert.deepEqual(operation('/domains', 'get')['x-privileges'].requirements, [{ path: '/', privilege: 'Sys.Audit' }]);
    assert.deepEqual(operation('/domains', 'post')['x-privileges'].requirements, [{ path: '/', privilege: 'Sys.Modify' }]);
    assert.deepEqual(operation('/services', 'post')['x-privileges'].requirements, [
      { path: '/', privilege: 'Sys.Audit' },
      { path: '/vms/{vmid}', privilege: 'VM.Config.Network' },
    ]);
    assert.deepEqual(operation('/services/{fqdn}', 'get')['x-privileges'].requirements, [{ path: '/vms/{vmid}', privilege: 'VM.Audit' }]);
    assert.match(operation('/services', 'get')['x-privileges'].description, /only the services whose guest the caller has VM\.Audit on/);
    assert.deepEqual(operation('/schema', 'get')['x-privileges'].requirements, []);
  });
});
