import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { takeGlobalOptions } from '../../daemon/src/cli/arguments.js';
import { parseHost, parseToken, readTokenFile, resolveEndpoint, resolveSocket } from '../../daemon/src/cli/connection.js';
import { pickCertificate } from '../../daemon/src/cli/renew.js';

const token = 'automation@pve!cli=0b5e5b2c-1111-4222-8333-444455556666';

describe('connection options', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-cli-connection-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses hosts with and without port', () => {
    assert.deepEqual(parseHost('pve1.example.com'), { host: 'pve1.example.com', port: 8016 });
    assert.deepEqual(parseHost('192.0.2.1:9000'), { host: '192.0.2.1', port: 9000 });
    assert.deepEqual(parseHost('[2001:db8::1]:8016'), { host: '2001:db8::1', port: 8016 });
    assert.throws(() => parseHost('2001:db8::1'), /IPv6 address in brackets/);
    assert.throws(() => parseHost('host:70000'), /outside 1-65535/);
  });

  it('checks the token form', () => {
    assert.equal(parseToken(` ${token}\n`, 'PVE_DOMAINS_TOKEN'), token);
    assert.throws(() => parseToken('automation@pve=secret', 'PVE_DOMAINS_TOKEN'), /PVE_DOMAINS_TOKEN is not an API token of the form USER@REALM!TOKENID=SECRET/);
  });

  it('reads a private token file', async () => {
    const file = join(dir, 'token');
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    assert.equal(readTokenFile(file), token);
  });

  it('rejects a token file others can read', async () => {
    const file = join(dir, 'open-token');
    await writeFile(file, `${token}\n`);
    await chmod(file, 0o644);
    assert.throws(() => readTokenFile(file), /readable by group or others \(mode 0644\); run chmod 600/);
  });

  it('uses the socket without --host', () => {
    const endpoint = resolveEndpoint(takeGlobalOptions([]).globals, { PVE_DOMAINS_SOCKET: '/tmp/api.sock' });
    assert.deepEqual(endpoint, { kind: 'socket', socket: '/tmp/api.sock' });
  });

  it('reads the socket from the settings file', async () => {
    const settings = join(dir, 'settings.json');
    await writeFile(settings, JSON.stringify({ runDir: '/srv/run' }));
    assert.equal(resolveSocket(undefined, { PVE_DOMAINS_CONFIG: settings }), '/srv/run/api.sock');
    assert.equal(resolveSocket('/given.sock', { PVE_DOMAINS_CONFIG: settings }), '/given.sock');
  });

  it('needs a token with --host', () => {
    const { globals } = takeGlobalOptions([{ name: 'host', value: 'pve1' }]);
    assert.throws(() => resolveEndpoint(globals, {}), /--host needs an API token: set PVE_DOMAINS_TOKEN/);
    const endpoint = resolveEndpoint(globals, { PVE_DOMAINS_TOKEN: token });
    assert.equal(endpoint.kind, 'https');
  });

  it('rejects --ca without --host', () => {
    const { globals } = takeGlobalOptions([{ name: 'ca', value: '/ca.pem' }]);
    assert.throws(() => resolveEndpoint(globals, {}), /--ca applies only with --host/);
  });
});

describe('pickCertificate', () => {
  const certificates = [
    { id: 'app.example.com', domain: 'example.com', names: ['app.example.com'] },
    { id: 'wiki.example.com', domain: 'example.com', names: ['wiki.example.com'] },
    { id: 'example.net', domain: 'example.net', names: ['example.net', '*.example.net'] },
  ];

  it('finds by id, name and wildcard', () => {
    assert.equal(pickCertificate(certificates, 'APP.example.com.'), 'app.example.com');
    assert.equal(pickCertificate(certificates, 'shop.example.net'), 'example.net');
    assert.equal(pickCertificate(certificates, 'example.net'), 'example.net');
  });

  it('rejects an ambiguous domain', () => {
    assert.throws(() => pickCertificate(certificates, 'example.com'), /matches the certificates app\.example\.com, wiki\.example\.com; renew one of them by its id/);
  });

  it('reports an unknown name', () => {
    assert.throws(() => pickCertificate(certificates, 'other.example.org'), /no certificate matches other\.example\.org/);
  });
});
