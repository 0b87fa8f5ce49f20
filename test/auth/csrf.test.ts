import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { CsrfVerifier } from '../../daemon/src/auth/csrf.js';
import { TicketAuthority } from '../sandbox/pve/tickets.js';

const wwwKey = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK stand-in key for tests\n-----END RSA PRIVATE KEY-----\n';
const now = Date.UTC(2026, 0, 15, 12, 0, 0);
const nowSeconds = now / 1000;

function hex(seconds: number): string {
  return seconds.toString(16).toUpperCase().padStart(8, '0');
}

/** Builds a token the way pve-common Ticket.pm does, independent of the code under test. */
function pveToken(userid: string, seconds: number): string {
  const secret = createHmac('sha256', '').update(wwwKey).digest('base64').replace(/=+$/, '');
  const signature = createHmac('sha256', secret).update(`${hex(seconds)}:${userid}`).digest('base64').replace(/=+$/, '');
  return `${hex(seconds)}:${signature}`;
}

describe('csrf', () => {
  const verifier = new CsrfVerifier(wwwKey);

  it('accepts a token PVE made', () => {
    assert.equal(verifier.verify('admin@pve', pveToken('admin@pve', nowSeconds), nowSeconds), true);
  });

  it('accepts a simulator token', () => {
    const token = new TicketAuthority(() => now, wwwKey).issueCsrfToken('admin@pve');
    assert.equal(verifier.verify('admin@pve', token, nowSeconds), true);
  });

  it('rejects another user', () => {
    assert.equal(verifier.verify('other@pve', pveToken('admin@pve', nowSeconds), nowSeconds), false);
  });

  it('rejects another www key', () => {
    const token = new TicketAuthority(() => now, `${wwwKey}x`).issueCsrfToken('admin@pve');
    assert.equal(verifier.verify('admin@pve', token, nowSeconds), false);
  });

  it('rejects a missing token', () => {
    assert.equal(verifier.verify('admin@pve', undefined, nowSeconds), false);
  });

  it('rejects a malformed token', () => {
    assert.equal(verifier.verify('admin@pve', 'not-a-token', nowSeconds), false);
  });

  it('rejects a changed timestamp', () => {
    const token = pveToken('admin@pve', nowSeconds);
    const moved = `${hex(nowSeconds - 1)}${token.slice(8)}`;
    assert.equal(verifier.verify('admin@pve', moved, nowSeconds), false);
  });

  it('keeps the validity window', () => {
    assert.equal(verifier.verify('admin@pve', pveToken('admin@pve', nowSeconds - 7199), nowSeconds), true);
    assert.equal(verifier.verify('admin@pve', pveToken('admin@pve', nowSeconds - 7200), nowSeconds), false);
    assert.equal(verifier.verify('admin@pve', pveToken('admin@pve', nowSeconds + 299), nowSeconds), true);
    assert.equal(verifier.verify('admin@pve', pveToken('admin@pve', nowSeconds + 300), nowSeconds), false);
  });
});
