import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatUpid, parseUpid, processStartTicks } from '../../daemon/src/tasks/upid.js';

describe('upid', () => {
  const fields = { node: 'pve1', pid: 4660, pstart: 123456, starttime: 1733356800, type: 'renew', id: '*.example.com', user: 'root@pam' };

  it('formats as PVE does', () => {
    assert.equal(formatUpid(fields), 'UPID:pve1:00001234:0001E240:6750ED00:renew:*.example.com:root@pam:');
  });

  it('parses its own output', () => {
    assert.deepEqual(parseUpid(formatUpid(fields)), fields);
  });

  it('parses a PVE task id', () => {
    const parsed = parseUpid('UPID:pve:000A1B2C:0123ABCD:65F0A1B2:vzdump::root@pam:');
    assert.equal(parsed?.node, 'pve');
    assert.equal(parsed?.pid, 0x000a1b2c);
    assert.equal(parsed?.type, 'vzdump');
    assert.equal(parsed?.id, '');
    assert.equal(parsed?.user, 'root@pam');
  });

  it('rejects other strings', () => {
    assert.equal(parseUpid('UPID:pve:1:2:3:verify:x:root@pam:'), null);
    assert.equal(parseUpid('UPID:pve:00000001:00000002:00000003:verify:x:root@pam'), null);
    assert.equal(parseUpid('not a upid'), null);
  });

  it('rejects unsafe fields', () => {
    assert.throws(() => formatUpid({ ...fields, id: 'a:b' }), /no colon or whitespace/);
    assert.throws(() => formatUpid({ ...fields, user: 'root @pam' }), /no colon or whitespace/);
    assert.throws(() => formatUpid({ ...fields, node: '-bad' }), /Invalid node name/);
  });

  it('reads the process start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'upid-'));
    try {
      // Field 22 is the start time; the command name contains a space and a parenthesis.
      const stat = `1234 (node (x) y) S ${Array.from({ length: 18 }, (_, index) => String(index + 4)).join(' ')} 987654 rest`;
      await writeFile(join(dir, 'stat'), stat);
      assert.equal(processStartTicks(join(dir, 'stat')), 987654);
      assert.equal(processStartTicks(join(dir, 'missing')), 0);
      assert.ok(processStartTicks() > 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
