import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buildProxyPaths } from '../../daemon/src/proxy/paths.js';
import { parseStreamTable, renderStreamSections, renderStreamTable, type StreamService } from '../../daemon/src/proxy/stream-services.js';

/** Rendering of TCP services into haproxy.cfg sections and streams.json, without HAProxy. */

const paths = buildProxyPaths('/etc/pvedom-test', '/run/pvedom-test');
const database: StreamService = { name: 'db.example.com', externalPort: 15432, targets: [{ address: '10.0.0.5', port: 5432 }], tlsCertificate: null, maintenance: false };
const broker: StreamService = { name: 'mqtt.example.com', externalPort: 8883, targets: [{ address: 'fd00::9', port: 1883 }], tlsCertificate: '*.example.com', maintenance: false };

describe('stream sections', () => {
  it('renders a plain frontend and backend', () => {
    const text = renderStreamSections([database], '0.0.0.0', paths).join('\n');
    assert.match(text, /^frontend fe_tcp_15432\n {4}# db\.example\.com\n {4}mode tcp\n/m);
    assert.match(text, /^ {4}bind 0\.0\.0\.0:15432$/m);
    assert.match(text, /^backend be_tcp_15432$/m);
    assert.match(text, /^ {4}server s0 10\.0\.0\.5:5432$/m);
  });

  it('terminates tls with one certificate file', () => {
    const text = renderStreamSections([broker], '0.0.0.0', paths).join('\n');
    assert.match(text, /^ {4}bind 0\.0\.0\.0:8883 ssl crt \/etc\/pvedom-test\/certs\/_wildcard\.example\.com\.pem$/m);
    assert.match(text, /^ {4}server s0 fd00::9:1883$/m);
  });

  it('disables servers in maintenance', () => {
    const text = renderStreamSections([{ ...database, maintenance: true }], '0.0.0.0', paths).join('\n');
    assert.match(text, /^ {4}server s0 10\.0\.0\.5:5432 disabled$/m);
  });

  it('orders sections by port', () => {
    const text = renderStreamSections([database, broker], '0.0.0.0', paths).join('\n');
    assert.ok(text.indexOf('fe_tcp_8883') < text.indexOf('fe_tcp_15432'));
  });

  it('rejects a shared external port', () => {
    assert.throws(() => renderStreamSections([database, { ...broker, externalPort: 15432 }], '0.0.0.0', paths), /external port 15432 is used by two stream services/);
  });

  it('rejects a target with a zone id', () => {
    assert.throws(() => renderStreamSections([{ ...database, targets: [{ address: 'fe80::1%eth0', port: 1 }] }], '0.0.0.0', paths), /invalid target address of db\.example\.com/);
  });

  it('round-trips the table file', () => {
    const text = renderStreamTable({ version: 1, services: [database, broker] });
    const parsed = parseStreamTable(text);
    assert.deepEqual(parsed.invalid, []);
    assert.deepEqual(parsed.table.services, [broker, database]);
  });

  it('drops invalid table entries', () => {
    const text = JSON.stringify({ version: 1, services: [database, { ...broker, name: 'bad name' }, { ...database, name: 'dup.example.com' }] });
    const parsed = parseStreamTable(text);
    assert.deepEqual(parsed.table.services.map((service) => service.name), ['db.example.com']);
    assert.deepEqual(parsed.invalid, ['"bad name"', '"dup.example.com"']);
  });
});
