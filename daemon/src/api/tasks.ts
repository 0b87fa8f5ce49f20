import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { TaskRecord, TaskStore } from '../tasks/task-store.js';
import { parseUpid } from '../tasks/upid.js';
import type { ApiContext } from './context.js';

/** Optional addition to the API context: this node's task store. Without it the list is empty. */
export interface TaskSource {
  tasks?: TaskStore;
}

const upidParams = {
  type: 'object',
  additionalProperties: false,
  required: ['upid'],
  properties: { upid: { type: 'string', maxLength: 512, description: 'Task id, UPID:node:pid:pstart:starttime:type:id:user:.' } },
} as const;

const listSchema = {
  summary: 'Lists the tasks of this node (verify, issue, renew), the newest first.',
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      start: { type: 'integer', minimum: 0, default: 0, description: 'Number of tasks to skip.' },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50, description: 'Maximum number of tasks returned.' },
      typefilter: { type: 'string', enum: ['verify', 'issue', 'renew'], description: 'Only tasks of this type.' },
      errors: { type: 'boolean', default: false, description: 'Only tasks that ended with an error.' },
    },
  },
} as const;

const logSchema = {
  summary: 'Returns lines of a task log as PVE does: [{n, t}], numbered from 1.',
  params: upidParams,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      start: { type: 'integer', minimum: 0, default: 0, description: 'Number of lines to skip.' },
      limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500, description: 'Maximum number of lines returned.' },
    },
  },
} as const;

const statusSchema = { summary: 'Returns the status of a task: running or stopped, with its exit status.', params: upidParams } as const;

function listItem(record: TaskRecord): Record<string, unknown> {
  const item: Record<string, unknown> = { upid: record.upid, type: record.type, id: record.id, node: record.node, user: record.user, starttime: record.starttime, status: record.status };
  if (record.endtime !== undefined) item['endtime'] = record.endtime;
  return item;
}

/** Error for a 404 response. The error registry has no task code, and the API error handler keeps a 4xx statusCode. */
class TaskNotFoundError extends Error {
  readonly statusCode = 404;
}

function findTask(tasks: TaskStore | undefined, upid: string): TaskRecord {
  if (parseUpid(upid) === null) throw new AppError('INVALID_PARAMETER', `"${upid}" is not a task id; copy the upid from GET /tasks`, { parameters: { upid: 'invalid UPID' } });
  const record = tasks?.get(upid);
  if (record === undefined) throw new TaskNotFoundError(`Task ${upid} is not known on this node; list the kept tasks with GET /tasks`);
  return record;
}

export function registerTaskRoutes(app: FastifyInstance, context: ApiContext): void {
  const tasks = (context as ApiContext & TaskSource).tasks;

  app.get<{ Querystring: { start: number; limit: number; typefilter?: string; errors: boolean } }>('/tasks', { schema: listSchema }, (request) => {
    const { start, limit, typefilter, errors } = request.query;
    const records = (tasks?.list() ?? []).filter((record) => (typefilter === undefined || record.type === typefilter) && (!errors || (record.status !== 'running' && record.status !== 'OK')));
    return { data: records.slice(start, start + limit).map(listItem), total: records.length };
  });

  app.get<{ Params: { upid: string }; Querystring: { start: number; limit: number } }>('/tasks/:upid/log', { schema: logSchema }, async (request) => {
    const record = findTask(tasks, request.params.upid);
    const { lines, total } = await (tasks as TaskStore).readLog(record.upid, request.query.start, request.query.limit);
    return { data: lines, total };
  });

  app.get<{ Params: { upid: string } }>('/tasks/:upid/status', { schema: statusSchema }, (request) => {
    const record = findTask(tasks, request.params.upid);
    const running = record.status === 'running';
    const data: Record<string, unknown> = {
      upid: record.upid,
      node: record.node,
      pid: record.pid,
      pstart: record.pstart,
      starttime: record.starttime,
      type: record.type,
      id: record.id,
      user: record.user,
      status: running ? 'running' : 'stopped',
    };
    if (!running) data['exitstatus'] = record.status;
    if (record.endtime !== undefined) data['endtime'] = record.endtime;
    return { data };
  });
}
