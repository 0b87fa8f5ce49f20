import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../daemon/src/config.js';

const minimal = {
  clusterName: 'pve',
  pve: { tokenId: 'pve-domains@pve!daemon', tokenSecretFile: '/etc/pve-domains/token' },
  site: { addresses: ['198.51.100.20'] },
};

describe('parseConfig', () => {
  it('fills the defaults', () => {
    const config = parseConfig(minimal);
    assert.equal(config.stateDir, '/etc/pve/pve-domains');
    assert.equal(config.secretsDir, '/etc/pve/priv/pve-domains');
    assert.equal(config.api.socket, '/run/pve-domains/api.sock');
    assert.equal(config.proxy.httpsBind.port, 443);
    assert.equal(config.dns.authoritativePort, 53);
    assert.equal(config.proxy.httpsRedirectPort, null);
  });

  it('accepts empty site addresses', () => {
    const config = parseConfig({ ...minimal, site: { addresses: [] } });
    assert.deepEqual(config.site.addresses, []);
  });

  it('rejects a bad address', () => {
    assert.throws(() => parseConfig({ ...minimal, site: { addresses: ['not-an-ip'] } }), /site\.addresses must be a list of IPv4 or IPv6 addresses/);
  });

  it('rejects a port out of range', () => {
    assert.throws(() => parseConfig({ ...minimal, proxy: { httpsBind: { port: 70000 } } }), /proxy\.httpsBind\.port must be an integer from 1 to 65535/);
  });

  it('rejects a missing token id', () => {
    assert.throws(() => parseConfig({ ...minimal, pve: { tokenSecretFile: '/x' } }), /pve\.tokenId must be a non-empty string/);
  });

  it('rejects a non-object document', () => {
    assert.throws(() => parseConfig([]), /must be a JSON object/);
  });
});
