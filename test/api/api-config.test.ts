import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../daemon/src/config.js';

const minimal = {
  clusterName: 'pve',
  pve: { tokenId: 'pve-domains@pve!daemon', tokenSecretFile: '/etc/pve-domains/token' },
  site: { addresses: ['198.51.100.20'] },
};

describe('api settings', () => {
  it('fills the defaults', () => {
    const api = parseConfig(minimal).api;
    assert.deepEqual(api.listen, { address: '0.0.0.0', port: 8016 });
    assert.equal(api.tlsCertFile, null);
    assert.equal(api.tlsKeyFile, null);
    assert.deepEqual(api.corsOrigins, []);
    assert.equal(api.csrfKeyFile, '/etc/pve/pve-www.key');
    assert.equal(api.pveCaFile, '/etc/pve/pve-root-ca.pem');
    assert.equal(api.permissionsCacheMs, 15_000);
  });

  it('turns TCP off with null', () => {
    assert.equal(parseConfig({ ...minimal, api: { listen: null } }).api.listen, null);
  });

  it('takes a listen address', () => {
    const api = parseConfig({ ...minimal, api: { listen: { address: '::', port: 9016 } } }).api;
    assert.deepEqual(api.listen, { address: '::', port: 9016 });
  });

  it('rejects a host name', () => {
    assert.throws(() => parseConfig({ ...minimal, api: { listen: { address: 'pve1' } } }), /api\.listen\.address/);
  });

  it('rejects a non-list of origins', () => {
    assert.throws(() => parseConfig({ ...minimal, api: { corsOrigins: 'https://a.example:8006' } }), /api\.corsOrigins/);
  });

  it('bounds the cache lifetime', () => {
    assert.throws(() => parseConfig({ ...minimal, api: { permissionsCacheMs: 3_600_000 } }), /api\.permissionsCacheMs/);
  });
});
