import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { AppError } from '../../daemon/src/errors.js';
import { PveGuestDirectory } from '../../daemon/src/pve/guests.js';
import { startPveSimulator, type PveSimulator } from '../sandbox/pve/index.js';

/** A pinned address must belong to the guest, so a pin cannot publish the node or another guest. */
describe('address pin', () => {
  let pve: PveSimulator;
  let base: string;
  let guests: PveGuestDirectory;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'pve-domains-pin-'));
    pve = await startPveSimulator({
      containers: [
        { vmid: 301, hostname: 'one', address: '127.0.0.31', port: 8080, status: 'running' },
        { vmid: 302, hostname: 'two', address: '127.0.0.32', port: 8080, status: 'running' },
      ],
    });
    const secret = randomUUID();
    const tokenId = pve.addApiToken('pve-domains@pve', 'daemon', secret, { privsep: false, privileges: { '/': ['Sys.Audit'], '/vms': ['VM.Audit'] } });
    await writeFile(join(base, 'token'), secret);
    guests = new PveGuestDirectory({ url: pve.url, tokenId, tokenSecretFile: join(base, 'token'), logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await pve.stop();
    await rm(base, { recursive: true, force: true });
  });

  it('accepts the guest own address', async () => {
    const resolved = await guests.resolveGuest(301, { address: '127.0.0.31' });
    assert.equal(resolved.address, '127.0.0.31');
    assert.equal(resolved.source, 'pinned');
  });

  for (const foreign of ['127.0.0.1', '127.0.0.32', '169.254.169.254']) {
    it(`rejects ${foreign}`, async () => {
      await assert.rejects(guests.resolveGuest(301, { address: foreign }), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'GUEST_NO_ADDRESS');
        assert.equal(err.retryable, false);
        assert.match(err.message, new RegExp(`Address ${foreign.replaceAll('.', '\\.')} is not an address of guest 301`));
        return true;
      });
    });
  }
});
