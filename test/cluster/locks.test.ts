import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ClusterLock } from '../../daemon/src/cluster/cluster-lock.js';
import { WorkLock } from '../../daemon/src/cluster/work-lock.js';
import { AppError } from '../../daemon/src/errors.js';
import { createPmxcfsStandIn, type PmxcfsStandIn } from '../sandbox/pmxcfs/index.js';

const logger = pino({ level: 'silent' });
const STALE_MS = 1_000;

describe('cluster lock', () => {
  let standIn: PmxcfsStandIn;

  before(async () => {
    standIn = await createPmxcfsStandIn();
  });

  after(async () => {
    await standIn.remove();
  });

  function lock(id: string, timeoutMs = 300): ClusterLock {
    return new ClusterLock(id, { lockDir: standIn.lockDir, staleMs: STALE_MS, timeoutMs, retryMs: 50 });
  }

  it('admits one holder', async () => {
    const first = lock('one');
    const second = lock('one');
    assert.equal(await first.tryAcquire(), true);
    assert.equal(await second.tryAcquire(), false);
    await first.release();
    assert.equal(await second.tryAcquire(), true);
    await second.release();
    assert.equal(await standIn.hasLock('one'), false);
  });

  it('times out on a held lock', async () => {
    const holder = lock('busy');
    await holder.acquire();
    const started = Date.now();
    await assert.rejects(lock('busy').acquire(), (err: unknown) => err instanceof AppError && err.code === 'CLUSTER_LOCK_TIMEOUT' && err.message.includes('busy'));
    assert.ok(Date.now() - started >= 300);
    await holder.release();
  });

  it('takes over a stale lock', async () => {
    const dead = lock('stale');
    await dead.acquire();
    await standIn.ageLock('stale', STALE_MS + 500);
    assert.equal(await lock('stale').tryAcquire(), true);
  });

  it('keeps a refreshed lock', async () => {
    const holder = lock('fresh');
    await holder.acquire();
    await standIn.ageLock('fresh', STALE_MS + 500);
    await holder.refresh();
    assert.equal(await lock('fresh').tryAcquire(), false);
    await holder.release();
  });

  it('fails without quorum', async () => {
    await standIn.setQuorate(false);
    try {
      await assert.rejects(lock('nq').tryAcquire(), (err: unknown) => err instanceof AppError && err.code === 'CLUSTER_NOT_QUORATE');
    } finally {
      await standIn.setQuorate(true);
    }
  });
});

describe('work lock', () => {
  let standIn: PmxcfsStandIn;

  before(async () => {
    standIn = await createPmxcfsStandIn();
  });

  after(async () => {
    await standIn.remove();
  });

  function workLock(node: string, changes: boolean[]): WorkLock {
    return new WorkLock({
      lock: new ClusterLock('work', { lockDir: standIn.lockDir, staleMs: STALE_MS, timeoutMs: 0, retryMs: 50 }),
      holderFile: join(standIn.stateDir, 'work-holder.json'),
      nodeName: node,
      refreshMs: 100,
      onChange: (holding) => changes.push(holding),
      logger,
    });
  }

  it('elects one holder and hands over on stop', async () => {
    const changesA: boolean[] = [];
    const changesB: boolean[] = [];
    const a = workLock('a', changesA);
    const b = workLock('b', changesB);
    await a.attempt();
    await b.attempt();
    assert.equal(a.isHolder(), true);
    assert.equal(b.isHolder(), false);
    await a.stop();
    await b.attempt();
    assert.equal(b.isHolder(), true);
    assert.deepEqual(changesA, [true, false]);
    assert.deepEqual(changesB, [true]);
    await b.stop();
  });

  it('takes over from a dead holder', async () => {
    // A holder that died: its lock directory and holder file stay, and nobody refreshes them.
    await writeFile(join(standIn.stateDir, 'work-holder.json'), JSON.stringify({ node: 'dead', pid: 1, token: 'gone', since: new Date().toISOString() }));
    const dead = new ClusterLock('work', { lockDir: standIn.lockDir, staleMs: STALE_MS, timeoutMs: 0, retryMs: 50 });
    assert.equal(await dead.tryAcquire(), true);
    const changes: boolean[] = [];
    const c = workLock('c', changes);
    await c.attempt();
    assert.equal(c.isHolder(), false);
    await standIn.ageLock('work', STALE_MS + 100);
    await c.attempt();
    assert.equal(c.isHolder(), true);
    await c.stop();
  });

  it('steps down without quorum and returns', async () => {
    const changes: boolean[] = [];
    const d = workLock('d', changes);
    await d.attempt();
    assert.equal(d.isHolder(), true);
    await standIn.setQuorate(false);
    try {
      await d.attempt();
      assert.equal(d.isHolder(), false);
    } finally {
      await standIn.setQuorate(true);
    }
    await d.attempt();
    assert.equal(d.isHolder(), true);
    assert.deepEqual(changes, [true, false, true]);
    await d.stop();
  });

  it('reclaims the lock of a dead local daemon', async () => {
    const deadPid = spawnSync('true').pid;
    await writeFile(join(standIn.stateDir, 'work-holder.json'), JSON.stringify({ node: 'f', pid: deadPid, token: 'old', since: new Date().toISOString() }));
    const dead = new ClusterLock('work', { lockDir: standIn.lockDir, staleMs: STALE_MS, timeoutMs: 0, retryMs: 50 });
    assert.equal(await dead.tryAcquire(), true);
    const restarted = workLock('f', []);
    await restarted.attempt();
    assert.equal(restarted.isHolder(), true);
    await restarted.stop();
  });

  it('steps down when another node took the lock', async () => {
    const changes: boolean[] = [];
    const e = workLock('e', changes);
    await e.attempt();
    await writeFile(join(standIn.stateDir, 'work-holder.json'), JSON.stringify({ node: 'other', pid: 2, token: 'other', since: new Date().toISOString() }));
    await e.attempt();
    assert.equal(e.isHolder(), false);
    assert.deepEqual(changes, [true, false]);
  });
});
