import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClusterLock } from '../../daemon/src/cluster/cluster-lock.js';

/** A daemon killed while it holds the state lock must not block the next one until the lock is stale. */
describe('abandoned state lock', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-lock-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const lockAt = (name: string): ClusterLock =>
    new ClusterLock(name, { lockDir: join(dir, 'lock'), staleMs: 120_000, timeoutMs: 0, retryMs: 10, ownerFile: join(dir, `${name}.owner`) });

  it('removes the lock of a killed holder', async () => {
    const killed = lockAt('state');
    assert.equal(await killed.tryAcquire(), true);
    // The killed process never releases; its successor opens the same owner file.
    const successor = lockAt('state');
    assert.equal(await successor.tryAcquire(), false);
    assert.equal(await successor.removeAbandoned(), true);
    assert.equal(await successor.tryAcquire(), true);
    await successor.release();
  });

  it('keeps a lock another node took later', async () => {
    const killed = lockAt('later');
    assert.equal(await killed.tryAcquire(), true);
    // Another node removed the stale directory and made its own, newer one.
    const future = new Date(Date.now() + 60_000);
    await utimes(killed.path, future, future);
    const successor = lockAt('later');
    assert.equal(await successor.removeAbandoned(), false);
    assert.ok((await stat(killed.path)).isDirectory());
  });

  it('does nothing after a clean release', async () => {
    const clean = lockAt('clean');
    assert.equal(await clean.tryAcquire(), true);
    await clean.release();
    assert.equal(await lockAt('clean').removeAbandoned(), false);
  });
});
