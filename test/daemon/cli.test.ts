import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArguments, UsageError } from '../../daemon/src/cli/arguments.js';
import { bodyValues } from '../../daemon/src/cli/main.js';
import { renderData } from '../../daemon/src/cli/output.js';

describe('parseArguments', () => {
  it('reads a create command', () => {
    const command = parseArguments(['create', '/services', '--subdomain', 'app', '--vmid=101', '--output-format', 'json']);
    assert.equal(command.verb, 'create');
    assert.equal(command.path, '/services');
    assert.deepEqual(command.parameters, { subdomain: 'app', vmid: '101' });
    assert.equal(command.outputFormat, 'json');
  });
  it('rejects an unknown verb', () => {
    assert.throws(() => parseArguments(['expose', '/services']), UsageError);
  });
  it('rejects a missing path', () => {
    assert.throws(() => parseArguments(['get']), /missing API path/);
  });
  it('rejects a parameter without value', () => {
    assert.throws(() => parseArguments(['create', '/services', '--port']), /--port needs a value/);
  });
  it('rejects a repeated parameter', () => {
    assert.throws(() => parseArguments(['create', '/services', '--port', '1', '--port', '2']), /given twice/);
  });
  it('rejects a bare word', () => {
    assert.throws(() => parseArguments(['get', '/services', 'extra']), /unexpected argument "extra"/);
  });
  it('rejects an unknown output format', () => {
    assert.throws(() => parseArguments(['get', '/services', '--output-format', 'xml']), /text, json or json-pretty/);
  });
});

describe('renderData', () => {
  it('draws a table for a list', () => {
    const text = renderData([{ fqdn: 'app.example.com', port: 8080 }], 'text');
    assert.match(text, /│ fqdn +│ port │/);
    assert.match(text, /│ app\.example\.com │ 8080 │/);
  });
  it('prints key and value for an object', () => {
    assert.equal(renderData({ domain: 'example.com', services: 2 }, 'text'), 'domain    example.com\nservices  2');
  });
  it('prints json', () => {
    assert.equal(renderData({ a: 1 }, 'json'), '{"a":1}');
  });
});

describe('parseArguments values', () => {
  it('rejects an option as value', () => {
    assert.throws(() => parseArguments(['create', '/services', '--subdomain', '--domain', 'example.com']), /--subdomain needs a value/);
  });
});

describe('bodyValues', () => {
  it('sends json lists and objects', () => {
    assert.deepEqual(bodyValues({ 'health-check': '{"path":"/healthz","interval":5}', 'allowed-networks': '["10.0.0.0/8"]', 'hsts-max-age': 'null' }), {
      'health-check': { path: '/healthz', interval: 5 },
      'allowed-networks': ['10.0.0.0/8'],
      'hsts-max-age': null,
    });
  });
  it('keeps other values as text', () => {
    assert.deepEqual(bodyValues({ port: '8080', subdomain: 'app', broken: '{not json' }), { port: '8080', subdomain: 'app', broken: '{not json' });
  });
});
