import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INTERRUPTED_STATUS, runTask, TaskStore, type TaskStoreOptions } from '../../daemon/src/tasks/task-store.js';
import { parseUpid } from '../../daemon/src/tasks/upid.js';

describe('task store', () => {
  let dir: string;
  let clock = 1_733_356_800_000;
  const now = (): number => clock;
  const stores: TaskStore[] = [];
  /** Opens a store in a subfolder; after() waits for its writes before removing the folder. */
  const openStore = async (name: string, options: Partial<TaskStoreOptions> = {}): Promise<TaskStore> => {
    const store = await TaskStore.open(join(dir, name), { node: 'pve1', now, ...options });
    stores.push(store);
    return store;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasks-'));
  });

  after(async () => {
    for (const store of stores) await store.flush();
    await rm(dir, { recursive: true, force: true });
  });

  it('records a task and its log', async () => {
    const store = await openStore('basic');
    const task = store.start('issue', 'app.example.com', 'root@pam');
    assert.equal(store.get(task.upid)?.status, 'running');
    task.log('first step');
    task.log('second\nthird');
    task.finish();
    await store.flush();
    const record = store.get(task.upid);
    assert.equal(record?.status, 'OK');
    assert.equal(record?.endtime, clock / 1000);
    assert.equal(parseUpid(task.upid)?.type, 'issue');
    assert.equal(parseUpid(task.upid)?.node, 'pve1');
    const log = await store.readLog(task.upid);
    assert.deepEqual(log.lines, [
      { n: 1, t: 'first step' },
      { n: 2, t: 'second' },
      { n: 3, t: 'third' },
      { n: 4, t: 'TASK OK' },
    ]);
    assert.equal(log.total, 4);
  });

  it('pages the log', async () => {
    const store = await openStore('paging');
    const task = store.start('verify', 'example.com', 'root@pam');
    for (let line = 1; line <= 10; line += 1) task.log(`line ${line}`);
    task.finish();
    const page = await store.readLog(task.upid, 3, 2);
    assert.deepEqual(page.lines, [
      { n: 4, t: 'line 4' },
      { n: 5, t: 'line 5' },
    ]);
    assert.equal(page.total, 11);
  });

  it('records the error of a failed task', async () => {
    const store = await openStore('failed', { redact: (text) => text.replace(/token=\S+/, 'token=[redacted]') });
    await assert.rejects(
      runTask(store, 'renew', 'app.example.com', 'root@pam', (task) => {
        task.log('ordering with token=abc123');
        return Promise.reject(new Error('CA refused\nthe order'));
      }),
      /CA refused/,
    );
    const [record] = store.list();
    assert.equal(record?.status, 'CA refused the order');
    const log = await store.readLog(record?.upid ?? '');
    assert.deepEqual(
      log.lines.map((line) => line.t),
      ['ordering with token=[redacted]', 'TASK ERROR: CA refused the order'],
    );
  });

  it('lists the newest first', async () => {
    const store = await openStore('order');
    const first = store.start('verify', 'a.example', 'root@pam');
    clock += 5_000;
    const second = store.start('verify', 'b.example', 'root@pam');
    assert.deepEqual(
      store.list().map((record) => record.upid),
      [second.upid, first.upid],
    );
  });

  it('gives same-second tasks distinct ids', async () => {
    const store = await openStore('same-second');
    const first = store.start('renew', 'app.example.com', 'root@pam');
    const second = store.start('renew', 'app.example.com', 'root@pam');
    assert.notEqual(first.upid, second.upid);
  });

  it('survives a restart', async () => {
    const folder = join(dir, 'restart');
    const store = await TaskStore.open(folder, { node: 'pve1', now });
    const done = store.start('issue', 'done.example.com', 'root@pam');
    done.log('finished before the restart');
    done.finish();
    const open = store.start('renew', 'open.example.com', 'root@pam');
    open.log('still running');
    await store.flush();

    const reopened = await TaskStore.open(folder, { node: 'pve1', now });
    assert.equal(reopened.get(done.upid)?.status, 'OK');
    assert.equal(reopened.get(open.upid)?.status, INTERRUPTED_STATUS);
    assert.equal(typeof reopened.get(open.upid)?.endtime, 'number');
    assert.equal((await reopened.readLog(done.upid)).total, 2);
  });

  it('keeps a bounded number', async () => {
    const folder = join(dir, 'bounded');
    const store = await TaskStore.open(folder, { node: 'pve1', now, keep: 3 });
    const upids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      clock += 1_000;
      const task = store.start('verify', `d${index}.example`, 'root@pam');
      task.log('checked');
      task.finish();
      upids.push(task.upid);
    }
    await store.flush();
    assert.deepEqual(
      store.list().map((record) => record.upid),
      upids.slice(2).reverse(),
    );
    const logs = (await readdir(folder)).filter((name) => name.endsWith('.log'));
    assert.equal(logs.length, 3);
    assert.equal((await store.readLog(upids[0] ?? '')).total, 0);
  });

  it('keeps running tasks', async () => {
    const store = await openStore('running', { keep: 1 });
    clock += 1_000;
    const running = store.start('renew', 'slow.example.com', 'root@pam');
    clock += 1_000;
    const next = store.start('verify', 'x.example', 'root@pam');
    next.finish();
    assert.ok(store.get(running.upid) !== undefined);
  });

  it('truncates a long log', async () => {
    const store = await openStore('long', { maxLines: 3 });
    const task = store.start('renew', 'chatty.example.com', 'root@pam');
    for (let line = 1; line <= 6; line += 1) task.log(`line ${line}`);
    task.finish();
    const log = await store.readLog(task.upid);
    assert.deepEqual(
      log.lines.map((line) => line.t),
      ['line 1', 'line 2', 'line 3', 'log truncated after 3 lines', 'TASK OK'],
    );
  });

  it('starts a lazy task at its first line', async () => {
    const store = await openStore('lazy');
    await assert.rejects(runTask(store, 'issue', 'waiting.example.com', 'root@pam', () => Promise.reject(new Error('backoff')), true), /backoff/);
    assert.equal(store.list().length, 0);
    await runTask(store, 'issue', 'ordered.example.com', 'root@pam', (task) => Promise.resolve(task.log('ordering')), true);
    assert.equal(store.list().length, 1);
    assert.equal(store.list()[0]?.status, 'OK');
  });
});
