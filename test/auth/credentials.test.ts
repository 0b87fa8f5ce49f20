import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractCredential, parseTicket } from '../../daemon/src/auth/credentials.js';

const ticket = 'PVE:admin@pve:6650A1B2::c2lnbmF0dXJl+/=';

describe('credentials', () => {
  it('reads the cookie', () => {
    const credential = extractCredential({ cookie: `lang=en; PVEAuthCookie=${encodeURIComponent(ticket)}` });
    assert.deepEqual(credential, { kind: 'ticket', ticket, userid: 'admin@pve', issuedAt: 0x6650a1b2 });
  });

  it('keeps a plus sign', () => {
    const credential = extractCredential({ cookie: 'PVEAuthCookie=PVE%3Aadmin@pve%3A6650A1B2%3A%3Aab+c/d==' });
    assert.equal(typeof credential === 'object' && credential.kind === 'ticket' ? credential.ticket : '', 'PVE:admin@pve:6650A1B2::ab+c/d==');
  });

  it('reads the Authorization ticket', () => {
    const credential = extractCredential({ authorization: `PVEAuthCookie=${ticket}` });
    assert.equal(typeof credential === 'object' ? credential.kind : credential, 'ticket');
  });

  it('prefers the cookie to a token', () => {
    const credential = extractCredential({ cookie: `PVEAuthCookie=${ticket}`, authorization: 'PVEAPIToken=a@pve!t1=secret' });
    assert.equal(typeof credential === 'object' ? credential.kind : credential, 'ticket');
  });

  it('reads an API token', () => {
    const credential = extractCredential({ authorization: 'PVEAPIToken=automation@pve!deploy=0b7f1c2e-8a4d-4e0f-9d6b-3c1a2b4d5e6f' });
    assert.deepEqual(credential, { kind: 'token', tokenId: 'automation@pve!deploy', secret: '0b7f1c2e-8a4d-4e0f-9d6b-3c1a2b4d5e6f' });
  });

  it('accepts a space after PVEAPIToken', () => {
    const credential = extractCredential({ authorization: 'PVEAPIToken automation@pve!deploy=abc' });
    assert.equal(typeof credential === 'object' ? credential.kind : credential, 'token');
  });

  it('reports a missing credential', () => {
    assert.equal(extractCredential({}), 'No ticket');
    assert.equal(extractCredential({ authorization: 'Bearer abc' }), 'No ticket');
  });

  it('rejects a token without id', () => {
    assert.equal(extractCredential({ authorization: 'PVEAPIToken=secretonly' }), 'Authentication failed!');
  });

  it('rejects a malformed ticket', () => {
    assert.equal(extractCredential({ cookie: 'PVEAuthCookie=garbage' }), 'Authentication failed!');
  });

  it('rejects second-factor tickets', () => {
    assert.equal(parseTicket('PVE:!tfa!%7B%22a%22%7D:6650A1B2::c2ln'), undefined);
    assert.equal(parseTicket('PVE:tfa!admin@pve:6650A1B2::c2ln'), undefined);
    assert.equal(parseTicket('PVE:u2f!admin@pve!abc:6650A1B2::c2ln'), undefined);
  });

  it('unescapes the user colon only', () => {
    assert.equal(parseTicket('PVE:a%41b@pve:6650A1B2::c2ln')?.userid, 'a%41b@pve');
  });
});
