import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { ApiContext } from '../../daemon/src/api/context.js';
import { buildApi } from '../../daemon/src/api/server.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { TaskStore } from '../../daemon/src/tasks/task-store.js';
import { startSecuredApi, ticketHeaders, userSession, type SecuredApi } from '../api/fixtures.js';

const base = '/api2/json/tasks';

interface ListAnswer {
  data: Array<Record<string, unknown>>;
  total: number;
}

describe('tasks api', () => {
  let dir: string;
  let app: FastifyInstance;
  let tasks: TaskStore;
  let done = '';
  let failed = '';
  let running = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasks-api-'));
    let clock = 1_733_356_800_000;
    tasks = await TaskStore.open(join(dir, 'tasks'), { node: 'pve1', now: () => (clock += 1_000) });
    const verify = tasks.start('verify', 'example.com', 'root@pam');
    verify.log('credentials: pass: The API token is active');
    verify.finish();
    done = verify.upid;
    const issue = tasks.start('issue', 'app.example.com', 'root@pam');
    issue.log('Ordering certificate app.example.com');
    issue.finish(new Error('rate limited'));
    failed = issue.upid;
    running = tasks.start('renew', 'wiki.example.com', 'root@pam').upid;
    await tasks.flush();
    const state = await StateStore.open(join(dir, 'state'));
    const context = { state, secrets: new SecretStore(join(dir, 'secrets')), enqueue: () => undefined, logger: pino({ level: 'silent' }), tasks } as ApiContext;
    app = await buildApi(context);
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists tasks newest first', async () => {
    const answer = await app.inject({ method: 'GET', url: base });
    assert.equal(answer.statusCode, 200);
    const body = answer.json<ListAnswer>();
    assert.deepEqual(
      body.data.map((item) => item['upid']),
      [running, failed, done],
    );
    assert.equal(body.total, 3);
    const [first, second, third] = body.data;
    assert.equal(first?.['status'], 'running');
    assert.equal('endtime' in (first ?? {}), false);
    assert.equal(second?.['status'], 'rate limited');
    assert.equal(third?.['status'], 'OK');
    assert.deepEqual(Object.keys(third ?? {}).sort(), ['endtime', 'id', 'node', 'starttime', 'status', 'type', 'upid', 'user']);
  });

  it('filters by type and errors', async () => {
    const byType = (await app.inject({ method: 'GET', url: `${base}?typefilter=verify` })).json<ListAnswer>();
    assert.deepEqual(
      byType.data.map((item) => item['upid']),
      [done],
    );
    const errors = (await app.inject({ method: 'GET', url: `${base}?errors=1` })).json<ListAnswer>();
    assert.deepEqual(
      errors.data.map((item) => item['upid']),
      [failed],
    );
  });

  it('returns the log lines', async () => {
    const answer = await app.inject({ method: 'GET', url: `${base}/${encodeURIComponent(failed)}/log` });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(answer.json<{ data: unknown }>().data, [
      { n: 1, t: 'Ordering certificate app.example.com' },
      { n: 2, t: 'TASK ERROR: rate limited' },
    ]);
  });

  it('returns the status', async () => {
    const stopped = (await app.inject({ method: 'GET', url: `${base}/${encodeURIComponent(done)}/status` })).json<{ data: Record<string, unknown> }>().data;
    assert.equal(stopped['status'], 'stopped');
    assert.equal(stopped['exitstatus'], 'OK');
    assert.equal(stopped['type'], 'verify');
    assert.equal(stopped['node'], 'pve1');
    assert.equal(stopped['pid'], process.pid);
    const live = (await app.inject({ method: 'GET', url: `${base}/${encodeURIComponent(running)}/status` })).json<{ data: Record<string, unknown> }>().data;
    assert.equal(live['status'], 'running');
    assert.equal('exitstatus' in live, false);
  });

  it('answers 404 for an unknown task', async () => {
    const unknown = 'UPID:pve1:00000001:00000002:00000003:verify:gone.example:root@pam:';
    const answer = await app.inject({ method: 'GET', url: `${base}/${encodeURIComponent(unknown)}/status` });
    assert.equal(answer.statusCode, 404);
    assert.match(answer.json<{ message: string }>().message, /not known on this node/);
  });

  it('answers 400 for an invalid id', async () => {
    const answer = await app.inject({ method: 'GET', url: `${base}/not-a-upid/log` });
    assert.equal(answer.statusCode, 400);
  });
});

describe('tasks api access', () => {
  let api: SecuredApi;

  before(async () => {
    api = await startSecuredApi();
  });

  after(async () => {
    await api.stop();
  });

  it('needs Sys.Audit', async () => {
    const nobody = await userSession(api.pve, 'notasks@pve', {});
    const denied = await api.app.inject({ method: 'GET', url: base, headers: ticketHeaders(nobody, false) });
    assert.equal(denied.statusCode, 403);
    const auditor = await userSession(api.pve, 'tasks@pve', { '/': ['Sys.Audit'] });
    const allowed = await api.app.inject({ method: 'GET', url: base, headers: ticketHeaders(auditor, false) });
    assert.equal(allowed.statusCode, 200, allowed.body);
    assert.deepEqual(allowed.json<ListAnswer>().data, []);
  });
});
